//! The pipeline spec: what the input looks like, its schema, and how the
//! output is written. Plain data; [`crate::Pipeline`] builds the working
//! objects from it.

mod constraints;
mod csv;
mod format;
mod frictionless;
mod output;
mod schema;

pub use self::constraints::{Constraints, Literal, Value};
pub use self::csv::CsvOptions;
pub use self::format::{Format, JsonOptions};
pub use self::output::{Compression, ParquetOptions};
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
}

impl Spec {
    pub fn new(schema: Option<Schema>) -> Self {
        Spec {
            format: Format::Csv,
            csv: CsvOptions::default(),
            json: JsonOptions::default(),
            schema,
            output: ParquetOptions::default(),
        }
    }
}
