//! The integration tests: one binary, a module per area.

mod util;

mod constraints;
mod convert;
mod errors;
mod infer;
mod json;
mod rejects;
mod transform;
