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
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "ndjson" | "jsonl" | "json-lines" => Ok(Format::Ndjson),
            "json-array" | "json" => Err(Error::spec("json-array input is not supported yet; use ndjson")),
            _ => Err(Error::spec(format!("unknown format {s:?} (expected csv or ndjson)"))),
        }
    }
}

impl Format {
    /// The format a file name suggests (`.ndjson`, `.jsonl`, else CSV), looking
    /// through a `.gz` or `.zst` suffix.
    pub fn from_path(path: &Path) -> Format {
        let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        let name = name.trim_end_matches(".gz").trim_end_matches(".zst").trim_end_matches(".zstd");
        if name.ends_with(".ndjson") || name.ends_with(".jsonl") {
            Format::Ndjson
        } else {
            Format::Csv
        }
    }
}

/// How JSON records map to the schema.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonOptions {
    /// Refuse object keys the schema does not name. Default: they are skipped.
    pub unknown_fields_are_errors: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_names_and_paths() {
        assert_eq!("jsonl".parse::<Format>().unwrap(), Format::Ndjson);
        assert!("json-array".parse::<Format>().unwrap_err().to_string().contains("not supported yet"));
        assert_eq!(Format::from_path(Path::new("a/b.ndjson.gz")), Format::Ndjson);
        assert_eq!(Format::from_path(Path::new("b.JSONL")), Format::Ndjson);
        assert_eq!(Format::from_path(Path::new("b.csv.zst")), Format::Csv);
    }
}
