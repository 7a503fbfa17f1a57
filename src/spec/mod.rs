//! The pipeline spec: what the input looks like, its schema, and how the
//! output is written. Plain data; [`crate::Pipeline`] builds the working
//! objects from it.

mod csv;
mod output;
mod schema;

pub use self::csv::CsvOptions;
pub use self::output::{Compression, ParquetOptions};
pub use self::schema::{parse_type, type_name, Column, Schema};

/// A whole conversion: input options, schema and output options.
#[derive(Debug, Clone)]
pub struct Spec {
    pub csv: CsvOptions,
    /// The columns; `None` reads the header and makes every column a nullable string.
    pub schema: Option<Schema>,
    pub output: ParquetOptions,
}

impl Spec {
    pub fn new(schema: Option<Schema>) -> Self {
        Spec { csv: CsvOptions::default(), schema, output: ParquetOptions::default() }
    }
}
