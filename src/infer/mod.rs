//! A schema file from a sample of the input: the CSV dialect, and each
//! column's type and nullability.
//!
//! The sample is read from several places of a file (the start, three in the
//! middle, the end), or from the start of a stream. Each column gets the
//! narrowest type that every sampled value parses as, tested with the
//! parsers `convert` uses; then the sample is decoded with the inferred
//! schema by the real decoder, and a column it refuses is widened, so the
//! schema written always converts the values that were sampled.
//!
//! ```
//! use sluicegate::infer::{infer, InferOptions};
//! use sluicegate::Source;
//!
//! let csv = "id,price,at\n1,12.50,2024-05-01T10:00:00Z\n2,,2024-05-01T11:30:00.250+02:00\n";
//! let inferred = infer(Source::from_bytes("orders.csv", csv), &InferOptions::default())?;
//! let types: Vec<String> =
//!     inferred.schema.columns.iter().map(|c| sluicegate::spec::type_name(&c.data_type)).collect();
//! assert_eq!(types, ["int64", "decimal(12,2)", "timestamp[ms, tz=UTC]"]);
//! # Ok::<(), sluicegate::Error>(())
//! ```

mod csv;
mod json;
mod sample;
mod scalar;

use arrow_schema::DataType;

use crate::decode::{ColumnBuilder, CsvDecoder, Framing, JsonDecoder, Scratch};
use crate::error::{Error, ErrorKind, Result};
use crate::source::Source;
use crate::spec::{type_name, Column, CsvOptions, Format, JsonOptions, Schema};
use crate::split::Chunk;

/// Bytes sampled by default: 4 MiB, a few tens of thousands of typical
/// records, read and typed in a few tens of milliseconds.
pub const DEFAULT_SAMPLE_BYTES: usize = 4 << 20;
/// Records sampled at most by default, shared among the places sampled.
pub const DEFAULT_SAMPLE_ROWS: usize = 100_000;

/// What to sample and what is already known about the input.
#[derive(Debug, Clone)]
pub struct InferOptions {
    /// The input format. Default: CSV.
    pub format: Format,
    /// Bytes to read, over all the places sampled. Default [`DEFAULT_SAMPLE_BYTES`].
    pub sample_bytes: usize,
    /// Records to read at most, over all the places sampled. Default [`DEFAULT_SAMPLE_ROWS`].
    pub sample_rows: usize,
    /// The CSV delimiter; `None` detects it among `,` `;` tab `|`. Default `None`.
    pub delimiter: Option<u8>,
    /// The CSV quote character. Default `"`.
    pub quote: u8,
    /// Whether the first CSV record is a header; `None` detects it. Default `None`.
    pub has_header: Option<bool>,
    /// CSV field texts read as null, as `convert --null` takes them. Default: the empty field.
    pub null_markers: Vec<String>,
}

impl Default for InferOptions {
    fn default() -> Self {
        InferOptions {
            format: Format::Csv,
            sample_bytes: DEFAULT_SAMPLE_BYTES,
            sample_rows: DEFAULT_SAMPLE_ROWS,
            delimiter: None,
            quote: b'"',
            has_header: None,
            null_markers: vec![String::new()],
        }
    }
}

/// How the lines of a CSV input end. `convert` reads LF and CRLF alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    Crlf,
    /// Both LF and CRLF.
    Mixed,
    /// A single line with no break.
    None,
}

impl LineEnding {
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "lf",
            LineEnding::Crlf => "crlf",
            LineEnding::Mixed => "mixed",
            LineEnding::None => "none",
        }
    }
}

/// The detected CSV dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvDialect {
    /// The options `convert` needs (delimiter, quote, header, null markers).
    pub options: CsvOptions,
    pub line_ending: LineEnding,
}

/// What a sample says about an input.
#[derive(Debug, Clone)]
pub struct Inferred {
    pub schema: Schema,
    pub format: Format,
    /// The CSV dialect; `None` for NDJSON.
    pub csv: Option<CsvDialect>,
    /// Records read (a CSV header excluded).
    pub rows: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Places of the input the bytes came from.
    pub places: usize,
    /// The sample is the whole input: a column with no null in it has none.
    pub whole_input: bool,
    /// What could not be typed and was left out, or widened.
    pub notes: Vec<String>,
    /// The name of the input, for the format its name suggests.
    source: String,
}

/// Infers the schema (and, for CSV, the dialect) of `source` from a sample.
///
/// A column is nullable when the sample holds a null in it, or when the
/// sample is not the whole input (a null may be anywhere else); so a file
/// that fits the sample gets exact nullability, and a larger one gets
/// nullable columns, which never refuse a row.
pub fn infer(source: Source, options: &InferOptions) -> Result<Inferred> {
    let name = source.name().to_string();
    infer_inner(source, options).map_err(|e| e.in_source(name))
}

fn infer_inner(source: Source, options: &InferOptions) -> Result<Inferred> {
    let name = source.name().to_string();
    let sample = sample::sample(source, options.sample_bytes)?;
    let (bytes, places, whole_input) = (sample.bytes(), sample.windows.len(), sample.whole_input);
    let mut notes = Vec::new();
    let (schema, csv, rows) = match options.format {
        Format::Csv => {
            let hints = csv::Hints {
                delimiter: options.delimiter,
                quote: options.quote,
                has_header: options.has_header,
                null_markers: options.null_markers.clone(),
            };
            let mut found = csv::infer(&sample, &hints, options.sample_rows)?;
            let header = found.header.take();
            let opts = found.options.clone();
            let decode = |schema: &Schema, chunk: &Chunk, scratch: &mut Scratch| {
                CsvDecoder::new(schema, &opts, header.as_deref())?.decode(chunk, scratch).map(drop)
            };
            let schema = check(found.schema, &found.chunks, &mut notes, decode)?;
            (schema, Some(CsvDialect { options: found.options, line_ending: found.line_ending }), found.rows)
        }
        Format::Ndjson => {
            let found = json::infer(&sample, options.sample_rows)?;
            notes.extend(found.notes);
            let decode = |schema: &Schema, chunk: &Chunk, _: &mut Scratch| {
                JsonDecoder::new(schema, &JsonOptions::default(), Framing::Lines)?.decode(chunk).map(drop)
            };
            (check(found.schema, &found.chunks, &mut notes, decode)?, None, found.rows)
        }
        Format::JsonArray => {
            return Err(Error::spec("infer samples CSV and NDJSON; a JSON array file is not sampled yet"));
        }
    };
    // The row limit may have cut a file the bytes held whole.
    let whole_input = whole_input && rows < options.sample_rows as u64;
    let mut schema = schema;
    if !whole_input {
        schema.columns.iter_mut().for_each(|c| c.nullable = true);
    }
    Ok(Inferred { schema, format: options.format, csv, rows, bytes, places, whole_input, notes, source: name })
}

/// Decodes the sampled chunks with `schema` as `convert` would, widening
/// (or, when nothing wider takes the values, leaving out) each column the
/// decoder refuses, until every chunk decodes. Errors that are not about a
/// column's type (a record with the wrong field count, broken quoting) are
/// the input's, and returned.
fn check<F>(mut schema: Schema, chunks: &[Chunk], notes: &mut Vec<String>, decode: F) -> Result<Schema>
where
    F: Fn(&Schema, &Chunk, &mut Scratch) -> Result<()>,
{
    let mut scratch = Scratch::default();
    loop {
        let Err(e) = chunks.iter().try_for_each(|c| decode(&schema, c, &mut scratch)) else {
            return Ok(schema);
        };
        let path = e.location().and_then(|l| l.column.clone());
        // A JSON error names a dotted path; the column is its first part
        // (the longest name that is a prefix, since names may hold dots).
        let column = path.as_deref().and_then(|p| {
            schema
                .columns
                .iter()
                .enumerate()
                .filter(|(_, c)| p == c.name || p.starts_with(&format!("{}.", c.name)))
                .max_by_key(|(_, c)| c.name.len())
                .map(|(i, _)| i)
        });
        let Some(i) = column else { return Err(e) };
        match e.kind() {
            ErrorKind::NullInNonNullable if !schema.columns[i].nullable => schema.columns[i].nullable = true,
            ErrorKind::Parse { .. } => {
                let c = &schema.columns[i];
                let wider = if c.data_type.is_nested() { None } else { scalar::widen(&c.data_type) };
                match wider {
                    Some(t) => {
                        notes.push(format!(
                            "{}: widened from {} to {}: {e}",
                            c.name,
                            type_name(&c.data_type),
                            type_name(&t)
                        ));
                        schema.columns[i].data_type = t;
                    }
                    None if schema.columns.len() > 1 && c.data_type.is_nested() => {
                        notes.push(format!("{}: left out: {e}", c.name));
                        schema.columns.remove(i);
                    }
                    None => return Err(e),
                }
            }
            _ => return Err(e),
        }
    }
}

/// Whether `text` parses as a `t` value in `convert` (a CSV field).
fn fits(t: &DataType, text: &[u8]) -> bool {
    let column = Column::new("", t.clone(), true);
    ColumnBuilder::new(&column, 1, text.len()).append(text, false).is_ok()
}

impl Inferred {
    /// The `convert` flags the input needs besides `--schema`: the format
    /// when the file name does not say it, and the CSV dialect where it is
    /// not the default.
    pub fn convert_flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        if Format::from_path(std::path::Path::new(&self.source)) != self.format {
            flags.push("--format".into());
            flags.push(match self.format {
                Format::Csv => "csv".into(),
                Format::Ndjson => "ndjson".into(),
                Format::JsonArray => "json-array".into(),
            });
        }
        if let Some(d) = &self.csv {
            let defaults = CsvOptions::default();
            let o = &d.options;
            if o.delimiter != defaults.delimiter {
                flags.push("--delimiter".into());
                flags.push(if o.delimiter == b'\t' { "\\t".into() } else { (o.delimiter as char).to_string() });
            }
            if o.quote != defaults.quote {
                flags.push("--quote".into());
                flags.push((o.quote as char).to_string());
            }
            if !o.has_header {
                flags.push("--no-header".into());
            }
            if o.null_markers != defaults.null_markers {
                for m in &o.null_markers {
                    flags.push("--null".into());
                    flags.push(m.clone());
                }
            }
        }
        flags
    }

    /// The schema file: `columns` as `convert --schema` reads them, then,
    /// for a reader, keys `convert` ignores: the dialect detected (`csv`),
    /// the flags `convert` needs for it (`convert_flags`), and what was
    /// sampled (`sample`).
    pub fn to_json(&self) -> String {
        let q = |s: &str| serde_json::to_string(s).expect("a string serializes");
        let mut out = String::from("{\n  \"columns\": [\n");
        for (i, c) in self.schema.columns.iter().enumerate() {
            let sep = if i + 1 < self.schema.columns.len() { "," } else { "" };
            out += &format!(
                "    {{\"name\": {}, \"type\": {}, \"nullable\": {}}}{sep}\n",
                q(&c.name),
                q(&type_name(&c.data_type)),
                c.nullable
            );
        }
        out += "  ],\n";
        out += &format!(
            "  \"format\": {},\n",
            q(match self.format {
                Format::Csv => "csv",
                Format::Ndjson => "ndjson",
                Format::JsonArray => "json-array",
            })
        );
        if let Some(d) = &self.csv {
            let o = &d.options;
            out += &format!(
                "  \"csv\": {{\"delimiter\": {}, \"quote\": {}, \"header\": {}, \"line_ending\": {}}},\n",
                q(&(o.delimiter as char).to_string()),
                q(&(o.quote as char).to_string()),
                o.has_header,
                q(d.line_ending.as_str())
            );
        }
        let flags: Vec<String> = self.convert_flags().iter().map(|f| q(f)).collect();
        out += &format!("  \"convert_flags\": [{}],\n", flags.join(", "));
        out += &format!(
            "  \"sample\": {{\"rows\": {}, \"bytes\": {}, \"places\": {}, \"whole_input\": {}}}\n}}\n",
            self.rows, self.bytes, self.places, self.whole_input
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer_csv(text: &str) -> Inferred {
        infer(Source::from_bytes("t.csv", text.as_bytes().to_vec()), &InferOptions::default()).unwrap()
    }

    fn types(i: &Inferred) -> Vec<String> {
        i.schema.columns.iter().map(|c| type_name(&c.data_type)).collect()
    }

    #[test]
    fn the_schema_file_reads_back_as_it_was_inferred() {
        let i = infer_csv("a;b;c\r\n1;x;2024-01-01\r\n;y;2024-01-02\r\n");
        assert_eq!(types(&i), ["int64", "string", "date32"]);
        let back = Schema::from_json(&i.to_json()).unwrap();
        assert_eq!(back, i.schema);
        assert_eq!(i.convert_flags(), ["--delimiter", ";"]);
        let d = i.csv.as_ref().unwrap();
        assert_eq!((d.options.has_header, d.line_ending), (true, LineEnding::Crlf));
        assert!(i.schema.columns[0].nullable && !i.schema.columns[1].nullable, "the whole file was read");
    }

    #[test]
    fn no_header_when_the_first_row_is_data() {
        let i = infer_csv("1,2.5\n2,3.25\n3,4\n");
        assert_eq!(types(&i), ["int64", "float64"]);
        assert_eq!(i.schema.columns[0].name, "column_1");
        assert_eq!(i.convert_flags(), ["--no-header"]);
        assert_eq!(i.rows, 3);
    }

    #[test]
    fn a_sample_cut_by_the_row_limit_makes_every_column_nullable() {
        let options = InferOptions { sample_rows: 2, ..InferOptions::default() };
        let i = infer(Source::from_bytes("t.csv", &b"a\n1\n2\n\n"[..]), &options).unwrap();
        assert!(!i.whole_input && i.schema.columns[0].nullable);
    }

    #[test]
    fn fits_uses_the_convert_parsers() {
        assert!(fits(&DataType::Decimal128(12, 2), b"1.50"));
        assert!(!fits(&DataType::Decimal128(12, 2), b"1.505"));
        assert!(!fits(&DataType::Int64, b"id"));
    }

    #[test]
    fn a_ragged_record_is_the_input_s_error() {
        let err = infer(Source::from_bytes("t.csv", &b"a,b\n1,2\n3\n"[..]), &InferOptions::default()).err().unwrap();
        assert_eq!(err.to_string(), "t.csv:line 3, byte 8, record 1: record has 1 fields, expected 2: \"3\"");
    }
}
