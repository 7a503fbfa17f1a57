//! Per-column constraints, as Frictionless Table Schema writes them:
//!
//! ```json
//! {"name": "amount", "type": "decimal(10,2)", "constraints": {"minimum": 0, "maximum": "99999.99"}}
//! ```
//!
//! Plain data: bounds and allowed values are parsed as the column's type when
//! the schema is read, so a bound that does not fit the column is a spec
//! error before any data is read. [`crate::validate::Validator`] turns them
//! into checks over decoded batches.

use std::cmp::Ordering;

use arrow_schema::DataType;
use serde::Deserialize;

use super::schema::{type_name, Column};
use crate::decode::value::{parse_bool, parse_date, parse_decimal, parse_float, parse_int, TimestampParser};

/// What a column's values must satisfy besides their type. Nulls satisfy
/// every constraint but `required`. Default: none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Constraints {
    /// A null is a violation. Unlike `nullable: false`, which the decoder
    /// enforces and which stops the run, this is reported per row by the
    /// validator, and the column stays nullable in the output.
    pub required: bool,
    /// The smallest value allowed (inclusive): numbers, dates, timestamps.
    pub minimum: Option<Literal>,
    /// The largest value allowed (inclusive): numbers, dates, timestamps.
    pub maximum: Option<Literal>,
    /// The fewest characters in a string (Unicode scalar values) or items in a list.
    pub min_length: Option<usize>,
    /// The most characters in a string (Unicode scalar values) or items in a list.
    pub max_length: Option<usize>,
    /// A regular expression (`regex` crate syntax) a whole string must match:
    /// it is anchored at both ends, as in Frictionless.
    pub pattern: Option<String>,
    /// `enum` in the file: the only values allowed.
    pub allowed: Option<Vec<Literal>>,
}

impl Constraints {
    pub fn is_empty(&self) -> bool {
        *self == Constraints::default()
    }

    /// The pattern as the regex that is run: anchored at both ends.
    pub fn anchored_pattern(&self) -> Option<String> {
        self.pattern.as_ref().map(|p| format!("^(?:{p})$"))
    }

    /// Checks that each constraint applies to the column's type and that its
    /// values are of that type. The message names the constraint.
    pub(crate) fn check(&self, column: &Column) -> Result<(), String> {
        let t = &column.data_type;
        let tn = type_name(t);
        for (name, bound) in [("minimum", &self.minimum), ("maximum", &self.maximum)] {
            if let Some(b) = bound {
                applies(name, t)?;
                if !b.value.fits(t) {
                    return Err(format!("{name} {:?} does not fit {tn}", b.text));
                }
                if matches!(b.value, Value::Float(f) if f.is_nan()) {
                    return Err(format!("{name} is not a number"));
                }
            }
        }
        if let (Some(lo), Some(hi)) = (&self.minimum, &self.maximum) {
            if lo.value.partial_order(&hi.value) == Some(Ordering::Greater) {
                return Err(format!("minimum {} is greater than maximum {}", lo.text, hi.text));
            }
        }
        for (name, len) in [("min_length", self.min_length), ("max_length", self.max_length)] {
            if let Some(n) = len {
                applies(name, t)?;
                if n > i32::MAX as usize {
                    return Err(format!("{name} is larger than {}", i32::MAX));
                }
            }
        }
        if let (Some(lo), Some(hi)) = (self.min_length, self.max_length) {
            if lo > hi {
                return Err(format!("min_length {lo} is greater than max_length {hi}"));
            }
        }
        if let Some(p) = &self.pattern {
            applies("pattern", t)?;
            regex::Regex::new(&format!("^(?:{p})$"))
                .map_err(|e| format!("pattern {p:?} is not a valid regular expression: {e}"))?;
        }
        if let Some(values) = &self.allowed {
            applies("enum", t)?;
            if values.is_empty() {
                return Err("enum lists no values".into());
            }
            if let Some(v) = values.iter().find(|v| !v.value.fits(t)) {
                return Err(format!("enum value {:?} does not fit {tn}", v.text));
            }
        }
        Ok(())
    }
}

/// Whether the constraint `name` applies to columns of type `t`.
fn applies(name: &str, t: &DataType) -> Result<(), String> {
    let (ok, which) = match name {
        "minimum" | "maximum" => (is_ordered(t), "number, date and timestamp"),
        "min_length" | "max_length" => (matches!(t, DataType::Utf8 | DataType::List(_)), "string and list"),
        "pattern" => (*t == DataType::Utf8, "string"),
        _ => (
            is_ordered(t) || matches!(t, DataType::Utf8 | DataType::Boolean),
            "bool, number, string, date and timestamp",
        ),
    };
    match ok {
        true => Ok(()),
        false => Err(format!("{name} does not apply to {} columns (only to {which} columns)", type_name(t))),
    }
}

/// A bound or an allowed value: the text the schema gave and its value as
/// the column's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal {
    /// As written in the schema file (a JSON number as serde_json prints it).
    pub text: String,
    pub value: Value,
}

/// A value of a column's type, as the column's arrays store it.
#[derive(Debug, Clone)]
pub enum Value {
    Bool(bool),
    /// `int8` to `int64`.
    Int(i64),
    /// `uint8` to `uint64`.
    UInt(u64),
    /// `float32` and `float64`.
    Float(f64),
    /// The unscaled integer, at the column's scale.
    Decimal(i128),
    /// Days since 1970-01-01.
    Date(i32),
    /// In the column's unit since the epoch.
    Timestamp(i64),
    Str(String),
}

/// Floats compare by bits, so a `Value` (and so a `Column`) can be `Eq`.
impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::UInt(a), Value::UInt(b)) => a == b,
            (Value::Decimal(a), Value::Decimal(b)) => a == b,
            (Value::Date(a), Value::Date(b)) => a == b,
            (Value::Timestamp(a), Value::Timestamp(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl Value {
    /// Whether a column of type `t` can hold this value.
    pub fn fits(&self, t: &DataType) -> bool {
        match (self, t) {
            (Value::Bool(_), DataType::Boolean) => true,
            (Value::Int(v), DataType::Int8) => i8::try_from(*v).is_ok(),
            (Value::Int(v), DataType::Int16) => i16::try_from(*v).is_ok(),
            (Value::Int(v), DataType::Int32) => i32::try_from(*v).is_ok(),
            (Value::Int(_), DataType::Int64) => true,
            (Value::UInt(v), DataType::UInt8) => u8::try_from(*v).is_ok(),
            (Value::UInt(v), DataType::UInt16) => u16::try_from(*v).is_ok(),
            (Value::UInt(v), DataType::UInt32) => u32::try_from(*v).is_ok(),
            (Value::UInt(_), DataType::UInt64) => true,
            (Value::Float(_), DataType::Float32 | DataType::Float64) => true,
            (Value::Decimal(v), DataType::Decimal128(p, _)) => v.unsigned_abs() < 10u128.pow(*p as u32),
            (Value::Date(_), DataType::Date32) => true,
            (Value::Timestamp(_), DataType::Timestamp(..)) => true,
            (Value::Str(_), DataType::Utf8) => true,
            _ => false,
        }
    }

    fn partial_order(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
            (Value::UInt(a), Value::UInt(b)) => Some(a.cmp(b)),
            (Value::Float(a), Value::Float(b)) => Some(a.total_cmp(b)),
            (Value::Decimal(a), Value::Decimal(b)) => Some(a.cmp(b)),
            (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
            (Value::Timestamp(a), Value::Timestamp(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// Numbers, dates and timestamps: the types `minimum` and `maximum` apply to.
fn is_ordered(t: &DataType) -> bool {
    t.is_integer()
        || t.is_floating()
        || matches!(t, DataType::Decimal128(..) | DataType::Date32 | DataType::Timestamp(..))
}

/// The `constraints` object of a schema file column. Both spellings of the
/// lengths are accepted; any other key is an error, so a constraint
/// sluicegate does not check (`unique`, `exclusiveMinimum`) is never
/// silently ignored.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConstraintsFile {
    #[serde(default)]
    required: bool,
    minimum: Option<serde_json::Value>,
    maximum: Option<serde_json::Value>,
    #[serde(alias = "minLength")]
    min_length: Option<usize>,
    #[serde(alias = "maxLength")]
    max_length: Option<usize>,
    pattern: Option<String>,
    #[serde(rename = "enum")]
    allowed: Option<Vec<serde_json::Value>>,
}

/// Reads a column's `constraints` object, parsing bounds and allowed values
/// as the column's type. The column's own fields must already be set.
pub(crate) fn from_json(json: serde_json::Value, column: &Column) -> Result<Constraints, String> {
    let file: ConstraintsFile = serde_json::from_value(json).map_err(|e| format!("constraints are not valid: {e}"))?;
    let t = &column.data_type;
    for (name, given) in [
        ("minimum", file.minimum.is_some()),
        ("maximum", file.maximum.is_some()),
        ("min_length", file.min_length.is_some()),
        ("max_length", file.max_length.is_some()),
        ("pattern", file.pattern.is_some()),
        ("enum", file.allowed.is_some()),
    ] {
        if given {
            applies(name, t)?;
        }
    }
    let literal = |name: &str, v: &serde_json::Value| parse_literal(v, column).map_err(|m| format!("{name} {v}: {m}"));
    Ok(Constraints {
        required: file.required,
        minimum: file.minimum.as_ref().map(|v| literal("minimum", v)).transpose()?,
        maximum: file.maximum.as_ref().map(|v| literal("maximum", v)).transpose()?,
        min_length: file.min_length,
        max_length: file.max_length,
        pattern: file.pattern,
        allowed: file
            .allowed
            .map(|values| values.iter().map(|v| literal("enum value", v)).collect::<Result<Vec<_>, _>>())
            .transpose()?,
    })
}

/// A JSON number, string or boolean as a value of the column's type. Dates
/// and timestamps are ISO 8601, or in the column's `format`; decimals are
/// exact (a JSON number goes through its shortest printed form, so give
/// long decimals as strings).
fn parse_literal(v: &serde_json::Value, column: &Column) -> Result<Literal, String> {
    let t = &column.data_type;
    let text = match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) if !matches!(t, DataType::Utf8) => n.to_string(),
        serde_json::Value::Bool(b) if *t == DataType::Boolean => b.to_string(),
        _ if *t == DataType::Utf8 => return Err("is not a string".into()),
        _ => return Err(format!("is neither a number nor a string, so not {}", type_name(t))),
    };
    let s = text.as_bytes();
    let format = column.format.as_deref();
    let value = match t {
        DataType::Boolean => parse_bool(s).map(Value::Bool),
        DataType::Int8 => parse_int::<i8>(s).map(|v| Value::Int(v.into())),
        DataType::Int16 => parse_int::<i16>(s).map(|v| Value::Int(v.into())),
        DataType::Int32 => parse_int::<i32>(s).map(|v| Value::Int(v.into())),
        DataType::Int64 => parse_int::<i64>(s).map(Value::Int),
        DataType::UInt8 => parse_int::<u8>(s).map(|v| Value::UInt(v.into())),
        DataType::UInt16 => parse_int::<u16>(s).map(|v| Value::UInt(v.into())),
        DataType::UInt32 => parse_int::<u32>(s).map(|v| Value::UInt(v.into())),
        DataType::UInt64 => parse_int::<u64>(s).map(Value::UInt),
        DataType::Float32 => parse_float::<f32>(s).map(|v| Value::Float(v.into())),
        DataType::Float64 => parse_float::<f64>(s).map(Value::Float),
        DataType::Decimal128(p, sc) => parse_decimal(s, *p, *sc).map(Value::Decimal),
        DataType::Date32 => {
            parse_date(s, None).or_else(|| format.and_then(|f| parse_date(s, Some(f)))).map(Value::Date)
        }
        DataType::Timestamp(unit, tz) => TimestampParser::new(*unit, tz.as_deref(), None)
            .parse(s)
            .or_else(|| format.and_then(|f| TimestampParser::new(*unit, tz.as_deref(), Some(f.into())).parse(s)))
            .map(Value::Timestamp),
        DataType::Utf8 => Some(Value::Str(text.clone())),
        _ => None,
    };
    match value {
        Some(value) => Ok(Literal { text, value }),
        None => Err(format!("does not parse as {}", type_name(t))),
    }
}

#[cfg(test)]
mod tests {
    use arrow_schema::TimeUnit;

    use super::*;
    use crate::spec::Schema;

    fn column(schema: &str) -> Result<Column, String> {
        let text = format!(r#"{{"columns": [{schema}]}}"#);
        Schema::from_json(&text).map(|s| s.columns[0].clone()).map_err(|e| e.to_string())
    }

    fn lit(text: &str, value: Value) -> Option<Literal> {
        Some(Literal { text: text.into(), value })
    }

    #[test]
    fn bounds_are_parsed_as_the_column_type() {
        let c = column(r#"{"name": "a", "type": "decimal(10,2)", "constraints": {"minimum": 0, "maximum": "99.95"}}"#)
            .unwrap();
        assert_eq!(c.constraints.minimum, lit("0", Value::Decimal(0)));
        assert_eq!(c.constraints.maximum, lit("99.95", Value::Decimal(9995)));
        let c = column(r#"{"name": "a", "type": "decimal(10,2)", "constraints": {"minimum": 0.1}}"#).unwrap();
        assert_eq!(c.constraints.minimum, lit("0.1", Value::Decimal(10)), "a JSON number is exact too");

        let c = column(r#"{"name": "d", "type": "date32", "constraints": {"minimum": "2024-01-01"}}"#).unwrap();
        assert_eq!(c.constraints.minimum, lit("2024-01-01", Value::Date(19723)));
        let c = column(
            r#"{"name": "d", "type": "date32", "format": "%d/%m/%Y", "constraints": {"maximum": "02/01/1970"}}"#,
        )
        .unwrap();
        assert_eq!(c.constraints.maximum, lit("02/01/1970", Value::Date(1)), "the column's format is accepted");

        let c = column(
            r#"{"name": "t", "type": "timestamp[ms, tz=UTC]", "constraints": {"minimum": "1970-01-01T01:00:00+01:00"}}"#,
        )
        .unwrap();
        assert_eq!(c.constraints.minimum.unwrap().value, Value::Timestamp(0));

        let c = column(r#"{"name": "u", "type": "uint8", "constraints": {"maximum": 255, "enum": [1, "2"]}}"#).unwrap();
        assert_eq!(c.constraints.maximum, lit("255", Value::UInt(255)));
        let allowed: Vec<_> = c.constraints.allowed.unwrap().into_iter().map(|l| l.value).collect();
        assert_eq!(allowed, vec![Value::UInt(1), Value::UInt(2)]);

        let c = column(r#"{"name": "f", "type": "float32", "constraints": {"minimum": -1.5}}"#).unwrap();
        assert_eq!(c.constraints.minimum, lit("-1.5", Value::Float(-1.5)));
        let c = column(r#"{"name": "b", "type": "bool", "constraints": {"enum": [true]}}"#).unwrap();
        assert_eq!(c.constraints.allowed, Some(vec![Literal { text: "true".into(), value: Value::Bool(true) }]));
    }

    #[test]
    fn both_spellings_of_the_lengths() {
        let c = column(
            r#"{"name": "s", "type": "string", "constraints": {"minLength": 2, "max_length": 20, "required": true,
                "pattern": "[A-Z]{2}", "enum": ["AB", "CD"]}}"#,
        )
        .unwrap();
        let want = Constraints {
            required: true,
            min_length: Some(2),
            max_length: Some(20),
            pattern: Some("[A-Z]{2}".into()),
            allowed: Some(vec![
                Literal { text: "AB".into(), value: Value::Str("AB".into()) },
                Literal { text: "CD".into(), value: Value::Str("CD".into()) },
            ]),
            ..Constraints::default()
        };
        assert_eq!(c.constraints, want);
        assert_eq!(want.anchored_pattern().as_deref(), Some("^(?:[A-Z]{2})$"));
        assert!(c.nullable, "required is checked by the validator; the column stays nullable");
        let c = column(r#"{"name": "s", "type": "string", "constraints": {"min_length": 1, "maxLength": 3}}"#).unwrap();
        assert_eq!((c.constraints.min_length, c.constraints.max_length), (Some(1), Some(3)));
        assert!(column(r#"{"name": "s", "type": "string", "constraints": {}}"#).unwrap().constraints.is_empty());
    }

    #[test]
    fn constraints_that_do_not_fit_the_column_are_spec_errors() {
        let cases = [
            (
                r#"{"name": "n", "type": "int64", "constraints": {"pattern": "[0-9]+"}}"#,
                r#"invalid spec: column "n": pattern does not apply to int64 columns (only to string columns)"#,
            ),
            (
                r#"{"name": "b", "type": "bool", "constraints": {"minimum": 0}}"#,
                r#"invalid spec: column "b": minimum does not apply to bool columns (only to number, date and timestamp columns)"#,
            ),
            (
                r#"{"name": "n", "type": "int32", "constraints": {"maxLength": 3}}"#,
                r#"invalid spec: column "n": max_length does not apply to int32 columns (only to string and list columns)"#,
            ),
            (
                r#"{"name": "s", "type": "string", "constraints": {"pattern": "[A-Z"}}"#,
                r#"invalid spec: column "s": pattern "[A-Z" is not a valid regular expression"#,
            ),
            (
                r#"{"name": "n", "type": "int8", "constraints": {"enum": [1, "x"]}}"#,
                r#"invalid spec: column "n": enum value "x": does not parse as int8"#,
            ),
            (
                r#"{"name": "n", "type": "int8", "constraints": {"maximum": 300}}"#,
                r#"invalid spec: column "n": maximum 300: does not parse as int8"#,
            ),
            (
                r#"{"name": "d", "type": "decimal(5,2)", "constraints": {"minimum": "0.001"}}"#,
                r#"invalid spec: column "d": minimum "0.001": does not parse as decimal(5,2)"#,
            ),
            (
                r#"{"name": "d", "type": "date32", "constraints": {"minimum": "2024-02-30"}}"#,
                r#"invalid spec: column "d": minimum "2024-02-30": does not parse as date32"#,
            ),
            (
                r#"{"name": "s", "type": "string", "constraints": {"enum": [1]}}"#,
                r#"invalid spec: column "s": enum value 1: is not a string"#,
            ),
            (
                r#"{"name": "n", "type": "int64", "constraints": {"minimum": 5, "maximum": 4}}"#,
                r#"invalid spec: column "n": minimum 5 is greater than maximum 4"#,
            ),
            (
                r#"{"name": "s", "type": "string", "constraints": {"minLength": 5, "maxLength": 4}}"#,
                r#"invalid spec: column "s": min_length 5 is greater than max_length 4"#,
            ),
            (
                r#"{"name": "s", "type": "string", "constraints": {"unique": true}}"#,
                r#"invalid spec: column "s": constraints are not valid: unknown field `unique`"#,
            ),
            (
                r#"{"name": "s", "type": "string", "constraints": {"enum": []}}"#,
                r#"invalid spec: column "s": enum lists no values"#,
            ),
            (
                r#"{"name": "f", "type": "float64", "constraints": {"minimum": "nan"}}"#,
                r#"invalid spec: column "f": minimum is not a number"#,
            ),
            (
                r#"{"name": "l", "type": "list<int64>", "constraints": {"enum": [1]}}"#,
                r#"invalid spec: column "l": enum does not apply to list<int64> columns"#,
            ),
        ];
        for (schema, want) in cases {
            let err = column(schema).unwrap_err();
            assert!(err.starts_with(want), "{schema}\n got: {err}\nwant: {want}");
        }
    }

    #[test]
    fn constraints_built_in_code_are_checked_too() {
        let c = Column::new("n", DataType::Int8, true)
            .with_constraints(Constraints { maximum: lit("1000", Value::Int(1000)), ..Constraints::default() });
        let err = Schema::new(vec![c]).unwrap_err().to_string();
        assert_eq!(err, r#"invalid spec: column "n": maximum "1000" does not fit int8"#);
        let c = Column::new("t", DataType::Timestamp(TimeUnit::Millisecond, None), true)
            .with_constraints(Constraints { pattern: Some("x".into()), ..Constraints::default() });
        assert!(Schema::new(vec![c]).unwrap_err().to_string().contains("pattern does not apply"));
    }
}
