//! CSV chunk to `RecordBatch`: fields are found in place (see [`super::fields`],
//! with csv-core for any record that is not plain RFC 4180) and parsed from
//! there into the column builders, so no field becomes a `String`.

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::SchemaRef;
use csv_core::{ReadRecordResult, Reader, ReaderBuilder, Terminator};

use super::fields::{split_record, Specials, UNESCAPED};
use super::{filter_rows, keep_rows, CellError, ColumnBuilder, Decoded, FieldError, Origin};
use crate::error::{show_value, Error, ErrorKind, Location, Problem, Reject, Result};
use crate::spec::{type_name, CsvOptions, OnError, Schema};
use crate::split::{check_quotes, Chunk};

/// Buffers a worker reuses from chunk to chunk.
#[derive(Default)]
pub struct Scratch {
    /// The records of the current block.
    records: Vec<Rec>,
    /// Every field of the block, in order (see [`split_record`]).
    cells: Vec<(u32, u32)>,
    /// Fields that needed unescaping.
    unescaped: Vec<u8>,
    /// Records of the block whose quoting is broken, with the verdict.
    broken: Vec<(usize, ErrorKind)>,
    /// What is wrong in the block: (record, field order, problem).
    problems: Vec<(usize, usize, Problem)>,
    /// Per record of the block: no cells to parse (set only when some are bad).
    unparsed: Vec<bool>,
    /// csv-core's output and field ends.
    out: Vec<u8>,
    ends: Vec<usize>,
    /// Mean record size of the last chunk, to size the next one's builders.
    bytes_per_row: Option<f64>,
    /// Per column of the last chunk: its text's share of the chunk's bytes
    /// (0 outside text columns), to size the next one's text buffers.
    text_share: Vec<f64>,
}

/// A record of the current block: its bytes (without the line break that
/// ends it) and its first cell.
#[derive(Debug, Clone, Copy)]
struct Rec {
    start: u32,
    end: u32,
    first_cell: u32,
}

/// The bytes of records tokenized before their columns are parsed: enough
/// to amortize the per-column loops, few enough that the records stay in
/// the first-level cache while each column is parsed from them (on the
/// orders data, 16 KiB blocks took about 6% less CPU than blocks of 1,024
/// records, 176 KiB).
const BLOCK_BYTES: f64 = 16384.0;

/// The bytes of a cell: a slice of the chunk, or of the unescape buffer.
#[inline]
fn cell<'a>(data: &'a [u8], unescaped: &'a [u8], (start, end): (u32, u32)) -> &'a [u8] {
    if start & UNESCAPED == 0 {
        &data[start as usize..end as usize]
    } else {
        &unescaped[(start & !UNESCAPED) as usize..(end & !UNESCAPED) as usize]
    }
}

/// Decodes CSV chunks of one dialect into batches of one schema.
pub struct CsvDecoder {
    schema: Schema,
    arrow: SchemaRef,
    /// `arrow` with every column nullable: rejected rows' bad values are
    /// null whatever their column.
    rejected_arrow: SchemaRef,
    options: CsvOptions,
    /// For each CSV field, the schema column it fills (`None`: not read).
    field_map: Vec<Option<usize>>,
    /// The null markers are the empty field alone (the common case, tested first).
    only_empty_is_null: bool,
    /// Per column: whether the empty field is null. It always is outside
    /// text columns, where it has no other meaning; in text columns only
    /// when the empty string is one of the null markers.
    empty_is_null: Vec<bool>,
    on_error: OnError,
    /// Record where each row came from ([`Decoded::origins`]).
    origins: bool,
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
            rejected_arrow: Arc::new(arrow_schema::Schema::new(
                schema.arrow().fields().iter().map(|f| f.as_ref().clone().with_nullable(true)).collect::<Vec<_>>(),
            )),
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
            on_error: OnError::Fail,
            origins: false,
        })
    }

    /// Record where each row came from, for checks after decoding.
    pub fn with_origins(mut self, origins: bool) -> Self {
        self.origins = origins;
        self
    }

    /// What a bad record does (default: it is the error).
    pub fn with_on_error(mut self, on_error: OnError) -> Self {
        self.on_error = on_error;
        self
    }

    pub fn arrow_schema(&self) -> &SchemaRef {
        &self.arrow
    }

    /// Reads the header record's field names.
    pub fn header_names(options: &CsvOptions, header: &Chunk) -> Result<Vec<String>> {
        let mut scratch = Scratch::default();
        Tokenizer::new(&header.data, options).next_block(&mut scratch, 1);
        let Some(rec) = scratch.records.first().copied() else { return Ok(Vec::new()) };
        let located = |kind: ErrorKind, value: &[u8]| {
            let mut loc = header.location(rec.start as usize, 0);
            loc.value = Some(show_value(value));
            Error::new(kind).at(loc)
        };
        if let Some((_, kind)) = scratch.broken.first() {
            return Err(located(kind.clone(), first_line(&header.data[rec.start as usize..rec.end as usize])));
        }
        let mut names = Vec::new();
        for &c in &scratch.cells {
            let f = cell(&header.data, &scratch.unescaped, c);
            let name = std::str::from_utf8(f).map_err(|_| located(ErrorKind::InvalidUtf8, f))?;
            names.push(name.to_string());
        }
        Ok(names)
    }

    /// Decodes a chunk of whole records into its good rows and, under the
    /// reject and null policies, its rejected ones. Locations carry the
    /// record's line and byte offset; the record index is relative to the
    /// chunk. Under the fail policy the first bad record is the error.
    ///
    /// The chunk is cut into fields a block of records at a time, then each
    /// column of the block is parsed on its own, so that a column's loop
    /// knows its type. Problems are ordered as a record-by-record reading
    /// meets them: by record, then field.
    pub fn decode(&self, chunk: &Chunk, scratch: &mut Scratch) -> Result<Decoded> {
        let data = &chunk.data[..];
        // Room for the rows the last chunk's record size predicts (builders
        // grow past it if need be); the first chunk counts its lines.
        let max_rows = match scratch.bytes_per_row {
            Some(b) => (data.len() as f64 / b * 1.05) as usize + 16,
            None => chunk.line_feeds() + 1,
        };
        // A text column's bytes: what its share of the last chunk predicts
        // (or a quarter of the chunk, for the first), with some room.
        let text_bytes = |c: usize| match scratch.text_share.get(c) {
            Some(share) => (data.len() as f64 * share * 1.05) as usize + 64,
            None => data.len() / 4,
        };
        let mut builders: Vec<ColumnBuilder> = self
            .schema
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| ColumnBuilder::new(c, max_rows, text_bytes(i)))
            .collect();
        let mut tokens = Tokenizer::new(data, &self.options);
        let mut lines = LineCursor::new(chunk);
        let (mut records, mut nulled, mut rejects) = (0u64, 0u64, Vec::new());
        let mut origins = Vec::new();
        let mut rejected_rows = Vec::new();
        let block_records = scratch.bytes_per_row.map_or(128, |b| (BLOCK_BYTES / b) as usize).clamp(16, 1024);
        while !tokens.done() {
            tokens.next_block(scratch, block_records);
            // The block's text is checked as UTF-8 while the tokenizer has
            // left it in cache; then text columns take their fields as
            // they are (a block that fails has each of its strings checked).
            let utf8_checked = match (scratch.records.first(), scratch.records.last()) {
                (Some(first), Some(last)) => {
                    simdutf8::basic::from_utf8(&data[first.start as usize..last.end as usize]).is_ok()
                }
                _ => true,
            };
            nulled += self.parse_block(scratch, data, &mut builders, utf8_checked);
            let base = records as usize;
            records += scratch.records.len() as u64;
            if scratch.problems.is_empty() {
                if self.origins {
                    let kept = scratch.records.iter().enumerate();
                    origins.extend(kept.map(|(r, rec)| Origin {
                        start: rec.start,
                        end: rec.end,
                        record: (base + r) as u32,
                    }));
                }
                continue;
            }
            let first_rejected = rejected_rows.len();
            scratch.problems.sort_by_key(|&(r, order, _)| (r, order));
            let mut problems = scratch.problems.drain(..).peekable();
            while let Some((r, _, first)) = problems.next() {
                let rec = scratch.records[r];
                let mut reject = Reject {
                    location: lines.at(rec.start as usize, (base + r) as u64),
                    problems: vec![first],
                    raw: data[rec.start as usize..rec.end as usize].to_vec(),
                };
                while let Some((_, _, p)) = problems.next_if(|p| p.0 == r) {
                    reject.problems.push(p);
                }
                // A quote still open at the end of the input is the file's
                // fault, not one record's: no policy goes on past it.
                let fatal = reject.problems.iter().any(|p| p.kind == ErrorKind::UnterminatedQuote);
                if fatal || self.on_error == OnError::Fail {
                    let e = reject.problems.iter().position(|p| p.kind == ErrorKind::UnterminatedQuote);
                    if let Some(i) = e.filter(|_| self.on_error != OnError::Fail) {
                        reject.problems.swap(0, i);
                    }
                    return Err(reject.into_error());
                }
                rejected_rows.push(base + r);
                rejects.push(reject);
            }
            if self.origins {
                let mut gone = rejected_rows[first_rejected..].iter().peekable();
                for (r, rec) in scratch.records.iter().enumerate() {
                    if gone.next_if(|&&g| g == base + r).is_none() {
                        origins.push(Origin { start: rec.start, end: rec.end, record: (base + r) as u32 });
                    }
                }
            }
        }
        if records > 0 {
            scratch.bytes_per_row = Some(data.len() as f64 / records as f64);
            let share = |b: &ColumnBuilder| b.text_len() as f64 / data.len() as f64;
            scratch.text_share = builders.iter().map(share).collect();
        }
        let mut columns: Vec<ArrayRef> = builders.into_iter().map(ColumnBuilder::finish).collect();
        let mut rejected = None;
        if !rejected_rows.is_empty() {
            let mut keep = vec![true; records as usize];
            for r in rejected_rows {
                keep[r] = false;
            }
            if self.origins {
                let gone = BooleanArray::from(keep.iter().map(|k| !k).collect::<Vec<_>>());
                let gone = filter_rows(&columns, &gone)?;
                rejected = Some(RecordBatch::try_new(Arc::clone(&self.rejected_arrow), gone).map_err(Error::encode)?);
            }
            columns = keep_rows(columns, keep)?;
        }
        let batch = RecordBatch::try_new(Arc::clone(&self.arrow), columns).map_err(Error::encode)?;
        Ok(Decoded { batch, rejects, records, nulled, origins, rejected })
    }

    /// Parses a block of tokenized records into the builders, a column at a
    /// time, and lists what is wrong in `scratch.problems`. A bad value
    /// leaves a null in its builder (its row is dropped later, or, under
    /// the null policy, kept with the null: those are counted and returned).
    fn parse_block(
        &self,
        scratch: &mut Scratch,
        data: &[u8],
        builders: &mut [ColumnBuilder],
        utf8_checked: bool,
    ) -> u64 {
        let expected = self.field_map.len();
        let Scratch { records, cells, unescaped, broken, problems, unparsed, .. } = scratch;
        problems.clear();
        let cells_of = |r: usize| {
            let next = records.get(r + 1).map_or(cells.len(), |n| n.first_cell as usize);
            next - records[r].first_cell as usize
        };
        let raw_line = |r: usize| {
            let rec: Rec = records[r];
            Some(show_value(first_line(&data[rec.start as usize..rec.end as usize])))
        };
        // Records with no cells to parse: broken quoting, or the wrong count.
        let any_unparsed = !broken.is_empty() || (0..records.len()).any(|r| cells_of(r) != expected);
        if any_unparsed {
            unparsed.clear();
            unparsed.resize(records.len(), false);
            for (r, kind) in broken.drain(..) {
                unparsed[r] = true;
                problems.push((r, 0, Problem { kind, column: None, value: raw_line(r) }));
            }
            for (r, skip) in unparsed.iter_mut().enumerate() {
                let found = cells_of(r);
                if !*skip && found != expected {
                    *skip = true;
                    let kind = ErrorKind::FieldCount { expected, found };
                    problems.push((r, 0, Problem { kind, column: None, value: raw_line(r) }));
                }
            }
        }
        let mut nulled = 0;
        for (f, &column) in self.field_map.iter().enumerate() {
            let Some(c) = column else { continue };
            let col = &self.schema.columns[c];
            let on_error = |r: usize, e: CellError, value: &[u8]| {
                let kind = match e {
                    CellError::Null => ErrorKind::NullInNonNullable,
                    CellError::Invalid(_) if self.on_error == OnError::Null && col.nullable => {
                        nulled += 1;
                        return true;
                    }
                    CellError::Invalid(FieldError::Parse) => ErrorKind::Parse { expected: type_name(&col.data_type) },
                    CellError::Invalid(FieldError::Utf8) => ErrorKind::InvalidUtf8,
                };
                let value = Some(show_value(value));
                problems.push((r, f + 1, Problem { kind, column: Some(col.name.clone()), value }));
                self.on_error != OnError::Fail
            };
            let is_null = |v: &[u8]| self.is_null(v, c);
            if any_unparsed {
                let values = records
                    .iter()
                    .enumerate()
                    .map(|(r, rec)| (!unparsed[r]).then(|| cell(data, unescaped, cells[rec.first_cell as usize + f])));
                builders[c].append_all(values, is_null, col.nullable, utf8_checked, on_error);
            } else {
                // Every record has its `expected` cells: the column's are
                // evenly spaced.
                let values = cells
                    .get(f..)
                    .unwrap_or_default()
                    .iter()
                    .step_by(expected)
                    .map(|&range| Some(cell(data, unescaped, range)));
                builders[c].append_all(values, is_null, col.nullable, utf8_checked, on_error);
            }
        }
        nulled
    }

    #[inline]
    fn is_null(&self, field: &[u8], column: usize) -> bool {
        if field.is_empty() {
            self.only_empty_is_null || self.empty_is_null[column]
        } else {
            !self.only_empty_is_null && self.options.null_markers.iter().any(|m| m.as_bytes() == field)
        }
    }
}

/// A raw record without its line break.
pub(crate) fn trim_line_end(raw: &[u8]) -> &[u8] {
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
    /// at most. A record whose quoting is broken gets no cells, and its
    /// verdict goes to `scratch.broken`.
    fn next_block(&mut self, scratch: &mut Scratch, max: usize) {
        let data = self.data;
        let (delimiter, quote) = (self.options.delimiter, self.options.quote);
        let fast = self.options.escape.is_none();
        scratch.records.clear();
        scratch.cells.clear();
        scratch.unescaped.clear();
        scratch.broken.clear();
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
            let end = match split {
                Some(end) => {
                    self.pos = end;
                    end
                }
                None => {
                    scratch.cells.truncate(first_cell);
                    let fresh = self.rdr.is_none();
                    let rdr = self.rdr.get_or_insert_with(|| reader(self.options));
                    self.pos = read_with_csv_core(rdr, data, start, fresh, scratch);
                    let raw = trim_line_end(&data[start..self.pos]);
                    if memchr::memchr(quote, raw).is_some() {
                        if let Err(kind) = check_quotes(raw, self.options) {
                            scratch.cells.truncate(first_cell);
                            scratch.broken.push((scratch.records.len(), kind));
                        }
                    }
                    start + raw.len()
                }
            };
            scratch.records.push(Rec { start: start as u32, end: end as u32, first_cell: first_cell as u32 });
        }
        // Trailing line breaks end the chunk.
        while self.pos < data.len() && matches!(data[self.pos], b'\r' | b'\n') {
            self.pos += 1;
        }
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

/// Line numbers of records met in order, counted incrementally so that
/// locating many rejects costs one pass over the chunk.
pub(crate) struct LineCursor<'a> {
    chunk: &'a Chunk,
    pos: usize,
    line: u64,
}

impl<'a> LineCursor<'a> {
    pub(crate) fn new(chunk: &'a Chunk) -> Self {
        LineCursor { chunk, pos: 0, line: chunk.line }
    }

    /// The location of the record at `start` (not before the last one asked).
    pub(crate) fn at(&mut self, start: usize, record: u64) -> Location {
        self.line += bytecount::count(&self.chunk.data[self.pos..start], b'\n') as u64;
        self.pos = start;
        Location { line: self.line, byte: self.chunk.offset + start as u64, record, column: None, value: None }
    }
}

/// Reads the record that starts at `start` with csv-core, appending its
/// fields to the scratch cells (as unescaped text). Returns the end of the
/// record, past the line break that ends it.
fn read_with_csv_core(rdr: &mut Reader, data: &[u8], start: usize, fresh: bool, scratch: &mut Scratch) -> usize {
    if scratch.out.len() < 4096 {
        scratch.out.resize(4096, 0);
    }
    if scratch.ends.len() < 64 {
        scratch.ends.resize(64, 0);
    }
    let (mut pos, mut out_len, mut nends) = (start, 0, 0);
    loop {
        // csv-core drops a UTF-8 BOM at the start of its first input; the
        // chunker already dropped the file's, and one anywhere later is
        // data. Feeding a fresh reader a lone first byte keeps it.
        let input = if fresh && pos == start { &data[pos..(pos + 1).min(data.len())] } else { &data[pos..] };
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
