//! The pipeline spec: what the input looks like, its schema, and how the
//! output is written. Plain data; [`crate::Pipeline`] builds the working
//! objects from it.

mod constraints;
mod csv;
mod file;
mod format;
mod frictionless;
mod output;
mod policy;
mod schema;
mod transform;

pub use self::constraints::{Constraints, Literal, Value};
pub use self::csv::CsvOptions;
pub use self::file::{describe, PipelineFile};
pub use self::format::{Format, JsonOptions, DEFAULT_MAX_DEPTH};
pub use self::output::{Compression, ParquetOptions};
pub use self::policy::{MaxRejects, OnError};
pub use self::schema::{parse_type, type_name, Column, Schema};
pub use self::transform::{Finding, Layout, Place, Placed, Route, Sql, Step};

/// A whole conversion: input options, schema, transforms and output options.
#[derive(Debug, Clone)]
pub struct Spec {
    pub format: Format,
    pub csv: CsvOptions,
    pub json: JsonOptions,
    /// The columns; `None` reads the header and makes every column a nullable string.
    pub schema: Option<Schema>,
    pub output: ParquetOptions,
    /// What a bad row does (default: it is rejected and the run goes on).
    pub on_error: OnError,
    /// Rejects past which the run fails (default: no limit).
    pub max_rejects: Option<MaxRejects>,
    /// Transforms applied in order to every decoded batch.
    pub steps: Vec<Placed>,
    /// Named outputs, each taking the rows its predicate accepts (first
    /// match wins). Empty: one output takes every row.
    pub routes: Vec<Route>,
    /// How output files are laid out (partitions, file size).
    pub layout: Layout,
}

impl Spec {
    pub fn new(schema: Option<Schema>) -> Self {
        Spec {
            format: Format::Csv,
            csv: CsvOptions::default(),
            json: JsonOptions::default(),
            schema,
            output: ParquetOptions::default(),
            on_error: OnError::default(),
            max_rejects: None,
            steps: Vec::new(),
            routes: Vec::new(),
            layout: Layout::default(),
        }
    }

    /// Whether the output is a directory (routes, partitions or parts)
    /// rather than one file.
    pub fn writes_directory(&self) -> bool {
        !self.routes.is_empty()
            || self.layout.is_directory()
            || self.routes.iter().any(|r| r.layout.as_ref().is_some_and(Layout::is_directory))
    }

    /// Whether any output is partitioned.
    pub fn is_partitioned(&self) -> bool {
        !self.layout.partition_by.is_empty()
            || self.routes.iter().any(|r| r.layout.as_ref().is_some_and(|l| !l.partition_by.is_empty()))
    }
}
