//! NDJSON and JSON array chunks to `RecordBatch`, with simd-json: each
//! record (a line, or an array element) is parsed into a tape (a flat list of
//! nodes, no document per row) and the tape is walked straight into the
//! column builders. Only the columns the schema names are visited; other keys
//! are skipped by their node count, whatever their depth.
//!
//! simd-json parses without recursion and stops at the nesting depth limit;
//! the walk into the builders recurses only as deep as the schema.
//!
//! Most records are flat objects of short scalars: those take the fast
//! path of [`super::flat`], which reads them straight into the builders,
//! and leaves every other record to simd-json.
//!
//! With `flatten`, dotted column names (`addr.city`) are read as paths: the
//! builders nest as the paths do, as if the schema held a struct `addr`
//! with a field `city`, and the leaves come out as the schema's columns.

use std::cell::Cell;
use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::{ArrayRef, ListArray, RecordBatch, StructArray};
use arrow_buffer::{NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, FieldRef, Fields, SchemaRef};
use simd_json::tape::{Node, Tape};
use simd_json::StaticNode;

use super::flat::{plain_text, Flat, FlatReader};
use super::value::parse_decimal_number;
use super::{ColumnBuilder, Decoded, FieldError, LineCursor, Origin};
use crate::error::{show_value, Error, ErrorKind, Problem, Reject, Result};
use crate::spec::{type_name, Column, JsonOptions, OnError, Schema};
use crate::split::{
    first_value, first_value_end, is_space, leading_space, next_delimiter, Chunk, Delimiter, MISSING_COMMA,
};

/// How records are laid out in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One record per line (NDJSON); blank lines are skipped.
    Lines,
    /// The elements of one top-level array; chunks come from
    /// [`crate::split::JsonArraySplitter`].
    Array,
}

/// Decodes NDJSON or JSON array chunks into batches of one schema.
pub struct JsonDecoder {
    schema: Schema,
    arrow: SchemaRef,
    options: JsonOptions,
    framing: Framing,
    /// With `flatten`: how the dotted columns nest.
    paths: Option<Vec<Slot>>,
    on_error: OnError,
    /// Record where each row came from ([`Decoded::origins`]).
    origins: bool,
    /// Flat records take the fast path ([`super::flat`]).
    fast_path: bool,
}

/// Why a pass over a chunk stopped.
enum Stop {
    Error(Error),
    /// A record is bad and the policy sets it aside: decode again, trying
    /// each record alone before it joins the batch.
    Retry,
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Error(e)
    }
}

/// What a pass collects besides the rows.
#[derive(Default)]
struct Collected {
    rejects: Vec<Reject>,
    origins: Vec<Origin>,
    records: u64,
    /// Values the null policy made null.
    nulled: u64,
}

/// One key of a flattened object: a schema column, or an object whose keys
/// lead to columns.
#[derive(Debug)]
struct Slot {
    key: String,
    kind: SlotKind,
}

#[derive(Debug)]
enum SlotKind {
    /// The schema column at this index.
    Column(usize),
    Object(Vec<Slot>),
}

impl JsonDecoder {
    pub fn new(schema: &Schema, options: &JsonOptions, framing: Framing) -> Result<Self> {
        if options.max_depth == 0 {
            return Err(Error::spec("the nesting depth limit must be at least 1 (the record itself)"));
        }
        let paths = options.flatten.then(|| nest_paths(schema)).transpose()?;
        Ok(JsonDecoder {
            schema: schema.clone(),
            arrow: schema.arrow(),
            options: options.clone(),
            framing,
            paths,
            on_error: OnError::Fail,
            origins: false,
            fast_path: true,
        })
    }

    /// What a bad record does (default: it is the error). Under the null
    /// policy a value that does not fit a nullable column becomes null; a
    /// record that is not good JSON, or whose object breaks other rules,
    /// is rejected.
    pub fn with_on_error(mut self, on_error: OnError) -> Self {
        self.on_error = on_error;
        self
    }

    /// Record where each row came from, for checks after decoding.
    pub fn with_origins(mut self, origins: bool) -> Self {
        self.origins = origins;
        self
    }

    /// Whether flat records take the fast path (the default), for checks
    /// that compare it with the general one.
    pub fn with_fast_path(mut self, fast_path: bool) -> Self {
        self.fast_path = fast_path;
        self
    }

    /// The fast path's reader for a chunk, when its schema and text allow it.
    fn flat_reader(&self, data: &[u8]) -> Option<FlatReader> {
        // A flat object is one level deep, well within any depth limit
        // past the record's own.
        if !self.fast_path || self.paths.is_some() || self.options.max_depth < 2 {
            return None;
        }
        let reader = FlatReader::new(&self.schema, self.options.unknown_fields_are_errors)?;
        // Records of CRLF NDJSON hold no LF, so a raw CR in a string is
        // what the fast path looks for there; an array's elements may hold
        // both, and then the general path reads them.
        match (plain_text(data)?, self.framing) {
            (false, _) => Some(reader),
            (true, Framing::Lines) => Some(reader.breaking_at(b'\r')),
            (true, Framing::Array) => None,
        }
    }

    /// The builders for a chunk of up to `rows` records.
    fn root(&self, rows: usize, bytes: usize) -> Builder {
        match &self.paths {
            None => Builder::root(&self.schema, rows, bytes),
            Some(slots) => {
                let (fields, children) = self.nested_builders(slots, rows, bytes);
                Builder::Struct { fields, children, nulls: NullBufferBuilder::new(0) }
            }
        }
    }

    fn nested_builders(&self, slots: &[Slot], rows: usize, bytes: usize) -> (Fields, Vec<Builder>) {
        let mut fields = Vec::with_capacity(slots.len());
        let mut builders = Vec::with_capacity(slots.len());
        for slot in slots {
            match &slot.kind {
                SlotKind::Column(c) => {
                    let column = &self.schema.columns[*c];
                    fields.push(Field::new(&slot.key, column.data_type.clone(), column.nullable));
                    builders.push(Builder::new(column, rows, bytes));
                }
                SlotKind::Object(inner) => {
                    let (inner_fields, children) = self.nested_builders(inner, rows, bytes);
                    // The object may be missing or null only if every column
                    // under it may be.
                    let nullable = inner_fields.iter().all(|f| f.is_nullable());
                    fields.push(Field::new(&slot.key, DataType::Struct(inner_fields.clone()), nullable));
                    let nulls = NullBufferBuilder::new(rows);
                    builders.push(Builder::Struct { fields: inner_fields, children, nulls });
                }
            }
        }
        (fields.into(), builders)
    }

    /// The error's column as the schema names it: with `flatten`, an
    /// object that must be there stands for the first column under it that
    /// may not be null.
    fn column_name(&self, kind: &ErrorKind, column: Option<String>) -> Option<String> {
        let path = column?;
        if self.paths.is_none()
            || *kind != ErrorKind::NullInNonNullable
            || self.schema.columns.iter().any(|c| c.name == path)
        {
            return Some(path);
        }
        let prefix = format!("{path}.");
        let required = self.schema.columns.iter().find(|c| !c.nullable && c.name.starts_with(&prefix));
        Some(required.map_or(path, |c| c.name.clone()))
    }

    pub fn arrow_schema(&self) -> &SchemaRef {
        &self.arrow
    }

    /// Decodes a chunk of whole records into its good rows and, under the
    /// reject and null policies, its rejected ones. Errors carry the line,
    /// byte offset, column and value; the record index is relative to the
    /// chunk. A broken array (no comma, never closed) fails under every
    /// policy.
    pub fn decode(&self, chunk: &Chunk) -> Result<Decoded> {
        let pass = |careful| match self.framing {
            Framing::Lines => self.decode_lines(chunk, careful),
            Framing::Array => self.decode_array(chunk, careful),
        };
        let (batch, got) = match pass(false) {
            Ok(done) => done,
            Err(Stop::Error(e)) => return Err(e),
            Err(Stop::Retry) => match pass(true) {
                Ok(done) => done,
                Err(Stop::Error(e)) => return Err(e),
                Err(Stop::Retry) => unreachable!("a careful pass sets bad records aside"),
            },
        };
        let (rejects, records, nulled, origins) = (got.rejects, got.records, got.nulled, got.origins);
        Ok(Decoded { batch, rejects, records, nulled, origins, rejected: None })
    }

    /// Appends one record, or, when it is bad, sets it aside (`careful`: it
    /// is tried alone first) or stops the pass.
    #[allow(clippy::too_many_arguments, reason = "one pass's state, shared by both framings")]
    fn take(
        &self,
        chunk: &Chunk,
        parser: &mut RecordParser,
        root: &mut Builder,
        got: &mut Collected,
        lines: &mut LineCursor<'_>,
        (start, end): (usize, usize),
        shown: &[u8],
        careful: bool,
    ) -> std::result::Result<(), Stop> {
        let record = got.records;
        let text = &chunk.data[start..end];
        let null_bad_values = self.on_error == OnError::Null;
        let fresh = || self.root(1, text.len());
        let mut attempt = |root: &mut Builder| parser.append(root, text, &self.options, null_bad_values, fresh);
        let failed = if careful {
            attempt(&mut self.root(1, text.len())).err()
        } else {
            match attempt(root) {
                Ok(nulled) => {
                    got.nulled += nulled;
                    None
                }
                Err(_) if self.on_error != OnError::Fail => return Err(Stop::Retry),
                Err(e) => Some(e),
            }
        };
        got.records += 1;
        let Some(e) = failed else {
            if careful {
                got.nulled += attempt(root)
                    .map_err(|_| Stop::Error(Error::encode("a record parsed alone but not in its batch")))?;
            }
            if self.origins {
                got.origins.push(Origin { start: start as u32, end: end as u32, record: record as u32 });
            }
            return Ok(());
        };
        let kind = self.element_error(e.kind, text);
        let column = self.column_name(&kind, e.column);
        let e_value = e.value;
        // A missing comma breaks the array, not one element: no policy
        // goes on past it.
        let broken_array = matches!(&kind, ErrorKind::JsonSyntax(m) if m == MISSING_COMMA);
        if self.on_error == OnError::Fail || broken_array {
            let at_fault = match e_value.as_deref() {
                _ if broken_array => first_value(text),
                Some(v) => v.as_bytes(),
                None => shown,
            };
            return Err(Stop::Error(located(chunk, start, record, kind, column, at_fault)));
        }
        let value = |v: Option<String>| show_value(v.as_deref().map_or(shown, str::as_bytes));
        let mut problems = vec![Problem { kind, column, value: Some(value(e_value)) }];
        for more in e.also {
            let column = self.column_name(&more.kind, more.column);
            problems.push(Problem { kind: more.kind, column, value: Some(value(more.value)) });
        }
        got.rejects.push(Reject { location: lines.at(start, record), problems, raw: shown.to_vec() });
        Ok(())
    }

    /// simd-json's reason for a second value in an array element is not a
    /// stable one; two values in one element are a missing comma.
    fn element_error(&self, kind: ErrorKind, text: &[u8]) -> ErrorKind {
        match kind {
            ErrorKind::JsonSyntax(_)
                if self.framing == Framing::Array && first_value_end(text).is_some_and(|n| n < text.len()) =>
            {
                ErrorKind::JsonSyntax(MISSING_COMMA.into())
            }
            kind => kind,
        }
    }

    /// Whole lines; blank lines are skipped.
    fn decode_lines(&self, chunk: &Chunk, careful: bool) -> std::result::Result<(RecordBatch, Collected), Stop> {
        let data = &chunk.data[..];
        let max_rows = chunk.line_feeds() + 1;
        let mut root = self.root(max_rows, data.len() / 4);
        let mut parser = RecordParser::new(&self.options, self.flat_reader(data));
        let mut got = Collected::default();
        let mut lines = LineCursor::new(chunk);
        let mut pos = 0usize;
        while pos < data.len() {
            let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i + 1);
            let line = &data[pos..end];
            let start = pos;
            pos = end;
            if line.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let shown = trim_newline(line);
            self.take(chunk, &mut parser, &mut root, &mut got, &mut lines, (start, end), shown, careful)?;
        }
        Ok((self.finish(root)?, got))
    }

    /// Array elements, each ended by a top-level `,` or the closing `]`
    /// (which ends the last chunk; only the first chunk may hold an empty
    /// array). Every chunk but the last ends right after a comma, and the
    /// last never does, so a chunk that ends without a `]` ends an array
    /// that never closes.
    fn decode_array(&self, chunk: &Chunk, careful: bool) -> std::result::Result<(RecordBatch, Collected), Stop> {
        let data = &chunk.data[..];
        // Every element is an object, `{}` and a comma at least: a bound on
        // the rows without a second scan.
        let rows = bytecount::count(data, b'{').min(data.len() / 3 + 1);
        let mut root = self.root(rows, data.len() / 4);
        let mut parser = RecordParser::new(&self.options, self.flat_reader(data));
        let mut got = Collected::default();
        let mut lines = LineCursor::new(chunk);
        let elements = Elements { data, from: 0, first: chunk.seq == 0, done: false, seen: 0 };
        for span in elements {
            let (start, end) = match span {
                Ok(span) => span,
                Err(ArrayError { at, shown, message }) => {
                    let mut loc = chunk.location(at, got.records);
                    loc.value = (shown > 0).then(|| show_value(crate::decode::first_line(&data[at..at + shown])));
                    return Err(Stop::Error(Error::new(ErrorKind::JsonSyntax(message.into())).at(loc)));
                }
            };
            let element = &data[start..end];
            self.take(chunk, &mut parser, &mut root, &mut got, &mut lines, (start, end), element, careful)?;
        }
        Ok((self.finish(root)?, got))
    }

    fn finish(&self, root: Builder) -> Result<RecordBatch> {
        let columns = match &self.paths {
            None => root.finish_columns(),
            Some(slots) => {
                let mut columns = vec![None; self.schema.len()];
                finish_paths(root, slots, &mut columns);
                columns.into_iter().map(|c| c.expect("every column has a slot")).collect()
            }
        };
        RecordBatch::try_new(Arc::clone(&self.arrow), columns).map_err(Error::encode)
    }
}

/// The nesting of a schema's dotted column names, in the schema's order of
/// first appearance.
fn nest_paths(schema: &Schema) -> Result<Vec<Slot>> {
    let mut root: Vec<Slot> = Vec::new();
    for (c, column) in schema.columns.iter().enumerate() {
        let keys: Vec<&str> = column.name.split('.').collect();
        if keys.iter().any(|k| k.is_empty()) {
            return Err(Error::spec(format!("column {:?}: an empty key in a dotted path (--flatten)", column.name)));
        }
        let conflict = || {
            Error::spec(format!(
                "column {:?} and another column name the same path as a value and as an object (--flatten)",
                column.name
            ))
        };
        let (last, objects) = keys.split_last().expect("split yields at least one key");
        let mut level = &mut root;
        for key in objects {
            let i = match level.iter().position(|s| s.key == *key) {
                Some(i) => i,
                None => {
                    level.push(Slot { key: key.to_string(), kind: SlotKind::Object(Vec::new()) });
                    level.len() - 1
                }
            };
            level = match &mut level[i].kind {
                SlotKind::Object(inner) => inner,
                SlotKind::Column(_) => return Err(conflict()),
            };
        }
        if level.iter().any(|s| s.key == *last) {
            return Err(conflict());
        }
        level.push(Slot { key: last.to_string(), kind: SlotKind::Column(c) });
    }
    Ok(root)
}

/// Takes the leaves of nested builders out as the schema's columns.
fn finish_paths(builder: Builder, slots: &[Slot], columns: &mut [Option<ArrayRef>]) {
    let Builder::Struct { children, .. } = builder else { unreachable!("an object's builder is a struct") };
    for (child, slot) in children.into_iter().zip(slots) {
        match &slot.kind {
            SlotKind::Column(c) => columns[*c] = Some(child.finish()),
            SlotKind::Object(inner) => finish_paths(child, inner, columns),
        }
    }
}

const MISSING_ELEMENT: &str = "an array element is missing before this `,`";
const TRAILING_COMMA: &str = "a `,` before the array's closing `]` (trailing comma)";
const UNCLOSED_ARRAY: &str = "the array is not closed before the end of the input";

/// What is wrong with an array between its elements.
struct ArrayError {
    /// Where, in the chunk.
    at: usize,
    /// How many bytes from `at` to show as the value (none: 0).
    shown: usize,
    message: &'static str,
}

/// The elements of an array chunk, as byte ranges without the whitespace
/// around them, in order; the last item may instead be what is wrong with
/// the array at that point, after which nothing more is read.
struct Elements<'a> {
    data: &'a [u8],
    /// Where the next element's search starts.
    from: usize,
    /// The chunk starts right after the `[`.
    first: bool,
    done: bool,
    /// Elements yielded so far.
    seen: usize,
}

impl Iterator for Elements<'_> {
    type Item = std::result::Result<(usize, usize), ArrayError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.done = true;
        let data = self.data;
        let start = self.from + leading_space(&data[self.from..]);
        let Some((end, delimiter)) = next_delimiter(data, start) else {
            // No `,` or `]` before the end of the chunk, which is the end
            // of the input: every other chunk ends with one.
            return Some(Err(ArrayError { at: start, shown: data.len() - start, message: UNCLOSED_ARRAY }));
        };
        let mut stop = end;
        while stop > start && is_space(data[stop - 1]) {
            stop -= 1;
        }
        if stop == start {
            return match delimiter {
                Delimiter::Comma => Some(Err(ArrayError { at: end, shown: 1, message: MISSING_ELEMENT })),
                Delimiter::Close if self.first && self.seen == 0 => None,
                Delimiter::Close => Some(Err(ArrayError { at: end, shown: 1, message: TRAILING_COMMA })),
            };
        }
        if delimiter == Delimiter::Comma && end + 1 < data.len() {
            self.from = end + 1;
            self.done = false;
        }
        self.seen += 1;
        Some(Ok((start, stop)))
    }
}

/// A record error with its place: the record starts at `start` in the chunk.
fn located(chunk: &Chunk, start: usize, record: u64, kind: ErrorKind, column: Option<String>, value: &[u8]) -> Error {
    let mut loc = chunk.location(start, record);
    loc.column = column;
    loc.value = Some(show_value(value));
    Error::new(kind).at(loc)
}

/// Parses one record's text and appends it as a row, reusing its buffers
/// from record to record.
struct RecordParser {
    text: Vec<u8>,
    buffers: simd_json::Buffers,
    tape: Option<Tape<'static>>,
    max_depth: usize,
    /// The fast path, where the chunk allows it.
    flat: Option<FlatReader>,
}

impl RecordParser {
    fn new(options: &JsonOptions, flat: Option<FlatReader>) -> Self {
        RecordParser {
            text: Vec::new(),
            buffers: simd_json::Buffers::with_max_depth(0, options.max_depth),
            tape: Some(Tape::null()),
            max_depth: options.max_depth,
            flat,
        }
    }

    /// Appends one record; returns the values the null policy made null.
    /// `fresh` makes builders for one row, where the general path tells
    /// what is wrong with a record the fast path left half appended.
    fn append(
        &mut self,
        root: &mut Builder,
        record: &[u8],
        options: &JsonOptions,
        null_bad_values: bool,
        fresh: impl FnOnce() -> Builder,
    ) -> std::result::Result<u64, RowError> {
        match self.flat.as_mut().map(|flat| flat.append(root, record, null_bad_values)) {
            Some(Flat::Appended(nulled)) => Ok(nulled),
            Some(Flat::Failed) => match self.parse(&mut fresh(), record, options, null_bad_values) {
                Err(e) => Err(e),
                Ok(_) => Err(RowError::new(ErrorKind::Encode(
                    "the JSON fast path refused a record that the general path takes".into(),
                ))),
            },
            Some(Flat::Declined) | None => self.parse(root, record, options, null_bad_values),
        }
    }

    /// Appends one record through simd-json's tape.
    fn parse(
        &mut self,
        root: &mut Builder,
        record: &[u8],
        options: &JsonOptions,
        null_bad_values: bool,
    ) -> std::result::Result<u64, RowError> {
        let len = copy_padded(&mut self.text, record);
        let mut tape = self.tape.take().expect("the tape is returned after each record").reset();
        let parsed = simd_json::fill_tape_padded(&mut self.text, len, &mut self.buffers, &mut tape);
        let too_large = matches!(&parsed, Err(e) if *e.error() == simd_json::ErrorType::InvalidNumber);
        let walk = Walk { record, options, null_bad_values, overflows: false, max_depth: self.max_depth };
        if too_large {
            self.tape = Some(tape.reset());
            if !self.mask_overflows(record) {
                return walk.append(parsed, &[], &[], root);
            }
            // The rare path: a fresh tape over the masked copy.
            let mut tape = Tape::null();
            let parsed = simd_json::fill_tape_padded(&mut self.text, len, &mut self.buffers, &mut tape);
            let walk = Walk { overflows: true, ..walk };
            return walk.append(parsed, &tape.0, self.buffers.structural_indexes(), root);
        }
        let outcome = walk.append(parsed, &tape.0, self.buffers.structural_indexes(), root);
        self.tape = Some(tape.reset());
        outcome
    }

    /// JSON's grammar has numbers simd-json refuses: those past a double's
    /// range (`1e999`). Each such number in `record` is overwritten with
    /// `null` in the parser's copy, so that the record parses; the walk
    /// then finds them by their text. False when the parse fails for
    /// another reason (then the copy is left as it was).
    fn mask_overflows(&mut self, record: &[u8]) -> bool {
        let mut spans: Vec<(usize, usize)> = Vec::new();
        loop {
            let len = copy_padded(&mut self.text, record);
            for &(start, end) in &spans {
                self.text[start..end].fill(b' ');
                self.text[start..start + 4].copy_from_slice(b"null");
            }
            let mut tape = Tape::null();
            match simd_json::fill_tape_padded(&mut self.text, len, &mut self.buffers, &mut tape) {
                Ok(()) => return !spans.is_empty(),
                Err(e) if *e.error() == simd_json::ErrorType::InvalidNumber && spans.len() < MAX_OVERFLOWS => {
                    match overflowing_number(record, e.index()) {
                        Some(span) if !spans.contains(&span) => spans.push(span),
                        _ => break,
                    }
                }
                Err(_) => break,
            }
        }
        copy_padded(&mut self.text, record);
        false
    }
}

/// Copies `record` into `text`, followed by the padding simd-json may read
/// past a document (so that it parses the copy in place, without a padded
/// copy of its own); returns the record's length.
fn copy_padded(text: &mut Vec<u8>, record: &[u8]) -> usize {
    text.clear();
    text.reserve(record.len() + simd_json::INPUT_PADDING);
    text.extend_from_slice(record);
    text.resize(record.len() + simd_json::INPUT_PADDING, b' ');
    record.len()
}

/// The most numbers past a double's range one record may hold before it
/// counts as invalid JSON (each costs a parse).
const MAX_OVERFLOWS: usize = 16;

/// The span of the number simd-json stopped at (`at`, a byte within or
/// just after it), when it is a number by JSON's grammar, standing as a
/// value, whose size is past a double's range.
fn overflowing_number(text: &[u8], at: usize) -> Option<(usize, usize)> {
    let is_number_byte = |b: &u8| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E');
    let at = at.min(text.len().checked_sub(1)?);
    let at = if is_number_byte(&text[at]) { at } else { at.checked_sub(1)? };
    let start = text[..at].iter().rposition(|b| !is_number_byte(b)).map_or(0, |i| i + 1);
    let end = text[at..].iter().position(|b| !is_number_byte(b)).map_or(text.len(), |i| at + i);
    let before = text[..start].iter().rev().find(|b| !is_space(**b));
    let after = text[end..].iter().find(|b| !is_space(**b));
    let stands_alone = matches!(before, Some(b':' | b'[' | b',')) && matches!(after, Some(b',' | b'}' | b']'));
    let number = std::str::from_utf8(&text[start..end]).ok()?;
    (stands_alone && is_json_number(number) && number.parse::<f64>().is_ok_and(f64::is_infinite))
        .then_some((start, end))
}

/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
fn is_json_number(s: &str) -> bool {
    let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let s = s.strip_prefix('-').unwrap_or(s);
    let int = digits(s);
    if int == 0 || (int > 1 && s.starts_with('0')) {
        return false;
    }
    let mut rest = &s[int..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = digits(frac);
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    if let Some(exp) = rest.strip_prefix(['e', 'E']) {
        let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        let n = digits(exp);
        return n > 0 && n == exp.len();
    }
    rest.is_empty()
}

/// What a parsed record's walk into the builders needs.
struct Walk<'a> {
    record: &'a [u8],
    options: &'a JsonOptions,
    null_bad_values: bool,
    /// Numbers past a double's range were masked as `null`.
    overflows: bool,
    max_depth: usize,
}

impl Walk<'_> {
    fn append(
        &self,
        parsed: simd_json::Result<()>,
        nodes: &[Node],
        structurals: &[u32],
        root: &mut Builder,
    ) -> std::result::Result<u64, RowError> {
        if let Err(e) = parsed {
            return Err(RowError::new(match e.error() {
                simd_json::ErrorType::InvalidUtf8 => ErrorKind::InvalidUtf8,
                simd_json::ErrorType::DepthLimitExceeded => ErrorKind::TooDeep { limit: self.max_depth },
                other => ErrorKind::JsonSyntax(format!("{other:?}")),
            }));
        }
        let Some(Node::Object { .. }) = nodes.first() else { return Err(RowError::new(ErrorKind::JsonShape)) };
        let nulled = Cell::new(0);
        let record = Record {
            nodes,
            text: self.record,
            structurals,
            options: self.options,
            null_bad_values: self.null_bad_values,
            overflows: self.overflows,
            nulled: &nulled,
        };
        root.append_row(&record).map(|()| nulled.get())
    }
}

fn trim_newline(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Why a row could not be appended, and in which column (a dotted path,
/// built only as the error travels up through the objects that hold it);
/// `also`: what else is wrong with the row, in the order met.
struct RowError {
    kind: ErrorKind,
    column: Option<String>,
    /// The value at fault, as JSON writes it (none: the record is shown).
    value: Option<String>,
    also: Vec<RowError>,
}

impl RowError {
    fn new(kind: ErrorKind) -> Self {
        RowError { kind, column: None, value: None, also: Vec::new() }
    }

    fn with_value(mut self, value: Option<String>) -> Self {
        self.value = value;
        self
    }

    /// The error as seen from the object that holds it under `key`.
    fn under(mut self, key: &str) -> Self {
        self.prefix(key);
        self.also.iter_mut().for_each(|e| e.prefix(key));
        self
    }

    fn prefix(&mut self, key: &str) {
        self.column = Some(match self.column.take() {
            None => key.to_string(),
            Some(inner) => format!("{key}.{inner}"),
        });
    }

    /// The first of `errors`, carrying the rest.
    fn joined(errors: Vec<RowError>) -> Option<RowError> {
        let mut all = errors.into_iter().flat_map(|mut e| {
            let also = std::mem::take(&mut e.also);
            std::iter::once(e).chain(also)
        });
        let mut first = all.next()?;
        first.also = all.collect();
        Some(first)
    }
}

/// One parsed record, as the walk into the builders sees it.
struct Record<'a> {
    nodes: &'a [Node<'a>],
    /// The record's bytes as read (the parse unescapes strings in a copy).
    text: &'a [u8],
    /// simd-json's structural indexes into `text`.
    structurals: &'a [u32],
    options: &'a JsonOptions,
    /// The null policy: a value that does not fit a nullable column is
    /// appended as null and counted in `nulled`.
    null_bad_values: bool,
    nulled: &'a Cell<u64>,
    /// Some `null` nodes stand for numbers past a double's range.
    overflows: bool,
}

impl<'a> Record<'a> {
    /// Whether `nodes[i]` is a JSON null (and not a number too large for
    /// the parser, masked as one).
    fn is_null(&self, i: usize) -> bool {
        matches!(self.nodes[i], Node::Static(StaticNode::Null)) && !self.is_overflow(i)
    }

    /// The scalar at `nodes[i]` as the record writes it (strings
    /// unescaped); `None` for an object or an array.
    fn value_text(&self, i: usize) -> Option<String> {
        match self.nodes[i] {
            Node::String(s) => Some(s.to_string()),
            Node::Static(StaticNode::Bool(b)) => Some(b.to_string()),
            Node::Static(StaticNode::Null) if !self.is_overflow(i) => Some("null".to_string()),
            Node::Static(_) => Some(String::from_utf8_lossy(self.number_text(i)).into_owned()),
            Node::Object { .. } | Node::Array { .. } => None,
        }
    }

    /// Whether `nodes[i]` is a number past a double's range, masked.
    fn is_overflow(&self, i: usize) -> bool {
        self.overflows && matches!(self.nodes[i], Node::Static(StaticNode::Null)) && !self.number_text(i).is_empty()
    }

    /// The text of the number at `nodes[i]`, for the few values a tape
    /// number does not hold exactly (every digit of a decimal, an integer
    /// past 64 bits). The tape has one node for each structural index that
    /// starts a value (`{`, `[`, a string's opening quote, a scalar's first
    /// byte), in order; closing brackets, `:` and `,` have none. A walk of
    /// the record's structurals, so only for those rare values.
    fn number_text(&self, i: usize) -> &'a [u8] {
        let text = self.text;
        let start = self
            .structurals
            .iter()
            .map(|&at| at as usize)
            .filter(|&at| text.get(at).is_some_and(|b| !matches!(b, b'}' | b']' | b':' | b',')))
            .nth(i)
            .expect("every tape node starts at a structural index");
        let len = text[start..]
            .iter()
            .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
            .unwrap_or(text.len() - start);
        &text[start..start + len]
    }
}

/// A builder for one JSON value of a schema type.
pub(super) enum Builder {
    Scalar { builder: ColumnBuilder, data_type: DataType, nullable: bool },
    Struct { fields: Fields, children: Vec<Builder>, nulls: NullBufferBuilder },
    List { item: FieldRef, offsets: Vec<i32>, child: Box<Builder>, nulls: NullBufferBuilder },
}

/// The number of nodes the value at `nodes[i]` spans.
fn width(nodes: &[Node], i: usize) -> usize {
    match nodes[i] {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        _ => 1,
    }
}

impl Builder {
    fn root(schema: &Schema, rows: usize, bytes: usize) -> Builder {
        let fields: Fields = schema.arrow().fields().clone();
        let children = schema.columns.iter().map(|c| Builder::new(c, rows, bytes)).collect();
        Builder::Struct { fields, children, nulls: NullBufferBuilder::new(0) }
    }

    fn new(column: &Column, rows: usize, bytes: usize) -> Builder {
        match &column.data_type {
            DataType::Struct(fields) => Builder::Struct {
                children: fields.iter().map(|f| Builder::new(&child_column(f), rows, bytes)).collect(),
                fields: fields.clone(),
                nulls: NullBufferBuilder::new(rows),
            },
            DataType::List(item) => Builder::List {
                child: Box::new(Builder::new(&child_column(item), rows, bytes)),
                item: Arc::clone(item),
                offsets: {
                    let mut o = Vec::with_capacity(rows + 1);
                    o.push(0);
                    o
                },
                nulls: NullBufferBuilder::new(rows),
            },
            t => Builder::Scalar {
                builder: ColumnBuilder::new(column, rows, bytes),
                data_type: t.clone(),
                nullable: column.nullable,
            },
        }
    }

    /// Appends a top-level object as one row: every schema column gets a value
    /// or a null.
    fn append_row(&mut self, record: &Record) -> std::result::Result<(), RowError> {
        let Builder::Struct { fields, children, .. } = self else { unreachable!("the root is a struct") };
        append_object(children, fields, record, 0)
    }

    fn append(&mut self, record: &Record, i: usize) -> std::result::Result<(), RowError> {
        let nodes = record.nodes;
        if record.is_null(i) {
            self.append_null();
            return Ok(());
        }
        match self {
            Builder::Scalar { builder, data_type, nullable } => {
                match append_scalar(builder, Scalar::of(record, i), || record.number_text(i)) {
                    Ok(()) => Ok(()),
                    // The null policy mends a value that does not fit.
                    Err(_) if *nullable && record.null_bad_values => {
                        builder.append_null();
                        record.nulled.set(record.nulled.get() + 1);
                        Ok(())
                    }
                    Err(e) => Err(RowError::new(scalar_error(e, data_type)).with_value(record.value_text(i))),
                }
            }
            Builder::Struct { fields, children, nulls } => {
                if !matches!(nodes[i], Node::Object { .. }) {
                    let expected = type_name(&DataType::Struct(fields.clone()));
                    return Err(RowError::new(ErrorKind::Parse { expected }).with_value(record.value_text(i)));
                }
                append_object(children, fields, record, i)?;
                nulls.append_non_null();
                Ok(())
            }
            Builder::List { item, offsets, child, nulls } => {
                let Node::Array { len, .. } = nodes[i] else {
                    let expected = type_name(&DataType::List(Arc::clone(item)));
                    return Err(RowError::new(ErrorKind::Parse { expected }).with_value(record.value_text(i)));
                };
                let mut j = i + 1;
                for _ in 0..len {
                    if !item.is_nullable() && record.is_null(j) {
                        return Err(RowError::new(ErrorKind::NullInNonNullable));
                    }
                    child.append(record, j)?;
                    j += width(nodes, j);
                }
                let last = *offsets.last().expect("offsets start with 0");
                offsets.push(last + len as i32);
                nulls.append_non_null();
                Ok(())
            }
        }
    }

    fn append_null(&mut self) {
        match self {
            Builder::Scalar { builder, .. } => builder.append_null(),
            Builder::Struct { children, nulls, .. } => {
                // A null struct still has a slot in every child.
                children.iter_mut().for_each(Builder::append_null);
                nulls.append_null();
            }
            Builder::List { offsets, nulls, .. } => {
                let last = *offsets.last().expect("offsets start with 0");
                offsets.push(last);
                nulls.append_null();
            }
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            Builder::Scalar { builder, .. } => builder.finish(),
            Builder::Struct { fields, children, mut nulls } => {
                let arrays = children.into_iter().map(Builder::finish).collect();
                Arc::new(StructArray::new(fields, arrays, nulls.finish()))
            }
            Builder::List { item, offsets, child, mut nulls } => {
                let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
                Arc::new(ListArray::new(item, offsets, child.finish(), nulls.finish()))
            }
        }
    }

    fn finish_columns(self) -> Vec<ArrayRef> {
        match self {
            Builder::Struct { children, .. } => children.into_iter().map(Builder::finish).collect(),
            _ => unreachable!("the root is a struct"),
        }
    }
}

fn child_column(field: &Field) -> Column {
    Column::new(field.name(), field.data_type().clone(), field.is_nullable())
}

/// Fills `children` (one per field of `fields`) from the object at
/// `nodes[i]`: a key the schema does not name is skipped (or refused), a
/// missing one is null.
fn append_object(
    children: &mut [Builder],
    fields: &Fields,
    record: &Record,
    i: usize,
) -> std::result::Result<(), RowError> {
    let nodes = record.nodes;
    let Node::Object { len, .. } = nodes[i] else { unreachable!("checked by the caller") };
    // Which columns the object gave; on the stack for the usual widths.
    let (mut few, mut many);
    let seen: &mut [bool] = if children.len() <= 64 {
        few = [false; 64];
        &mut few[..children.len()]
    } else {
        many = vec![false; children.len()];
        &mut many
    };
    let mut unknown = UnknownKeys::default();
    // Objects mostly give their keys in the schema's order: the column
    // after the last one found is tried first, so a key costs one compare.
    let mut next = 0;
    // Every problem of the object is listed; a row with any is not kept,
    // so the builders' state after the first no longer matters.
    let mut errors = Vec::new();
    let mut j = i + 1;
    for _ in 0..len {
        let Node::String(key) = nodes[j] else { unreachable!("object keys are strings") };
        let value = j + 1;
        let column = match fields.get(next) {
            Some(f) if same_key(f.name(), key) => Some(next),
            _ => fields.iter().position(|f| same_key(f.name(), key)),
        };
        if let Some(c) = column {
            next = c + 1;
        }
        let appended = match column {
            Some(c) if seen[c] => Err(RowError::new(ErrorKind::DuplicateKey)),
            Some(c) if !fields[c].is_nullable() && record.is_null(value) => {
                seen[c] = true;
                Err(RowError::new(ErrorKind::NullInNonNullable))
            }
            Some(c) => {
                seen[c] = true;
                children[c].append(record, value)
            }
            None if record.options.unknown_fields_are_errors => Err(RowError::new(ErrorKind::UnknownField)),
            None if !unknown.insert(key) => Err(RowError::new(ErrorKind::DuplicateKey)),
            None => Ok(()),
        };
        if let Err(e) = appended {
            errors.push(e.under(key));
        }
        j = value + width(nodes, value);
    }
    for (c, child) in children.iter_mut().enumerate() {
        if !seen[c] {
            if !fields[c].is_nullable() {
                errors.push(RowError::new(ErrorKind::NullInNonNullable).under(fields[c].name()));
            }
            child.append_null();
        }
    }
    RowError::joined(errors).map_or(Ok(()), Err)
}

/// Whether two keys are equal, compared inline: keys are short, and a
/// call to `memcmp` per key cost more than the comparison itself.
#[inline]
fn same_key(a: &str, b: &str) -> bool {
    same_bytes(a.as_bytes(), b.as_bytes())
}

/// [`same_key`] on bytes (keys as records write them, literals).
#[inline]
pub(super) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    match a.len() {
        0 => true,
        n @ 1..=7 => {
            let (mut x, mut y) = (0u64, 0u64);
            for i in 0..n {
                x |= (a[i] as u64) << (8 * i);
                y |= (b[i] as u64) << (8 * i);
            }
            x == y
        }
        n => {
            // Whole words, then the last eight bytes (which may overlap).
            (0..n / 8).all(|w| word(a, w * 8) == word(b, w * 8)) && word(a, n - 8) == word(b, n - 8)
        }
    }
}

/// The keys of one object that the schema does not name, to refuse one
/// given twice: a short list, and a set past that (no quadratic cost on a
/// huge object).
#[derive(Default)]
struct UnknownKeys<'a> {
    few: Vec<&'a str>,
    many: Option<HashSet<&'a str>>,
}

impl<'a> UnknownKeys<'a> {
    const FEW: usize = 16;

    /// False when the key was there already.
    fn insert(&mut self, key: &'a str) -> bool {
        if let Some(many) = &mut self.many {
            return many.insert(key);
        }
        if self.few.contains(&key) {
            return false;
        }
        self.few.push(key);
        if self.few.len() > Self::FEW {
            self.many = Some(self.few.drain(..).collect());
        }
        true
    }
}

fn scalar_error(e: FieldError, data_type: &DataType) -> ErrorKind {
    match e {
        FieldError::Parse => ErrorKind::Parse { expected: type_name(data_type) },
        FieldError::Utf8 => ErrorKind::InvalidUtf8,
    }
}

/// A JSON value as a scalar column takes it: what simd-json's tape holds
/// for it (an integer is `U64` when it has no sign and `I64` when it has
/// one, as simd-json reads them). [`super::flat`] makes the same values.
#[derive(Debug, Clone, Copy)]
pub(super) enum Scalar<'a> {
    Str(&'a str),
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    /// A number past a double's range (masked before the parse).
    Overflow,
    /// An object or an array, which no scalar column takes.
    Nested,
}

impl<'a> Scalar<'a> {
    /// The scalar at `nodes[i]` of a parsed record, not a JSON null.
    fn of(record: &Record<'a>, i: usize) -> Scalar<'a> {
        if record.is_overflow(i) {
            return Scalar::Overflow;
        }
        match record.nodes[i] {
            Node::String(s) => Scalar::Str(s),
            Node::Static(StaticNode::Bool(b)) => Scalar::Bool(b),
            Node::Static(StaticNode::I64(v)) => Scalar::I64(v),
            Node::Static(StaticNode::U64(v)) => Scalar::U64(v),
            Node::Static(StaticNode::F64(v)) => Scalar::F64(v),
            Node::Static(StaticNode::Null) | Node::Object { .. } | Node::Array { .. } => Scalar::Nested,
        }
    }
}

/// One JSON scalar into a typed builder. Numbers go into any numeric column
/// they fit exactly; strings are parsed as CSV fields are (so timestamps,
/// dates and decimals come as strings); numbers and booleans into a string
/// column are written as JSON writes them. `number_text` gives a number's
/// text as the record writes it, for the few values its double does not
/// hold exactly.
///
/// An integer past the 64-bit range is on the tape as the nearest double
/// (simd-json's `big-int-as-float`): whole and at least 2^63 in size, so no
/// integer column takes it, a float column takes the nearest value, and a
/// decimal or string column reads its digits from the text.
pub(super) fn append_scalar<'t>(
    builder: &mut ColumnBuilder,
    scalar: Scalar<'_>,
    number_text: impl FnOnce() -> &'t [u8],
) -> std::result::Result<(), FieldError> {
    use ColumnBuilder as B;
    if let Scalar::Overflow = scalar {
        // Past a double's range: only a string column takes it, as written.
        let B::Str(b) = builder else { return Err(FieldError::Parse) };
        b.append_value(std::str::from_utf8(number_text()).map_err(|_| FieldError::Parse)?);
        return Ok(());
    }
    macro_rules! int {
        ($b:expr, $t:ty) => {{
            let v: $t = match scalar {
                Scalar::I64(v) => <$t>::try_from(v).map_err(|_| FieldError::Parse)?,
                Scalar::U64(v) => <$t>::try_from(v).map_err(|_| FieldError::Parse)?,
                Scalar::F64(f) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
                    <$t>::try_from(f as i64).map_err(|_| FieldError::Parse)?
                }
                Scalar::Str(s) => return builder.append(s.as_bytes(), true),
                _ => return Err(FieldError::Parse),
            };
            $b.append_value(v);
            Ok(())
        }};
    }
    macro_rules! float {
        ($b:expr, $t:ty) => {{
            let v = match scalar {
                Scalar::I64(v) => v as $t,
                Scalar::U64(v) => v as $t,
                Scalar::F64(v) => v as $t,
                Scalar::Str(s) => return builder.append(s.as_bytes(), true),
                _ => return Err(FieldError::Parse),
            };
            $b.append_value(v);
            Ok(())
        }};
    }
    match builder {
        B::I8(b) => int!(b, i8),
        B::I16(b) => int!(b, i16),
        B::I32(b) => int!(b, i32),
        B::I64(b) => int!(b, i64),
        B::U8(b) => int!(b, u8),
        B::U16(b) => int!(b, u16),
        B::U32(b) => int!(b, u32),
        B::U64(b) => int!(b, u64),
        B::F32(b) => float!(b, f32),
        B::F64(b) => float!(b, f64),
        B::Bool(b) => match scalar {
            Scalar::Bool(v) => {
                b.append_value(v);
                Ok(())
            }
            Scalar::Str(s) => builder.append(s.as_bytes(), true),
            _ => Err(FieldError::Parse),
        },
        B::Str(b) => {
            match scalar {
                Scalar::Str(s) => b.append_value(s),
                Scalar::Bool(v) => b.append_value(if v { "true" } else { "false" }),
                Scalar::F64(v) if is_wide_integer(v) => {
                    let text = number_text();
                    if text.iter().all(|b| b.is_ascii_digit() || *b == b'-') {
                        // SAFETY: ASCII digits and a sign.
                        b.append_value(unsafe { std::str::from_utf8_unchecked(text) });
                    } else {
                        b.append_value(v.to_string());
                    }
                }
                Scalar::I64(v) => b.append_value(v.to_string()),
                Scalar::U64(v) => b.append_value(v.to_string()),
                Scalar::F64(v) => b.append_value(v.to_string()),
                Scalar::Overflow | Scalar::Nested => return Err(FieldError::Parse),
            }
            Ok(())
        }
        B::Decimal { builder: b, precision, scale } => {
            let v = match scalar {
                Scalar::Str(s) => return builder.append(s.as_bytes(), true),
                Scalar::I64(v) => decimal_from_int(v as i128, *precision, *scale),
                Scalar::U64(v) => decimal_from_int(v as i128, *precision, *scale),
                Scalar::F64(_) => parse_decimal_number(number_text(), *precision, *scale),
                _ => None,
            };
            b.append_value(v.ok_or(FieldError::Parse)?);
            Ok(())
        }
        B::Date { .. } | B::Timestamp { .. } => match scalar {
            Scalar::Str(s) => builder.append(s.as_bytes(), true),
            _ => Err(FieldError::Parse),
        },
    }
}

/// A double that can only have come from an integer literal past the i64
/// and u64 ranges (or a float literal as large and whole).
fn is_wide_integer(v: f64) -> bool {
    // 2^63, exactly: i64::MIN converts without rounding.
    v.fract() == 0.0 && v.abs() >= -(i64::MIN as f64)
}

/// A whole number as a decimal: `v` times ten to the scale, within the
/// precision, as [`parse_decimal`](super::value::parse_decimal) reads its digits.
fn decimal_from_int(v: i128, precision: u8, scale: i8) -> Option<i128> {
    let v = v.checked_mul(10i128.checked_pow(scale as u32)?)?;
    (v.unsigned_abs() < 10u128.pow(precision as u32)).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_equal_only_when_every_byte_does() {
        let keys =
            ["", "a", "b", "ab", "abcdefg", "abcdefh", "abcdefgh", "abcdefgi", "abcdefghi", "bbcdefghi", "é", "e"];
        for a in keys {
            for b in keys {
                assert_eq!(same_key(a, b), a == b, "{a:?} {b:?}");
            }
        }
        let long: String = "k".repeat(40);
        for i in 0..40 {
            let mut other = long.clone().into_bytes();
            other[i] = b'x';
            assert!(!same_key(&long, std::str::from_utf8(&other).unwrap()), "byte {i}");
        }
        assert!(same_key(&long, &long.clone()));
    }

    #[test]
    fn number_text_finds_the_node_in_the_record() {
        let text = br#"{"a" : [1, "x,]:y", {"b": -2.50e+3}], "c":true,"d" :  18446744073709551616 , "e": {}}"#;
        let mut copy = text.to_vec();
        let mut buffers = simd_json::Buffers::new(copy.len());
        let mut tape = Tape::null();
        simd_json::fill_tape(&mut copy, &mut buffers, &mut tape).unwrap();
        let record = Record {
            nodes: &tape.0,
            text,
            structurals: buffers.structural_indexes(),
            options: &JsonOptions::default(),
            null_bad_values: false,
            nulled: &Cell::new(0),
            overflows: false,
        };
        let numbers: Vec<&[u8]> = (0..tape.0.len())
            .filter(
                |&i| matches!(tape.0[i], Node::Static(s) if s != StaticNode::Null && !matches!(s, StaticNode::Bool(_))),
            )
            .map(|i| record.number_text(i))
            .collect();
        assert_eq!(numbers, [&b"1"[..], b"-2.50e+3", b"18446744073709551616"]);
    }

    #[test]
    fn width_spans_nested_values() {
        let mut line = br#"{"a":[1,{"b":2}],"c":3}"#.to_vec();
        let tape = simd_json::to_tape(&mut line).unwrap();
        let nodes = &tape.0;
        assert_eq!(width(nodes, 0), nodes.len());
        // "a" at 1, its array at 2: [1, {"b": 2}] is 1 + 1 + (1 + 2) nodes.
        assert_eq!(width(nodes, 2), 5);
        assert!(matches!(nodes[7], Node::String("c")));
    }
}
