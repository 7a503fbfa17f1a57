//! CSV chunk to `RecordBatch`, with csv-core: fields are unescaped into one
//! reused buffer and parsed from there into the column builders, so no
//! field becomes a `String`.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use csv_core::{ReadRecordResult, Reader, ReaderBuilder, Terminator};

use super::{ColumnBuilder, FieldError};
use crate::error::{show_value, Error, ErrorKind, Result};
use crate::spec::{type_name, CsvOptions, Schema};
use crate::split::{check_quotes, Chunk};

/// Buffers a worker reuses from chunk to chunk.
#[derive(Default)]
pub struct Scratch {
    out: Vec<u8>,
    ends: Vec<usize>,
}

/// Decodes CSV chunks of one dialect into batches of one schema.
pub struct CsvDecoder {
    schema: Schema,
    arrow: SchemaRef,
    options: CsvOptions,
    /// For each CSV field, the schema column it fills (`None`: not read).
    field_map: Vec<Option<usize>>,
    /// The null markers are the empty field alone (the common case, tested first).
    only_empty_is_null: bool,
    /// Per column: whether the empty field is null. It always is outside
    /// text columns, where it has no other meaning; in text columns only
    /// when the empty string is one of the null markers.
    empty_is_null: Vec<bool>,
}

impl CsvDecoder {
    /// A decoder for `schema`. With a `header`, fields are matched to columns
    /// by name (every column must be present; other fields are skipped);
    /// without one, by position.
    pub fn new(schema: &Schema, options: &CsvOptions, header: Option<&[String]>) -> Result<Self> {
        options.validate()?;
        if let Some(c) = schema.columns.iter().find(|c| c.data_type.is_nested()) {
            return Err(Error::spec(format!("column {:?}: nested types (list, struct) need JSON input", c.name)));
        }
        let field_map = match header {
            None => (0..schema.len()).map(Some).collect(),
            Some(names) => {
                for (i, n) in names.iter().enumerate() {
                    if names[..i].contains(n) {
                        return Err(Error::spec(format!("the CSV header names column {n:?} twice")));
                    }
                }
                let missing: Vec<&str> =
                    schema.columns.iter().filter(|c| !names.contains(&c.name)).map(|c| c.name.as_str()).collect();
                if !missing.is_empty() {
                    return Err(Error::spec(format!(
                        "the CSV header has no column {} that the schema lists (header: {})",
                        missing.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>().join(", "),
                        names.join(",")
                    )));
                }
                names.iter().map(|n| schema.columns.iter().position(|c| &c.name == n)).collect()
            }
        };
        Ok(CsvDecoder {
            schema: schema.clone(),
            arrow: schema.arrow(),
            options: options.clone(),
            field_map,
            only_empty_is_null: options.null_markers.len() == 1 && options.null_markers[0].is_empty(),
            empty_is_null: schema
                .columns
                .iter()
                .map(|c| {
                    c.data_type != arrow_schema::DataType::Utf8 || options.null_markers.iter().any(|m| m.is_empty())
                })
                .collect(),
        })
    }

    pub fn arrow_schema(&self) -> &SchemaRef {
        &self.arrow
    }

    fn reader(&self) -> Reader {
        ReaderBuilder::new()
            .delimiter(self.options.delimiter)
            .quote(self.options.quote)
            .escape(self.options.escape)
            .double_quote(true)
            .terminator(Terminator::CRLF)
            .build()
    }

    /// Reads the header record's field names.
    pub fn header_names(options: &CsvOptions, header: &Chunk) -> Result<Vec<String>> {
        let decoder = CsvDecoder {
            schema: Schema { columns: Vec::new() },
            arrow: Arc::new(arrow_schema::Schema::empty()),
            options: options.clone(),
            field_map: Vec::new(),
            only_empty_is_null: true,
            empty_is_null: Vec::new(),
        };
        let mut names = Vec::new();
        let mut scratch = Scratch::default();
        decoder.each_record(header, &mut scratch, |fields, _| {
            for f in fields {
                let name = std::str::from_utf8(f).map_err(|_| (ErrorKind::InvalidUtf8, None, f.to_vec()))?;
                names.push(name.to_string());
            }
            Ok(())
        })?;
        Ok(names)
    }

    /// Decodes a chunk of whole records. Errors carry the record's line,
    /// byte offset, column and value; the record index is relative to the chunk.
    pub fn decode(&self, chunk: &Chunk, scratch: &mut Scratch) -> Result<RecordBatch> {
        let data = &chunk.data[..];
        let max_rows = bytecount::count(data, b'\n') + 1;
        let mut builders: Vec<ColumnBuilder> =
            self.schema.columns.iter().map(|c| ColumnBuilder::new(c, max_rows, data.len() / 4)).collect();
        let utf8_checked = simdutf8::basic::from_utf8(data).is_ok();
        let expected = self.field_map.len();
        let mut rows = 0usize;
        self.each_record(chunk, scratch, |fields, _| {
            if fields.len() != expected {
                return Err((ErrorKind::FieldCount { expected, found: fields.len() }, None, Vec::new()));
            }
            for (i, field) in fields.enumerate() {
                let Some(c) = self.field_map[i] else { continue };
                let builder = &mut builders[c];
                if self.is_null(field, c) {
                    if !self.schema.columns[c].nullable {
                        return Err((ErrorKind::NullInNonNullable, Some(c), field.to_vec()));
                    }
                    builder.append_null();
                } else if let Err(e) = builder.append(field, utf8_checked) {
                    let kind = match e {
                        FieldError::Parse => {
                            ErrorKind::Parse { expected: type_name(&self.schema.columns[c].data_type) }
                        }
                        FieldError::Utf8 => ErrorKind::InvalidUtf8,
                    };
                    return Err((kind, Some(c), field.to_vec()));
                }
            }
            rows += 1;
            Ok(())
        })?;
        let columns = builders.into_iter().map(ColumnBuilder::finish).collect();
        RecordBatch::try_new(Arc::clone(&self.arrow), columns).map_err(Error::encode)
    }

    #[inline]
    fn is_null(&self, field: &[u8], column: usize) -> bool {
        if field.is_empty() {
            self.only_empty_is_null || self.empty_is_null[column]
        } else {
            !self.only_empty_is_null && self.options.null_markers.iter().any(|m| m.as_bytes() == field)
        }
    }

    /// Runs `on_record` over every record of the chunk with an iterator over
    /// its unescaped fields. A callback error (kind, column, value) becomes
    /// an [`Error`] located at the record.
    fn each_record<F>(&self, chunk: &Chunk, scratch: &mut Scratch, mut on_record: F) -> Result<()>
    where
        F: FnMut(Fields<'_>, &[u8]) -> std::result::Result<(), RecordError>,
    {
        let data = &chunk.data[..];
        if scratch.out.len() < 4096 {
            scratch.out.resize(4096, 0);
        }
        if scratch.ends.len() < 64 {
            scratch.ends.resize(64, 0);
        }
        let mut rdr = self.reader();
        let (mut pos, mut out_len, mut nends, mut start) = (0, 0, 0, 0);
        let mut record = 0u64;
        loop {
            // csv-core drops a UTF-8 BOM at the start of its first input; the
            // chunker already dropped the file's, and one at the start of a
            // later chunk is data. Feeding a lone first byte keeps it.
            let input = if pos == 0 { &data[..data.len().min(1)] } else { &data[pos..] };
            let (res, nin, nout, nend) =
                rdr.read_record(input, &mut scratch.out[out_len..], &mut scratch.ends[nends..]);
            pos += nin;
            out_len += nout;
            nends += nend;
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    let n = scratch.out.len() * 2;
                    scratch.out.resize(n, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let n = scratch.ends.len() * 2;
                    scratch.ends.resize(n, 0);
                }
                ReadRecordResult::Record => {
                    // csv-core ends a record at its first line-break byte and
                    // skips the rest (the LF of a CRLF, blank lines) when it
                    // reads the next one: the record starts after them.
                    while start < pos && matches!(data[start], b'\r' | b'\n') {
                        start += 1;
                    }
                    let raw = &data[start..pos];
                    let located = |kind: ErrorKind, column: Option<usize>, value: Option<Vec<u8>>| {
                        let mut loc = chunk.location(start, record);
                        loc.column = column.map(|c| self.column_name(c));
                        loc.value = value.map(|v| show_value(&v));
                        Error::new(kind).at(loc)
                    };
                    if memchr::memchr(self.options.quote, raw).is_some() {
                        if let Err(kind) = check_quotes(raw, &self.options) {
                            return Err(located(kind, None, Some(first_line(raw).to_vec())));
                        }
                    }
                    let fields = Fields { out: &scratch.out[..out_len], ends: &scratch.ends[..nends], i: 0, start: 0 };
                    if let Err((kind, column, value)) = on_record(fields, raw) {
                        let value = if value.is_empty() && column.is_none() { first_line(raw).to_vec() } else { value };
                        return Err(located(kind, column, Some(value)));
                    }
                    record += 1;
                    out_len = 0;
                    nends = 0;
                    start = pos;
                }
                ReadRecordResult::End => return Ok(()),
            }
        }
    }

    fn column_name(&self, c: usize) -> String {
        self.schema.columns.get(c).map_or_else(|| format!("#{c}"), |col| col.name.clone())
    }
}

/// A raw record without its line break.
fn trim_line_end(raw: &[u8]) -> &[u8] {
    let end = raw.iter().rposition(|b| !matches!(b, b'\r' | b'\n')).map_or(0, |i| i + 1);
    &raw[..end]
}

/// What an error about a whole record shows of it: its first line, which
/// is the same however the input was cut into chunks.
pub(crate) fn first_line(raw: &[u8]) -> &[u8] {
    trim_line_end(&raw[..memchr::memchr(b'\n', raw).map_or(raw.len(), |i| i + 1)])
}

/// What a record callback reports: the kind, the schema column, the value.
type RecordError = (ErrorKind, Option<usize>, Vec<u8>);

/// The unescaped fields of one record.
struct Fields<'a> {
    out: &'a [u8],
    ends: &'a [usize],
    i: usize,
    start: usize,
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let end = *self.ends.get(self.i)?;
        let field = &self.out[self.start..end];
        self.i += 1;
        self.start = end;
        Some(field)
    }
}

impl Fields<'_> {
    /// Fields not yet taken.
    fn len(&self) -> usize {
        self.ends.len() - self.i
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn line_breaks_are_not_part_of_a_shown_record() {
        assert_eq!(trim_line_end(b"a,b\r\n"), b"a,b");
        assert_eq!(trim_line_end(b"a,b"), b"a,b");
        assert_eq!(trim_line_end(b"\r\n"), b"");
    }
}
