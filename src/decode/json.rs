//! NDJSON chunk to `RecordBatch`, with simd-json: each line is parsed into a
//! tape (a flat list of nodes, no document per row) and the tape is walked
//! straight into the column builders. Only the columns the schema names are
//! visited; other keys are skipped by their node count, whatever their depth.

use std::sync::Arc;

use arrow_array::{ArrayRef, ListArray, RecordBatch, StructArray};
use arrow_buffer::{NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, FieldRef, Fields, SchemaRef};
use simd_json::tape::{Node, Tape};
use simd_json::StaticNode;

use super::{ColumnBuilder, FieldError};
use crate::error::{show_value, Error, ErrorKind, Result};
use crate::spec::{type_name, Column, JsonOptions, Schema};
use crate::split::Chunk;

/// Decodes NDJSON chunks into batches of one schema.
pub struct JsonDecoder {
    schema: Schema,
    arrow: SchemaRef,
    options: JsonOptions,
}

impl JsonDecoder {
    pub fn new(schema: &Schema, options: &JsonOptions) -> Result<Self> {
        Ok(JsonDecoder { schema: schema.clone(), arrow: schema.arrow(), options: options.clone() })
    }

    pub fn arrow_schema(&self) -> &SchemaRef {
        &self.arrow
    }

    /// Decodes a chunk of whole lines. Blank lines are skipped. Errors carry
    /// the line, byte offset, column and value; the record index is
    /// relative to the chunk.
    pub fn decode(&self, chunk: &Chunk) -> Result<RecordBatch> {
        let data = &chunk.data[..];
        let max_rows = bytecount::count(data, b'\n') + 1;
        let mut root = Builder::root(&self.schema, max_rows, data.len() / 4);
        let mut line_buf: Vec<u8> = Vec::new();
        let mut buffers = simd_json::Buffers::default();
        let mut tape_store: Option<Tape<'static>> = Some(Tape::null());
        let (mut pos, mut record) = (0usize, 0u64);
        while pos < data.len() {
            let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i + 1);
            let line = &data[pos..end];
            let start = pos;
            pos = end;
            if line.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let located = |kind: ErrorKind, column: Option<String>, value: &[u8]| {
                let mut loc = chunk.location(start, record);
                loc.column = column;
                loc.value = Some(show_value(value));
                Error::new(kind).at(loc)
            };
            line_buf.clear();
            line_buf.extend_from_slice(line);
            let mut tape = tape_store.take().expect("the tape is returned after each line").reset();
            if let Err(e) = simd_json::fill_tape(&mut line_buf, &mut buffers, &mut tape) {
                let kind = match e.error() {
                    simd_json::ErrorType::InvalidUtf8 => ErrorKind::InvalidUtf8,
                    other => ErrorKind::JsonSyntax(format!("{other:?}")),
                };
                return Err(located(kind, None, trim_newline(line)));
            }
            let nodes = &tape.0;
            let outcome = match nodes.first() {
                Some(Node::Object { .. }) => root.append_row(nodes, &self.options),
                _ => Err(RowError { kind: ErrorKind::JsonShape, column: None }),
            };
            tape_store = Some(tape.reset());
            if let Err(e) = outcome {
                return Err(located(e.kind, e.column, trim_newline(line)));
            }
            record += 1;
        }
        let columns = root.finish_columns();
        RecordBatch::try_new(Arc::clone(&self.arrow), columns).map_err(Error::encode)
    }
}

fn trim_newline(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Why a row could not be appended, and in which column (a dotted path,
/// built only as the error travels up through the objects that hold it).
struct RowError {
    kind: ErrorKind,
    column: Option<String>,
}

impl RowError {
    fn new(kind: ErrorKind) -> Self {
        RowError { kind, column: None }
    }

    /// The error as seen from the object that holds it under `key`.
    fn under(mut self, key: &str) -> Self {
        self.column = Some(match self.column {
            None => key.to_string(),
            Some(inner) => format!("{key}.{inner}"),
        });
        self
    }
}

/// A builder for one JSON value of a schema type.
enum Builder {
    Scalar { builder: ColumnBuilder, data_type: DataType },
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
            t => Builder::Scalar { builder: ColumnBuilder::new(column, rows, bytes), data_type: t.clone() },
        }
    }

    /// Appends a top-level object as one row: every schema column gets a value
    /// or a null.
    fn append_row(&mut self, nodes: &[Node], options: &JsonOptions) -> std::result::Result<(), RowError> {
        let Builder::Struct { fields, children, .. } = self else { unreachable!("the root is a struct") };
        append_object(children, fields, nodes, 0, options)
    }

    fn append(&mut self, nodes: &[Node], i: usize, options: &JsonOptions) -> std::result::Result<(), RowError> {
        if matches!(nodes[i], Node::Static(StaticNode::Null)) {
            self.append_null();
            return Ok(());
        }
        match self {
            Builder::Scalar { builder, data_type } => {
                append_scalar(builder, data_type, &nodes[i]).map_err(|e| RowError::new(scalar_error(e, data_type)))
            }
            Builder::Struct { fields, children, nulls } => {
                if !matches!(nodes[i], Node::Object { .. }) {
                    let expected = type_name(&DataType::Struct(fields.clone()));
                    return Err(RowError::new(ErrorKind::Parse { expected }));
                }
                append_object(children, fields, nodes, i, options)?;
                nulls.append_non_null();
                Ok(())
            }
            Builder::List { item, offsets, child, nulls } => {
                let Node::Array { len, .. } = nodes[i] else {
                    let expected = type_name(&DataType::List(Arc::clone(item)));
                    return Err(RowError::new(ErrorKind::Parse { expected }));
                };
                let mut j = i + 1;
                for _ in 0..len {
                    if !item.is_nullable() && matches!(nodes[j], Node::Static(StaticNode::Null)) {
                        return Err(RowError::new(ErrorKind::NullInNonNullable));
                    }
                    child.append(nodes, j, options)?;
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
    nodes: &[Node],
    i: usize,
    options: &JsonOptions,
) -> std::result::Result<(), RowError> {
    let Node::Object { len, .. } = nodes[i] else { unreachable!("checked by the caller") };
    let mut seen = vec![false; children.len()];
    let mut j = i + 1;
    for _ in 0..len {
        let Node::String(key) = nodes[j] else { unreachable!("object keys are strings") };
        let value = j + 1;
        match fields.iter().position(|f| f.name() == key) {
            Some(c) => {
                if seen[c] {
                    return Err(RowError::new(ErrorKind::DuplicateKey).under(key));
                }
                seen[c] = true;
                if !fields[c].is_nullable() && matches!(nodes[value], Node::Static(StaticNode::Null)) {
                    return Err(RowError::new(ErrorKind::NullInNonNullable).under(key));
                }
                children[c].append(nodes, value, options).map_err(|e| e.under(key))?;
            }
            None if options.unknown_fields_are_errors => {
                return Err(RowError::new(ErrorKind::UnknownField).under(key));
            }
            None => {}
        }
        j = value + width(nodes, value);
    }
    for (c, child) in children.iter_mut().enumerate() {
        if !seen[c] {
            if !fields[c].is_nullable() {
                return Err(RowError::new(ErrorKind::NullInNonNullable).under(fields[c].name()));
            }
            child.append_null();
        }
    }
    Ok(())
}

fn scalar_error(e: FieldError, data_type: &DataType) -> ErrorKind {
    match e {
        FieldError::Parse => ErrorKind::Parse { expected: type_name(data_type) },
        FieldError::Utf8 => ErrorKind::InvalidUtf8,
    }
}

/// One JSON scalar into a typed builder. Numbers go into any numeric column
/// they fit exactly; strings are parsed as CSV fields are (so timestamps,
/// dates and decimals come as strings); numbers and booleans into a string
/// column are written as JSON writes them.
fn append_scalar(
    builder: &mut ColumnBuilder,
    data_type: &DataType,
    node: &Node,
) -> std::result::Result<(), FieldError> {
    use ColumnBuilder as B;
    macro_rules! int {
        ($b:expr, $t:ty) => {{
            let v: $t = match node {
                Node::Static(StaticNode::I64(v)) => <$t>::try_from(*v).map_err(|_| FieldError::Parse)?,
                Node::Static(StaticNode::U64(v)) => <$t>::try_from(*v).map_err(|_| FieldError::Parse)?,
                Node::Static(StaticNode::F64(f)) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
                    <$t>::try_from(*f as i64).map_err(|_| FieldError::Parse)?
                }
                Node::String(s) => return builder.append(s.as_bytes(), true),
                _ => return Err(FieldError::Parse),
            };
            $b.append_value(v);
            Ok(())
        }};
    }
    let number_text = |node: &Node| -> Option<String> {
        match node {
            Node::Static(StaticNode::I64(v)) => Some(v.to_string()),
            Node::Static(StaticNode::U64(v)) => Some(v.to_string()),
            Node::Static(StaticNode::F64(v)) => Some(v.to_string()),
            _ => None,
        }
    };
    match builder {
        B::I8(b) => int!(b, i8),
        B::I16(b) => int!(b, i16),
        B::I32(b) => int!(b, i32),
        B::I64(b) => int!(b, i64),
        B::U8(b) => int!(b, u8),
        B::U16(b) => int!(b, u16),
        B::U32(b) => int!(b, u32),
        B::U64(b) => int!(b, u64),
        B::F32(b) => match node {
            Node::Static(StaticNode::I64(v)) => {
                b.append_value(*v as f32);
                Ok(())
            }
            Node::Static(StaticNode::U64(v)) => {
                b.append_value(*v as f32);
                Ok(())
            }
            Node::Static(StaticNode::F64(v)) => {
                b.append_value(*v as f32);
                Ok(())
            }
            Node::String(s) => builder.append(s.as_bytes(), true),
            _ => Err(FieldError::Parse),
        },
        B::F64(b) => match node {
            Node::Static(StaticNode::I64(v)) => {
                b.append_value(*v as f64);
                Ok(())
            }
            Node::Static(StaticNode::U64(v)) => {
                b.append_value(*v as f64);
                Ok(())
            }
            Node::Static(StaticNode::F64(v)) => {
                b.append_value(*v);
                Ok(())
            }
            Node::String(s) => builder.append(s.as_bytes(), true),
            _ => Err(FieldError::Parse),
        },
        B::Bool(b) => match node {
            Node::Static(StaticNode::Bool(v)) => {
                b.append_value(*v);
                Ok(())
            }
            Node::String(s) => builder.append(s.as_bytes(), true),
            _ => Err(FieldError::Parse),
        },
        B::Str(b) => match node {
            Node::String(s) => {
                b.append_value(s);
                Ok(())
            }
            Node::Static(StaticNode::Bool(v)) => {
                b.append_value(if *v { "true" } else { "false" });
                Ok(())
            }
            n => {
                let text = number_text(n).ok_or(FieldError::Parse)?;
                b.append_value(text);
                Ok(())
            }
        },
        B::Decimal { .. } | B::Date { .. } | B::Timestamp { .. } => match node {
            Node::String(s) => builder.append(s.as_bytes(), true),
            n if matches!(data_type, DataType::Decimal128(..)) => {
                let text = number_text(n).ok_or(FieldError::Parse)?;
                builder.append(text.as_bytes(), true)
            }
            _ => Err(FieldError::Parse),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
