//! The transform stage: compiled SQL expressions and the steps built on
//! them, applied to each decoded batch.

pub mod expr;
