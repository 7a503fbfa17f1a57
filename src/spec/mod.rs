//! The pipeline spec: what the input looks like, its schema, and how the
//! output is written. Plain data; [`crate::Pipeline`] builds the working
//! objects from it.

mod constraints;
mod csv;
mod format;
mod frictionless;
mod output;
mod policy;
mod schema;

pub use self::constraints::{Constraints, Literal, Value};
pub use self::csv::CsvOptions;
pub use self::format::{Format, JsonOptions, DEFAULT_MAX_DEPTH};
pub use self::output::{Compression, ParquetOptions};
pub use self::policy::{MaxRejects, OnError};
pub use self::schema::{parse_type, type_name, Column, Schema};

/// A whole conversion: input options, schema and output options.
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
        }
    }
}
