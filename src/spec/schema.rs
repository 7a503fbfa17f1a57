//! The schema file: which columns a record has, their types and nullability.
//!
//! ```json
//! {"columns": [
//!   {"name": "event_id", "type": "int64", "nullable": false},
//!   {"name": "unit_price", "type": "decimal(12,2)"},
//!   {"name": "event_ts", "type": "timestamp[ms, tz=UTC]"},
//!   {"name": "local_ts", "type": "timestamp[s]", "format": "%d/%m/%Y %H:%M"}
//! ]}
//! ```
//!
//! `fields` is accepted as a synonym of `columns`; keys this file does not
//! know (such as `note`) are ignored. Type names are Arrow's, as pyarrow
//! prints them. A column may have `constraints` (see [`Constraints`]).
//!
//! A Frictionless Table Schema is read too: a file whose `fields` all have
//! Frictionless type names (`integer`, `number`, `datetime`, ...) has them
//! mapped to Arrow types (see `frictionless.rs`).

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema as ArrowSchema, SchemaRef, TimeUnit};
use serde::Deserialize;

use super::constraints::{self, Constraints};
use super::frictionless;
use crate::error::{Error, Result};

/// One column of the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub data_type: DataType,
    pub nullable: bool,
    /// A chrono format for date and timestamp columns whose values are not
    /// ISO 8601, e.g. `%d/%m/%Y %H:%M`.
    pub format: Option<String>,
    /// What the values must satisfy besides their type. Default: nothing.
    pub constraints: Constraints,
}

impl Column {
    pub fn new(name: impl Into<String>, data_type: DataType, nullable: bool) -> Self {
        Column { name: name.into(), data_type, nullable, format: None, constraints: Constraints::default() }
    }

    pub fn with_format(mut self, format: impl Into<String>) -> Self {
        self.format = Some(format.into());
        self
    }

    pub fn with_constraints(mut self, constraints: Constraints) -> Self {
        self.constraints = constraints;
        self
    }
}

/// The columns of a record, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub columns: Vec<Column>,
}

#[derive(Deserialize)]
struct SchemaFile {
    columns: Option<Vec<ColumnFile>>,
    fields: Option<Vec<ColumnFile>>,
    /// Frictionless: field texts read as null.
    #[serde(rename = "missingValues")]
    missing_values: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct ColumnFile {
    name: String,
    #[serde(rename = "type")]
    type_name: Option<String>,
    #[serde(default = "default_nullable")]
    nullable: bool,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    constraints: Option<serde_json::Value>,
}

impl SchemaFile {
    fn parse(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::spec(format!("schema file is not valid: {e}")))
    }
}

fn default_nullable() -> bool {
    true
}

impl Schema {
    pub fn new(columns: Vec<Column>) -> Result<Self> {
        if columns.is_empty() {
            return Err(Error::spec("the schema has no columns"));
        }
        for (i, c) in columns.iter().enumerate() {
            if columns[..i].iter().any(|o| o.name == c.name) {
                return Err(Error::spec(format!("column {:?} appears twice in the schema", c.name)));
            }
            if c.format.is_some() && !matches!(c.data_type, DataType::Date32 | DataType::Timestamp(..)) {
                return Err(Error::spec(format!(
                    "column {:?}: a format applies only to date and timestamp columns",
                    c.name
                )));
            }
            c.constraints.check(c).map_err(|m| Error::spec(format!("column {:?}: {m}", c.name)))?;
        }
        Ok(Schema { columns })
    }

    /// Every column a nullable string, named by `names` (a CSV header).
    pub fn all_strings<S: AsRef<str>>(names: &[S]) -> Result<Self> {
        Schema::new(names.iter().map(|n| Column::new(n.as_ref(), DataType::Utf8, true)).collect())
    }

    /// Reads a schema file's JSON text: sluicegate's own, or a Frictionless
    /// Table Schema.
    pub fn from_json(text: &str) -> Result<Self> {
        let file = SchemaFile::parse(text)?;
        let (list, is_fields) = match (file.columns, file.fields) {
            (Some(c), None) => (c, false),
            (None, Some(f)) => (f, true),
            (Some(_), Some(_)) => return Err(Error::spec("the schema file has both `columns` and `fields`")),
            (None, None) => return Err(Error::spec("the schema file has no `columns` (or `fields`) list")),
        };
        let is_frictionless =
            is_fields && list.iter().all(|c| c.type_name.as_deref().is_none_or(frictionless::is_type));
        let mut columns = Vec::with_capacity(list.len());
        for c in list {
            let in_column = |m: String| Error::spec(format!("column {:?}: {m}", c.name));
            let (data_type, format) = if is_frictionless {
                frictionless::column_type(c.type_name.as_deref(), c.format.as_deref()).map_err(in_column)?
            } else {
                let name = c.type_name.as_deref().ok_or_else(|| in_column("has no type".into()))?;
                let data_type = parse_type(name).map_err(|m| match frictionless::is_type(name) {
                    true => in_column(format!(
                        "{name:?} is a Frictionless type name, but other columns have Arrow type names; \
                         a schema file uses one kind or the other"
                    )),
                    false => in_column(m),
                })?;
                (data_type, c.format.clone())
            };
            let mut column = Column::new(c.name.clone(), data_type, c.nullable);
            column.format = format;
            if let Some(json) = c.constraints {
                column.constraints = constraints::from_json(json, &column).map_err(in_column)?;
            }
            columns.push(column);
        }
        Schema::new(columns)
    }

    /// The `missingValues` of a Frictionless Table Schema file (the field
    /// texts read as null, for [`crate::spec::CsvOptions::null_markers`]),
    /// when it has them.
    pub fn null_markers_from_json(text: &str) -> Result<Option<Vec<String>>> {
        Ok(SchemaFile::parse(text)?.missing_values)
    }

    /// Reads a schema file.
    pub fn from_path(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        Schema::from_json(&text).map_err(|e| match e.kind() {
            crate::ErrorKind::Spec(m) => Error::spec(format!("{}: {m}", path.display())),
            _ => e,
        })
    }

    pub fn arrow(&self) -> SchemaRef {
        Arc::new(ArrowSchema::new(
            self.columns.iter().map(|c| Field::new(&c.name, c.data_type.clone(), c.nullable)).collect::<Vec<_>>(),
        ))
    }

    pub fn len(&self) -> usize {
        self.columns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }
}

/// Parses an Arrow type name as pyarrow prints it (`int64`, `decimal(12,2)`,
/// `timestamp[ms, tz=UTC]`), with a few common aliases.
pub fn parse_type(name: &str) -> std::result::Result<DataType, String> {
    let n = name.trim();
    let lower = n.to_ascii_lowercase();
    if let Some(inner) = strip_call(n, &["list", "large_list"], '<', '>') {
        // pyarrow prints `list<item: string>`; `list<string>` is accepted too.
        let inner = inner.trim();
        let (item_name, item) = match split_name(inner) {
            Some((name, t)) if !name.contains(['<', '(', '[']) => (name, t),
            _ => ("item", inner),
        };
        let (item, nullable) = strip_not_null(item);
        let item = parse_type(item)?;
        return Ok(DataType::List(Arc::new(Field::new(item_name, item, nullable))));
    }
    if let Some(inner) = strip_call(n, &["struct"], '<', '>') {
        let mut fields = Vec::new();
        for part in split_top_level(inner).into_iter().filter(|p| !p.trim().is_empty()) {
            let (name, t) = split_name(part).ok_or_else(|| format!("struct field {part:?} is not `name: type`"))?;
            if fields.iter().any(|f: &Field| f.name() == name) {
                return Err(format!("struct field {name:?} appears twice"));
            }
            let (t, nullable) = strip_not_null(t);
            fields.push(Field::new(name, parse_type(t)?, nullable));
        }
        if fields.is_empty() {
            return Err("a struct needs at least one field".into());
        }
        return Ok(DataType::Struct(fields.into()));
    }
    let t = match lower.as_str() {
        "bool" | "boolean" => DataType::Boolean,
        "int8" => DataType::Int8,
        "int16" => DataType::Int16,
        "int32" => DataType::Int32,
        "int64" | "int" | "integer" => DataType::Int64,
        "uint8" => DataType::UInt8,
        "uint16" => DataType::UInt16,
        "uint32" => DataType::UInt32,
        "uint64" => DataType::UInt64,
        "float32" | "float" => DataType::Float32,
        "float64" | "double" => DataType::Float64,
        "string" | "utf8" | "str" | "large_string" | "large_utf8" => DataType::Utf8,
        "date32" | "date32[day]" | "date" => DataType::Date32,
        _ => {
            if let Some(args) = strip_call(&lower, &["decimal128", "decimal"], '(', ')') {
                return parse_decimal(args);
            }
            if lower == "timestamp" {
                return Ok(DataType::Timestamp(TimeUnit::Microsecond, None));
            }
            if let Some(args) = strip_call(n, &["timestamp", "Timestamp", "TIMESTAMP"], '[', ']') {
                return parse_timestamp(args);
            }
            return Err(format!(
                "unknown type {name:?} (expected bool, int8..int64, uint8..uint64, float32, float64, \
                 decimal(p,s), string, date32 or timestamp[unit, tz=ZONE])"
            ));
        }
    };
    Ok(t)
}

/// `name: type` into its parts.
fn split_name(s: &str) -> Option<(&str, &str)> {
    let (name, t) = s.split_once(':')?;
    let name = name.trim().trim_matches('"');
    (!name.is_empty()).then_some((name, t.trim()))
}

/// pyarrow's ` not null` suffix, as a nullability.
fn strip_not_null(t: &str) -> (&str, bool) {
    match t.trim().strip_suffix("not null") {
        Some(rest) => (rest.trim(), false),
        None => (t.trim(), true),
    }
}

/// Splits on commas that are not inside `<>`, `()` or `[]`.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn strip_call<'a>(s: &'a str, heads: &[&str], open: char, close: char) -> Option<&'a str> {
    heads.iter().find_map(|h| s.strip_prefix(h)?.trim_start().strip_prefix(open)?.strip_suffix(close))
}

fn parse_decimal(args: &str) -> std::result::Result<DataType, String> {
    let mut parts = args.split(',').map(str::trim);
    let p: u8 = parts.next().and_then(|p| p.parse().ok()).ok_or("decimal needs a precision")?;
    let s: i8 = parts.next().map_or(Ok(0), |s| s.parse().map_err(|_| "decimal scale is not a number"))?;
    if parts.next().is_some() {
        return Err("decimal takes (precision, scale)".into());
    }
    if !(1..=38).contains(&p) || s < 0 || s as u8 > p {
        return Err(format!("decimal({p},{s}) is out of range: precision 1..=38, scale 0..=precision"));
    }
    Ok(DataType::Decimal128(p, s))
}

fn parse_timestamp(args: &str) -> std::result::Result<DataType, String> {
    let mut parts = args.splitn(2, ',').map(str::trim);
    let unit = match parts.next().unwrap_or("").to_ascii_lowercase().as_str() {
        // Parquet has no seconds unit (arrow-rs would write a bare INT64);
        // like pyarrow, store seconds as milliseconds.
        "s" => TimeUnit::Millisecond,
        "ms" => TimeUnit::Millisecond,
        "us" => TimeUnit::Microsecond,
        "ns" => TimeUnit::Nanosecond,
        u => return Err(format!("unknown timestamp unit {u:?} (expected s, ms, us or ns)")),
    };
    let tz = match parts.next() {
        None => None,
        Some(rest) => {
            let tz = rest.strip_prefix("tz=").ok_or("timestamp options must be tz=ZONE")?.trim();
            tz.parse::<arrow_array::timezone::Tz>().map_err(|e| format!("unknown time zone {tz:?}: {e}"))?;
            Some(Arc::from(tz))
        }
    };
    Ok(DataType::Timestamp(unit, tz))
}

/// The name of a type as the schema file writes it (pyarrow's spelling).
pub fn type_name(t: &DataType) -> String {
    match t {
        DataType::Boolean => "bool".into(),
        DataType::Utf8 => "string".into(),
        DataType::Decimal128(p, s) => format!("decimal({p},{s})"),
        DataType::Timestamp(u, tz) => {
            let unit = match u {
                TimeUnit::Second => "s",
                TimeUnit::Millisecond => "ms",
                TimeUnit::Microsecond => "us",
                TimeUnit::Nanosecond => "ns",
            };
            match tz {
                Some(tz) => format!("timestamp[{unit}, tz={tz}]"),
                None => format!("timestamp[{unit}]"),
            }
        }
        DataType::List(item) => format!("list<{}>", type_name(item.data_type())),
        DataType::Struct(fields) => format!(
            "struct<{}>",
            fields.iter().map(|f| format!("{}: {}", f.name(), type_name(f.data_type()))).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string().to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_type_names_pyarrow_prints() {
        assert_eq!(parse_type("int64"), Ok(DataType::Int64));
        assert_eq!(parse_type("uint32"), Ok(DataType::UInt32));
        assert_eq!(parse_type("decimal(12,2)"), Ok(DataType::Decimal128(12, 2)));
        assert_eq!(parse_type("decimal128(38, 10)"), Ok(DataType::Decimal128(38, 10)));
        assert_eq!(
            parse_type("timestamp[ms, tz=UTC]"),
            Ok(DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())))
        );
        assert_eq!(
            parse_type("timestamp[us, tz=America/New_York]"),
            Ok(DataType::Timestamp(TimeUnit::Microsecond, Some("America/New_York".into())))
        );
        assert_eq!(parse_type("timestamp[ns]"), Ok(DataType::Timestamp(TimeUnit::Nanosecond, None)));
        assert_eq!(parse_type("timestamp[s]"), Ok(DataType::Timestamp(TimeUnit::Millisecond, None)));
        assert_eq!(parse_type("date32[day]"), Ok(DataType::Date32));
        let item = |t: DataType| DataType::List(Arc::new(Field::new("item", t, true)));
        assert_eq!(parse_type("list<string>"), Ok(item(DataType::Utf8)));
        assert_eq!(parse_type("list<item: int64>"), Ok(item(DataType::Int64)));
        assert_eq!(
            parse_type("struct<city: string, zip: int32 not null, at: timestamp[ms, tz=UTC]>"),
            Ok(DataType::Struct(
                vec![
                    Field::new("city", DataType::Utf8, true),
                    Field::new("zip", DataType::Int32, false),
                    Field::new("at", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), true),
                ]
                .into()
            ))
        );
        assert_eq!(
            parse_type("list<struct<sku: string, price: decimal(10,2)>>"),
            Ok(item(DataType::Struct(
                vec![Field::new("sku", DataType::Utf8, true), Field::new("price", DataType::Decimal128(10, 2), true)]
                    .into()
            )))
        );
    }

    #[test]
    fn rejects_bad_types_with_a_reason() {
        assert!(parse_type("decimal(40,2)").unwrap_err().contains("out of range"));
        assert!(parse_type("timestamp[h]").unwrap_err().contains("unit"));
        assert!(parse_type("timestamp[s, tz=Mars/Base]").unwrap_err().contains("time zone"));
        assert!(parse_type("varchar").unwrap_err().contains("unknown type"));
    }

    #[test]
    fn reads_the_benchmark_schema_as_it_is() {
        let text = r#"{"name": "x", "columns": [
            {"name": "a", "type": "uint32", "nullable": false, "note": "ignored"},
            {"name": "b", "type": "timestamp[ms, tz=UTC]", "nullable": false, "source": "ignored"},
            {"name": "c", "type": "string"}]}"#;
        let s = Schema::from_json(text).unwrap();
        assert_eq!(s.columns.len(), 3);
        assert!(!s.columns[0].nullable);
        assert!(s.columns[2].nullable, "nullable defaults to true");
    }

    #[test]
    fn duplicate_columns_are_a_spec_error() {
        let err =
            Schema::from_json(r#"{"columns":[{"name":"a","type":"int8"},{"name":"a","type":"int8"}]}"#).unwrap_err();
        assert!(err.to_string().contains("appears twice"), "{err}");
    }
}
