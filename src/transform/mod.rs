//! The transform stage: the steps of a pipeline (select, drop, rename,
//! cast, filter, derive, fill_null) compiled once against the schema, then
//! applied to each decoded batch with Arrow kernels; and the routes that
//! send each row to one named output.
//!
//! A row an expression fails on (a cast that does not parse, a division by
//! zero) is a bad row: under the reject and fail policies it leaves the
//! batch as a [`Failure`] for the pipeline to reject; under the null policy
//! the value is null and the row stays.

pub mod expr;
mod route;
mod steps;

pub use self::route::{Routed, Router};
pub(crate) use self::steps::column_names;
pub use self::steps::Transforms;

use crate::error::Problem;

/// A row an expression failed on.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The row's index in the batch given to the stage.
    pub row: u32,
    pub problem: Problem,
}

/// A batch after the transforms: its rows, where each came from, and what
/// became of the others.
#[derive(Debug)]
pub struct Outcome {
    pub batch: arrow_array::RecordBatch,
    /// For each row of `batch`, its index in the batch given to the stage.
    pub rows: Vec<u32>,
    /// Rows that failed, in row order (under the null policy: none).
    pub failures: Vec<Failure>,
    /// Rows a filter removed.
    pub filtered: u64,
    /// Values made null under the null policy.
    pub nulled: u64,
}
