//! CSV chunk to `RecordBatch`: fields are found in place (see [`super::fields`],
//! with csv-core for any record that is not plain RFC 4180) and parsed from
//! there into the column builders, so no field becomes a `String`.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use csv_core::{ReadRecordResult, Reader, ReaderBuilder, Terminator};

use super::fields::{split_record, Specials, UNESCAPED};
use super::{CellError, ColumnBuilder, FieldError};
use crate::error::{show_value, Error, ErrorKind, Result};
use crate::spec::{type_name, CsvOptions, Schema};
use crate::split::{check_quotes, Chunk};

/// Buffers a worker reuses from chunk to chunk.
#[derive(Default)]
pub struct Scratch {
    /// Per record of the chunk: its first byte and its first cell.
    records: Vec<(u32, u32)>,
    /// Every field of the chunk, in order (see [`split_record`]).
    cells: Vec<(u32, u32)>,
    /// Fields that needed unescaping.
    unescaped: Vec<u8>,
    /// csv-core's output and field ends.
    out: Vec<u8>,
    ends: Vec<usize>,
    /// Mean record size of the last chunk, to size the next one's builders.
    bytes_per_row: Option<f64>,
}

/// Records tokenized before their columns are parsed: enough to amortize
/// the per-column loops, few enough that their bytes stay in cache.
const BLOCK_RECORDS: usize = 1024;

impl Scratch {
    /// The bytes of a cell.
    #[inline]
    fn cell<'a>(&'a self, data: &'a [u8], (start, end): (u32, u32)) -> &'a [u8] {
        if start & UNESCAPED == 0 {
            &data[start as usize..end as usize]
        } else {
            &self.unescaped[(start & !UNESCAPED) as usize..(end & !UNESCAPED) as usize]
        }
    }
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
        let mut scratch = Scratch::default();
        if let Err(broken) = Tokenizer::new(&header.data, options).next_block(&mut scratch, 1) {
            return Err(decoder.located(header, &broken));
        }
        let Some(&(start, first)) = scratch.records.first() else { return Ok(Vec::new()) };
        let last = scratch.records.get(1).map_or(scratch.cells.len(), |r| r.1 as usize);
        let mut names = Vec::new();
        for &cell in &scratch.cells[first as usize..last] {
            let f = scratch.cell(&header.data, cell);
            let Ok(name) = std::str::from_utf8(f) else {
                let e = Broken {
                    record: 0,
                    start: start as usize,
                    kind: ErrorKind::InvalidUtf8,
                    value: f.to_vec(),
                    column: None,
                };
                return Err(decoder.located(header, &e));
            };
            names.push(name.to_string());
        }
        Ok(names)
    }

    /// Decodes a chunk of whole records. Errors carry the record's line,
    /// byte offset, column and value; the record index is relative to the chunk.
    ///
    /// The chunk is first cut into fields, then each column is parsed on its
    /// own, so that a column's loop knows its type. The error reported is
    /// the one a record-by-record reading meets first: the earliest record,
    /// and in it the leftmost field.
    pub fn decode(&self, chunk: &Chunk, scratch: &mut Scratch) -> Result<RecordBatch> {
        let data = &chunk.data[..];
        // Room for the rows the last chunk's record size predicts (builders
        // grow past it if need be); the first chunk counts its lines.
        let max_rows = match scratch.bytes_per_row {
            Some(b) => (data.len() as f64 / b * 1.05) as usize + 16,
            None => bytecount::count(data, b'\n') + 1,
        };
        let mut builders: Vec<ColumnBuilder> =
            self.schema.columns.iter().map(|c| ColumnBuilder::new(c, max_rows, data.len() / 4)).collect();
        let utf8_checked = simdutf8::basic::from_utf8(data).is_ok();
        let mut tokens = Tokenizer::new(data, &self.options);
        let mut rows = 0;
        while !tokens.done() {
            let broken = tokens.next_block(scratch, BLOCK_RECORDS).err();
            if let Some(mut e) = self.parse_block(scratch, data, &mut builders, utf8_checked, broken) {
                e.record += rows;
                return Err(self.located(chunk, &e));
            }
            rows += scratch.records.len();
        }
        if rows > 0 {
            scratch.bytes_per_row = Some(data.len() as f64 / rows as f64);
        }
        let columns = builders.into_iter().map(ColumnBuilder::finish).collect();
        RecordBatch::try_new(Arc::clone(&self.arrow), columns).map_err(Error::encode)
    }

    /// Parses a block of tokenized records into the builders, a column at a
    /// time. Returns the first bad record of the block, if any: the earliest,
    /// and in it the leftmost field, as a record-by-record reading would meet
    /// it; `broken` is the record the tokenizer stopped at.
    fn parse_block(
        &self,
        scratch: &Scratch,
        data: &[u8],
        builders: &mut [ColumnBuilder],
        utf8_checked: bool,
        broken: Option<Broken>,
    ) -> Option<Broken> {
        let expected = self.field_map.len();
        let records = &scratch.records;
        let cells_of = |r: usize| {
            let next = records.get(r + 1).map_or(scratch.cells.len(), |n| n.1 as usize);
            next - records[r].1 as usize
        };
        // Records up to the first with the wrong number of fields.
        let wrong_count = (0..records.len()).find(|&r| cells_of(r) != expected);
        let rows = wrong_count.unwrap_or(records.len());
        let mut first_bad: Option<Broken> = None;
        for (f, &column) in self.field_map.iter().enumerate() {
            let Some(c) = column else { continue };
            // Past a bad record only an earlier one matters.
            let limit = first_bad.as_ref().map_or(rows, |b| b.record);
            let cells = records[..limit].iter().map(|r| scratch.cell(data, scratch.cells[r.1 as usize + f]));
            let nullable = self.schema.columns[c].nullable;
            if let Err((r, e)) = builders[c].append_all(cells, |v| self.is_null(v, c), nullable, utf8_checked) {
                let kind = match e {
                    CellError::Null => ErrorKind::NullInNonNullable,
                    CellError::Invalid(FieldError::Parse) => {
                        ErrorKind::Parse { expected: type_name(&self.schema.columns[c].data_type) }
                    }
                    CellError::Invalid(FieldError::Utf8) => ErrorKind::InvalidUtf8,
                };
                let value = scratch.cell(data, scratch.cells[records[r].1 as usize + f]).to_vec();
                first_bad = Some(Broken { record: r, start: records[r].0 as usize, kind, value, column: Some(c) });
            }
        }
        first_bad
            .or_else(|| {
                wrong_count.map(|r| {
                    let start = records[r].0 as usize;
                    let end = records
                        .get(r + 1)
                        .map_or_else(|| broken.as_ref().map_or(data.len(), |b| b.start), |n| n.0 as usize);
                    Broken {
                        record: r,
                        start,
                        kind: ErrorKind::FieldCount { expected, found: cells_of(r) },
                        value: first_line(&data[start..end]).to_vec(),
                        column: None,
                    }
                })
            })
            .or(broken)
    }

    #[inline]
    fn is_null(&self, field: &[u8], column: usize) -> bool {
        if field.is_empty() {
            self.only_empty_is_null || self.empty_is_null[column]
        } else {
            !self.only_empty_is_null && self.options.null_markers.iter().any(|m| m.as_bytes() == field)
        }
    }

    /// The error for a bad record, located in the source.
    fn located(&self, chunk: &Chunk, b: &Broken) -> Error {
        let mut loc = chunk.location(b.start, b.record as u64);
        loc.column = b.column.map(|c| self.column_name(c));
        loc.value = Some(show_value(&b.value));
        Error::new(b.kind.clone()).at(loc)
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

/// Cuts a chunk into records and fields, a block of records at a time
/// (`Scratch::records`, `Scratch::cells`).
///
/// Plain RFC 4180 records are split by [`split_record`]; any other record
/// (and every record of a dialect with an escape character) is read by
/// csv-core, whose verdict on it stands.
struct Tokenizer<'a> {
    data: &'a [u8],
    options: &'a CsvOptions,
    specials: Specials<'a>,
    rdr: Option<Reader>,
    pos: usize,
}

impl<'a> Tokenizer<'a> {
    fn new(data: &'a [u8], options: &'a CsvOptions) -> Self {
        assert!(data.len() < UNESCAPED as usize, "chunks are smaller than 2 GiB");
        Tokenizer { data, options, specials: Specials::new(data, options.delimiter, options.quote), rdr: None, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos == self.data.len()
    }

    /// Replaces the scratch records and cells with the next `max` records
    /// at most, stopping before one whose quoting is broken (its `record`
    /// counts from the block's first).
    fn next_block(&mut self, scratch: &mut Scratch, max: usize) -> std::result::Result<(), Broken> {
        let data = self.data;
        let (delimiter, quote) = (self.options.delimiter, self.options.quote);
        let fast = self.options.escape.is_none();
        scratch.records.clear();
        scratch.cells.clear();
        scratch.unescaped.clear();
        while scratch.records.len() < max {
            // Line breaks end records; runs of them (CRLF, blank lines) are skipped.
            while self.pos < data.len() && matches!(data[self.pos], b'\r' | b'\n') {
                self.pos += 1;
            }
            if self.done() {
                break;
            }
            let start = self.pos;
            let first_cell = scratch.cells.len();
            let split = if fast {
                split_record(&mut self.specials, start, delimiter, quote, &mut scratch.cells, &mut scratch.unescaped)
            } else {
                None
            };
            self.pos = match split {
                Some(end) => end,
                None => {
                    scratch.cells.truncate(first_cell);
                    let rdr = self.rdr.get_or_insert_with(|| reader(self.options));
                    let end = read_with_csv_core(rdr, data, start, scratch);
                    let raw = &data[start..end];
                    if memchr::memchr(quote, raw).is_some() {
                        if let Err(kind) = check_quotes(raw, self.options) {
                            scratch.cells.truncate(first_cell);
                            let record = scratch.records.len();
                            return Err(Broken { record, start, kind, value: first_line(raw).to_vec(), column: None });
                        }
                    }
                    end
                }
            };
            scratch.records.push((start as u32, first_cell as u32));
        }
        // Trailing line breaks end the chunk.
        while self.pos < data.len() && matches!(data[self.pos], b'\r' | b'\n') {
            self.pos += 1;
        }
        Ok(())
    }
}

fn reader(options: &CsvOptions) -> Reader {
    ReaderBuilder::new()
        .delimiter(options.delimiter)
        .quote(options.quote)
        .escape(options.escape)
        .double_quote(true)
        .terminator(Terminator::CRLF)
        .build()
}

/// What is wrong with a record, and where it is in the chunk.
struct Broken {
    record: usize,
    start: usize,
    kind: ErrorKind,
    value: Vec<u8>,
    column: Option<usize>,
}

/// Reads the record that starts at `start` with csv-core, appending its
/// fields to the scratch cells (as unescaped text). Returns the end of the
/// record, past the line break that ends it.
fn read_with_csv_core(rdr: &mut Reader, data: &[u8], start: usize, scratch: &mut Scratch) -> usize {
    if scratch.out.len() < 4096 {
        scratch.out.resize(4096, 0);
    }
    if scratch.ends.len() < 64 {
        scratch.ends.resize(64, 0);
    }
    let (mut pos, mut out_len, mut nends) = (start, 0, 0);
    loop {
        // csv-core drops a UTF-8 BOM at the start of its first input; the
        // chunker already dropped the file's, and one at the start of a
        // later chunk is data. Feeding a lone first byte keeps it.
        let input = if pos == 0 { &data[..data.len().min(1)] } else { &data[pos..] };
        let (res, nin, nout, nend) = rdr.read_record(input, &mut scratch.out[out_len..], &mut scratch.ends[nends..]);
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
            ReadRecordResult::Record | ReadRecordResult::End => break,
        }
    }
    let base = scratch.unescaped.len();
    let mut from = base;
    for &end in &scratch.ends[..nends] {
        let to = base + end;
        scratch.cells.push((from as u32 | UNESCAPED, to as u32 | UNESCAPED));
        from = to;
    }
    scratch.unescaped.extend_from_slice(&scratch.out[..out_len]);
    pos
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
