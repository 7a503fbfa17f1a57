//! NDJSON: each key's type from the sampled objects, keys in the order they
//! were first seen, nested objects as `struct<...>` and arrays as
//! `list<...>`. Scalars follow the same rules as CSV fields; JSON numbers
//! and bools go only where `convert` puts them.

use arrow_schema::{DataType, Field};
use bytes::Bytes;
use simd_json::tape::Node;
use simd_json::StaticNode;

use super::sample::Sample;
use super::scalar::ScalarStats;
use crate::error::{show_value, Error, ErrorKind, Location, Result};
use crate::spec::{parse_type, type_name, Column, Schema};
use crate::split::Chunk;

/// What the values at one place (a key, a list's items) look like so far.
enum Shape {
    /// Only nulls, or nothing.
    Unseen,
    Scalar(ScalarStats),
    Object(Object),
    List(Box<Shape>),
    /// Objects, arrays and scalars in one place: no column type takes them all.
    Mixed,
}

/// One key of an object.
struct Slot {
    name: String,
    shape: Shape,
    nulls: u64,
    present: u64,
}

/// The keys of the objects seen at one place.
#[derive(Default)]
struct Object {
    slots: Vec<Slot>,
    count: u64,
}

/// The number of tape nodes the value at `nodes[i]` spans.
fn width(nodes: &[Node], i: usize) -> usize {
    match nodes[i] {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        _ => 1,
    }
}

fn is_null(node: &Node) -> bool {
    matches!(node, Node::Static(StaticNode::Null))
}

impl Shape {
    /// Adds the value at `nodes[i]`, which is not null.
    fn add(&mut self, nodes: &[Node], i: usize) {
        match nodes[i] {
            Node::Object { .. } => {
                if let Shape::Unseen = self {
                    *self = Shape::Object(Object::default());
                }
                match self {
                    Shape::Object(o) => o.add(nodes, i),
                    _ => *self = Shape::Mixed,
                }
            }
            Node::Array { len, .. } => {
                if let Shape::Unseen = self {
                    *self = Shape::List(Box::new(Shape::Unseen));
                }
                match self {
                    Shape::List(item) => {
                        let mut j = i + 1;
                        for _ in 0..len {
                            if !is_null(&nodes[j]) {
                                item.add(nodes, j);
                            }
                            j += width(nodes, j);
                        }
                    }
                    _ => *self = Shape::Mixed,
                }
            }
            ref scalar => {
                if let Shape::Unseen = self {
                    *self = Shape::Scalar(ScalarStats::default());
                }
                let Shape::Scalar(s) = self else {
                    *self = Shape::Mixed;
                    return;
                };
                match scalar {
                    Node::String(t) => s.add_text(t.as_bytes()),
                    Node::Static(StaticNode::Bool(_)) => s.add_json_bool(),
                    Node::Static(StaticNode::I64(v)) => s.add_json_int(*v),
                    // simd-json gives non-negative integers as u64.
                    Node::Static(StaticNode::U64(v)) => match i64::try_from(*v) {
                        Ok(v) => s.add_json_int(v),
                        Err(_) => s.add_json_uint(),
                    },
                    Node::Static(StaticNode::F64(v)) => s.add_json_number(*v),
                    _ => {}
                }
            }
        }
    }

    /// The type, or `None` (with a note saying why) where none fits.
    fn data_type(&self, path: &str, notes: &mut Vec<String>) -> Option<DataType> {
        match self {
            Shape::Unseen => Some(DataType::Utf8),
            Shape::Scalar(s) => Some(s.data_type()),
            Shape::List(item) => {
                let t = item.data_type(&format!("{path}[]"), notes)?;
                Some(DataType::List(Field::new("item", t, true).into()))
            }
            Shape::Object(o) => {
                let fields: Vec<Field> = o
                    .slots
                    .iter()
                    .filter_map(|s| {
                        Some(Field::new(&s.name, s.shape.data_type(&format!("{path}.{}", s.name), notes)?, true))
                    })
                    .collect();
                if fields.is_empty() {
                    notes.push(format!("{path}: objects with no keys a type can hold; left out"));
                    return None;
                }
                Some(DataType::Struct(fields.into()))
            }
            Shape::Mixed => {
                notes.push(format!("{path}: mixes objects, arrays and scalars, which no type holds; left out"));
                None
            }
        }
    }
}

impl Object {
    fn add(&mut self, nodes: &[Node], i: usize) {
        let Node::Object { len, .. } = nodes[i] else { unreachable!("called on objects") };
        self.count += 1;
        let mut j = i + 1;
        for _ in 0..len {
            let Node::String(key) = nodes[j] else { unreachable!("object keys are strings") };
            let value = j + 1;
            let slot = match self.slots.iter().position(|s| s.name == key) {
                Some(k) => &mut self.slots[k],
                None => {
                    self.slots.push(Slot { name: key.to_string(), shape: Shape::Unseen, nulls: 0, present: 0 });
                    self.slots.last_mut().expect("just pushed")
                }
            };
            slot.present += 1;
            if is_null(&nodes[value]) {
                slot.nulls += 1;
            } else {
                slot.shape.add(nodes, value);
            }
            j = value + width(nodes, value);
        }
    }
}

/// What the NDJSON sample says.
pub(crate) struct Inferred {
    pub schema: Schema,
    pub rows: u64,
    /// The sampled lines, cut into line-aligned chunks.
    pub chunks: Vec<Chunk>,
    pub notes: Vec<String>,
}

pub(crate) fn infer(sample: &Sample, sample_rows: usize) -> Result<Inferred> {
    let per_window = (sample_rows / sample.windows.len()).max(1);
    let mut root = Object::default();
    let mut chunks = Vec::new();
    let mut rows = 0u64;
    let mut line_buf = Vec::new();
    for (seq, w) in sample.windows.iter().enumerate() {
        let data = &w.data[..];
        // A later window starts anywhere: its first line is cut, skip it.
        let start = match w.at_start {
            true => 0,
            false => match memchr::memchr(b'\n', data) {
                Some(i) => i + 1,
                None => continue,
            },
        };
        let (mut pos, mut taken) = (start, 0);
        while pos < data.len() && taken < per_window {
            let Some(end) = memchr::memchr(b'\n', &data[pos..]).map(|i| pos + i + 1).or(w.at_end.then_some(data.len()))
            else {
                break;
            };
            let line = &data[pos..end];
            let at = pos;
            pos = end;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let located = |kind: ErrorKind| {
                let line_no = 1 + bytecount::count(&data[..at], b'\n') as u64;
                let value = Some(show_value(line.strip_suffix(b"\n").unwrap_or(line)));
                let loc = Location { line: line_no, byte: w.offset + at as u64, record: 0, column: None, value };
                Error::new(kind).at(loc)
            };
            line_buf.clear();
            line_buf.extend_from_slice(line);
            let tape = simd_json::to_tape(&mut line_buf).map_err(|e| {
                located(match e.error() {
                    simd_json::ErrorType::InvalidUtf8 => ErrorKind::InvalidUtf8,
                    other => ErrorKind::JsonSyntax(format!("{other:?}")),
                })
            })?;
            if !matches!(tape.0.first(), Some(Node::Object { .. })) {
                return Err(located(ErrorKind::JsonShape));
            }
            root.add(&tape.0, 0);
            taken += 1;
        }
        rows += taken as u64;
        if pos > start {
            let line = 1 + bytecount::count(&data[..start], b'\n') as u64;
            chunks.push(Chunk::new(
                seq as u64,
                w.offset + start as u64,
                line,
                Bytes::copy_from_slice(&data[start..pos]),
            ));
        }
    }
    if root.count == 0 {
        return Err(Error::spec("the input has no JSON objects to infer a schema from"));
    }
    let mut notes = Vec::new();
    let mut columns = Vec::new();
    for slot in &root.slots {
        let Some(t) = slot.shape.data_type(&slot.name, &mut notes) else { continue };
        // Nested field names must survive the type's spelling (`struct<a: ...>`).
        if parse_type(&type_name(&t)).as_ref() != Ok(&t) {
            notes.push(format!("{}: a nested key cannot be written in the type syntax; left out", slot.name));
            continue;
        }
        let nullable = slot.nulls > 0 || slot.present < root.count || !sample.whole_input;
        columns.push(Column::new(&slot.name, t, nullable));
    }
    if columns.is_empty() {
        return Err(Error::spec(format!("no key has a type a column can hold: {}", notes.join("; "))));
    }
    Ok(Inferred { schema: Schema::new(columns)?, rows, chunks, notes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Source;

    fn infer_text(text: &str) -> Inferred {
        let sample = super::super::sample::sample(Source::from_bytes("t", text.as_bytes().to_vec()), 1 << 20).unwrap();
        infer(&sample, usize::MAX).unwrap()
    }

    fn types(i: &Inferred) -> Vec<(String, String, bool)> {
        i.schema.columns.iter().map(|c| (c.name.clone(), type_name(&c.data_type), c.nullable)).collect()
    }

    #[test]
    fn keys_in_first_seen_order_with_nested_types() {
        let i = infer_text(concat!(
            r#"{"id": 1, "price": "12.50", "tags": ["a"], "at": {"city": "Oslo", "zip": 150}}"#,
            "\n",
            r#"{"id": 2, "price": "3.10", "tags": [], "at": null, "ok": true}"#,
            "\n\n",
            r#"{"id": 3, "price": "0.99", "tags": null, "at": {"zip": 7, "geo": [1.5, 2]}, "ok": false}"#,
            "\n",
        ));
        assert_eq!(
            types(&i),
            [
                ("id".into(), "int64".into(), false),
                ("price".into(), "decimal(12,2)".into(), false),
                ("tags".into(), "list<string>".into(), true),
                ("at".into(), "struct<city: string, zip: int64, geo: list<float64>>".into(), true),
                ("ok".into(), "bool".into(), true),
            ]
        );
        assert_eq!(i.rows, 3);
    }

    #[test]
    fn a_key_no_type_holds_is_left_out_with_a_note() {
        let i = infer_text("{\"a\": 1, \"b\": [1]}\n{\"a\": 2, \"b\": 3}\n");
        assert_eq!(types(&i), [("a".into(), "int64".into(), false)]);
        assert!(i.notes[0].starts_with("b: mixes"), "{:?}", i.notes);
    }

    #[test]
    fn bad_lines_are_errors_with_their_place() {
        let sample = super::super::sample::sample(Source::from_bytes("t", &b"{\"a\":1}\n[1]\n"[..]), 1 << 20).unwrap();
        let err = infer(&sample, usize::MAX).err().unwrap();
        assert_eq!(err.to_string(), "line 2, byte 8, record 0: JSON record is not an object: \"[1]\"");
    }
}
