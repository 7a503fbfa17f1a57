//! Which input format, and the JSON options.

use std::path::Path;
use std::str::FromStr;

use crate::error::Error;

/// The input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 CSV (see [`super::CsvOptions`]).
    Csv,
    /// One JSON object per line (NDJSON, JSON Lines); blank lines are skipped.
    Ndjson,
    /// One top-level JSON array of objects, read element by element.
    JsonArray,
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "ndjson" | "jsonl" | "json-lines" => Ok(Format::Ndjson),
            "json-array" | "json" => Ok(Format::JsonArray),
            _ => Err(Error::spec(format!("unknown format {s:?} (expected csv, ndjson or json-array)"))),
        }
    }
}

impl Format {
    /// The format a file name suggests (`.ndjson` and `.jsonl` NDJSON, `.json`
    /// a JSON array, else CSV), looking through a `.gz` or `.zst` suffix.
    pub fn from_path(path: &Path) -> Format {
        let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        let name = name.trim_end_matches(".gz").trim_end_matches(".zst").trim_end_matches(".zstd");
        if name.ends_with(".ndjson") || name.ends_with(".jsonl") {
            Format::Ndjson
        } else if name.ends_with(".json") {
            Format::JsonArray
        } else {
            Format::Csv
        }
    }
}

/// The nesting depth limit's default: a record may nest objects and arrays
/// this deep, itself included. Deep enough for any real record; the point is
/// to refuse hostile input early.
pub const DEFAULT_MAX_DEPTH: usize = 128;

/// How JSON records map to the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonOptions {
    /// Refuse object keys the schema does not name. Default: they are skipped.
    pub unknown_fields_are_errors: bool,
    /// The deepest nesting of objects and arrays a record may have, the
    /// record's own object being level 1. Default: [`DEFAULT_MAX_DEPTH`].
    pub max_depth: usize,
    /// Read nested objects into top-level columns named by dotted paths: a
    /// column `addr.city` reads `{"addr": {"city": ...}}`. Default: off, and
    /// a dot in a column name is part of the key.
    pub flatten: bool,
}

impl Default for JsonOptions {
    fn default() -> Self {
        JsonOptions { unknown_fields_are_errors: false, max_depth: DEFAULT_MAX_DEPTH, flatten: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_names_and_paths() {
        assert_eq!("jsonl".parse::<Format>().unwrap(), Format::Ndjson);
        assert_eq!("json-array".parse::<Format>().unwrap(), Format::JsonArray);
        assert_eq!(Format::from_path(Path::new("dump.json.zst")), Format::JsonArray);
        assert_eq!(Format::from_path(Path::new("dump.JSON")), Format::JsonArray);
        assert_eq!(Format::from_path(Path::new("a/b.ndjson.gz")), Format::Ndjson);
        assert_eq!(Format::from_path(Path::new("b.JSONL")), Format::Ndjson);
        assert_eq!(Format::from_path(Path::new("b.csv.zst")), Format::Csv);
    }
}
