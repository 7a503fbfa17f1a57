//! Constraints over decoded batches: one boolean mask per constraint from
//! Arrow kernels, and rows are visited only where a mask says a value
//! breaks a constraint. When nothing does, a check costs a few vectorised
//! passes over each column.
//!
//! ```
//! use arrow_array::{Int64Array, RecordBatch};
//! use sluicegate::spec::Schema;
//! use sluicegate::validate::Validator;
//!
//! let schema = Schema::from_json(r#"{"columns": [
//!     {"name": "qty", "type": "int64", "constraints": {"minimum": 1}}]}"#)?;
//! let validator = Validator::new(&schema)?;
//! let batch = RecordBatch::try_new(schema.arrow(), vec![std::sync::Arc::new(Int64Array::from(vec![3, 0]))]).unwrap();
//! let mut violations = Vec::new();
//! validator.check(&batch, &mut violations);
//! assert_eq!(violations.len(), 1);
//! assert_eq!((violations[0].row, violations[0].kind.to_string().as_str()), (1, "value violates constraint minimum 1"));
//! # Ok::<(), sluicegate::Error>(())
//! ```

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::temporal_conversions::as_datetime;
use arrow_array::types::{
    Date32Type, Decimal128Type, DecimalType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type,
    UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int16Array, Int32Array,
    Int64Array, Int8Array, RecordBatch, Scalar, StringArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, TimestampSecondArray, UInt16Array, UInt32Array, UInt64Array, UInt8Array,
};
use arrow_buffer::{BooleanBuffer, ScalarBuffer};
use arrow_ord::cmp;
use arrow_schema::{DataType, TimeUnit};
use regex::Regex;
use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::{Anchored, MatchKind};

use crate::error::{show_value, Error, ErrorKind, Result};
use crate::spec::{Column, Schema, Value};

/// One value that breaks one constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The row in the batch, 0-based.
    pub row: usize,
    /// The column's index in the schema.
    pub column: usize,
    /// Always [`ErrorKind::Constraint`], naming the constraint.
    pub kind: ErrorKind,
    /// The value as text (empty for a null; strings cut to 200 bytes).
    pub value: String,
}

/// A schema's constraints, compiled once (regexes included) and checked
/// against any number of batches.
#[derive(Debug)]
pub struct Validator {
    columns: Vec<ColumnChecks>,
}

#[derive(Debug)]
struct ColumnChecks {
    /// The column's index in the schema and so in the batch.
    index: usize,
    data_type: DataType,
    checks: Vec<Check>,
}

#[derive(Debug)]
struct Check {
    /// What [`ErrorKind::Constraint`] names: `minimum 0`, `enum`, ...
    label: String,
    test: Test,
}

/// What makes a value break the constraint.
#[derive(Debug)]
enum Test {
    Null,
    Below(Scalar<ArrayRef>),
    Above(Scalar<ArrayRef>),
    Shorter(i32),
    Longer(i32),
    Mismatch(Matcher),
    NotInStrings(Matcher),
    NotIn(Vec<Scalar<ArrayRef>>),
}

impl Validator {
    /// Compiles the constraints of `schema`, which [`Schema::new`] has
    /// already checked.
    pub fn new(schema: &Schema) -> Result<Self> {
        let mut columns = Vec::new();
        for (index, column) in schema.columns.iter().enumerate() {
            let checks = compile(column).map_err(|m| Error::spec(format!("column {:?}: {m}", column.name)))?;
            if !checks.is_empty() {
                columns.push(ColumnChecks { index, data_type: column.data_type.clone(), checks });
            }
        }
        Ok(Validator { columns })
    }

    /// Whether no column has a constraint, so checking can be skipped.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Appends to `out` every value of `batch` that breaks a constraint,
    /// sorted by row, then column (then constraint, in the order
    /// `required`, `minimum`, `maximum`, `min_length`, `max_length`,
    /// `pattern`, `enum`). Nulls break only `required`.
    ///
    /// # Panics
    ///
    /// If `batch` does not have the schema's columns and types (it was not
    /// decoded with the schema this validator was built from).
    pub fn check(&self, batch: &RecordBatch, out: &mut Vec<Violation>) {
        let start = out.len();
        for col in &self.columns {
            let array = batch.column(col.index);
            assert_eq!(array.data_type(), &col.data_type, "column {} has the schema's type", col.index);
            let mut lengths: Option<Int32Array> = None;
            for check in &col.checks {
                let Some(bad) = violations(array, &check.test, &mut lengths) else { continue };
                let kind = ErrorKind::Constraint { constraint: check.label.clone() };
                out.extend(bad.set_indices().map(|row| Violation {
                    row,
                    column: col.index,
                    kind: kind.clone(),
                    value: render(array.as_ref(), row),
                }));
            }
        }
        out[start..].sort_by_key(|v| (v.row, v.column));
    }
}

/// The checks for one column, in the order they are reported.
fn compile(column: &Column) -> std::result::Result<Vec<Check>, String> {
    let c = &column.constraints;
    let t = &column.data_type;
    let mut checks = Vec::new();
    if c.required {
        checks.push(Check { label: "required".into(), test: Test::Null });
    }
    if let Some(b) = &c.minimum {
        checks.push(Check { label: format!("minimum {}", b.text), test: Test::Below(scalar(t, &b.value)?) });
    }
    if let Some(b) = &c.maximum {
        checks.push(Check { label: format!("maximum {}", b.text), test: Test::Above(scalar(t, &b.value)?) });
    }
    let length = |n: usize| i32::try_from(n).map_err(|_| format!("length {n} is too large"));
    if let Some(n) = c.min_length {
        checks.push(Check { label: format!("min_length {n}"), test: Test::Shorter(length(n)?) });
    }
    if let Some(n) = c.max_length {
        checks.push(Check { label: format!("max_length {n}"), test: Test::Longer(length(n)?) });
    }
    if let (Some(p), Some(anchored)) = (&c.pattern, c.anchored_pattern()) {
        let matcher = Matcher::new(&anchored)
            .or_else(|| Regex::new(&anchored).ok().map(Matcher::Regex))
            .ok_or_else(|| format!("pattern {p:?} is not a valid regular expression"))?;
        checks.push(Check { label: format!("pattern {p}"), test: Test::Mismatch(matcher) });
    }
    if let Some(values) = &c.allowed {
        let test = match t {
            DataType::Utf8 => {
                let strings = values
                    .iter()
                    .map(|v| match &v.value {
                        Value::Str(s) => Ok(s.as_str()),
                        _ => Err(format!("enum value {:?} is not a string", v.text)),
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                let alternation = strings.iter().map(|s| regex::escape(s)).collect::<Vec<_>>().join("|");
                let matcher = Matcher::new(&format!("^(?:{alternation})$"))
                    .unwrap_or_else(|| Matcher::Set(strings.iter().map(|s| (*s).into()).collect()));
                Test::NotInStrings(matcher)
            }
            _ => Test::NotIn(values.iter().map(|v| scalar(t, &v.value)).collect::<std::result::Result<_, _>>()?),
        };
        checks.push(Check { label: "enum".into(), test });
    }
    Ok(checks)
}

/// The rows of `array` that fail `test`, or `None` when no row does.
/// `lengths` keeps a string or list column's lengths between its checks.
fn violations(array: &ArrayRef, test: &Test, lengths: &mut Option<Int32Array>) -> Option<BooleanBuffer> {
    const KERNEL: &str = "the scalar has the column's type";
    match test {
        Test::Null => {
            let nulls = array.logical_nulls()?;
            (nulls.null_count() > 0).then(|| !nulls.inner())
        }
        Test::Below(bound) => valid_trues(cmp::lt(array, bound).expect(KERNEL)),
        Test::Above(bound) => valid_trues(cmp::gt(array, bound).expect(KERNEL)),
        Test::Shorter(n) => {
            let lengths = lengths.get_or_insert_with(|| lengths_of(array.as_ref()));
            valid_trues(cmp::lt(lengths, &Int32Array::new_scalar(*n)).expect(KERNEL))
        }
        Test::Longer(n) => {
            let lengths = lengths.get_or_insert_with(|| lengths_of(array.as_ref()));
            valid_trues(cmp::gt(lengths, &Int32Array::new_scalar(*n)).expect(KERNEL))
        }
        Test::Mismatch(matcher) | Test::NotInStrings(matcher) => {
            let strings = array.as_string::<i32>();
            none_if_clear(string_mask(strings, |s| !matcher.is_match(s)))
        }
        Test::NotIn(allowed) => {
            let mut found = BooleanBuffer::new_unset(array.len());
            for value in allowed {
                found |= cmp::eq(array, value).expect(KERNEL).values();
            }
            let mut bad = !&found;
            if let Some(nulls) = array.logical_nulls() {
                bad = &bad & nulls.inner();
            }
            none_if_clear(bad)
        }
    }
}

/// Whether a whole string matches: a pattern, or one of an enum's strings.
///
/// Values are short and many, so the fixed cost of a search matters more
/// than its speed per byte: a precompiled dense DFA walked byte by byte
/// costs about a nanosecond a byte and nothing per call, where
/// `Regex::is_match` costs tens of nanoseconds a call. Patterns whose DFA
/// would be large (or that it cannot run, such as Unicode word boundaries)
/// use the `regex` crate; enums too large for a DFA, a hash set.
#[derive(Debug)]
enum Matcher {
    Dfa { dfa: Box<dense::DFA<Vec<u32>>>, start: StateID },
    Regex(Regex),
    Set(HashSet<Box<str>>),
}

impl Matcher {
    /// Largest DFA built for one constraint (bytes): a pattern's or a
    /// hundred-value enum's DFA is far smaller; past this the `regex` crate's
    /// lazy DFA is as good.
    const DFA_BYTES: usize = 1 << 20;

    /// A DFA for `anchored` (a regex anchored at both ends), when it builds
    /// within [`Self::DFA_BYTES`].
    fn new(anchored: &str) -> Option<Self> {
        let config = dense::Config::new()
            .start_kind(StartKind::Anchored)
            .match_kind(MatchKind::All)
            .dfa_size_limit(Some(Self::DFA_BYTES))
            .determinize_size_limit(Some(Self::DFA_BYTES));
        let dfa = dense::Builder::new().configure(config).build(anchored).ok()?;
        let start = dfa.start_state(&start::Config::new().anchored(Anchored::Yes)).ok()?;
        Some(Matcher::Dfa { dfa: Box::new(dfa), start })
    }

    #[inline]
    fn is_match(&self, s: &str) -> bool {
        match self {
            Matcher::Dfa { dfa, start } => {
                let mut state = *start;
                for &b in s.as_bytes() {
                    state = dfa.next_state(state, b);
                    if dfa.is_dead_state(state) {
                        return false;
                    }
                }
                dfa.is_match_state(dfa.next_eoi_state(state))
            }
            Matcher::Regex(regex) => regex.is_match(s),
            Matcher::Set(set) => set.contains(s),
        }
    }
}

/// The true values of a comparison, nulls excluded; `None` when there are none.
fn valid_trues(mask: BooleanArray) -> Option<BooleanBuffer> {
    if mask.true_count() == 0 {
        return None;
    }
    let (values, nulls) = mask.into_parts();
    Some(match nulls {
        Some(nulls) => &values & nulls.inner(),
        None => values,
    })
}

fn none_if_clear(mask: BooleanBuffer) -> Option<BooleanBuffer> {
    (mask.count_set_bits() > 0).then_some(mask)
}

/// Which non-null strings `bad` says break the constraint.
fn string_mask(strings: &StringArray, bad: impl Fn(&str) -> bool) -> BooleanBuffer {
    match strings.nulls() {
        Some(nulls) => BooleanBuffer::collect_bool(strings.len(), |i| nulls.is_valid(i) && bad(strings.value(i))),
        None => BooleanBuffer::collect_bool(strings.len(), |i| bad(strings.value(i))),
    }
}

/// Lengths in characters of a string column (Unicode scalar values, as
/// Frictionless counts them) or in items of a list column.
fn lengths_of(array: &dyn Array) -> Int32Array {
    if let Some(strings) = array.as_string_opt::<i32>() {
        let offsets = strings.value_offsets();
        let (first, last) = (offsets[0] as usize, offsets[strings.len()] as usize);
        if !strings.value_data()[first..last].is_ascii() {
            let counts: Vec<i32> =
                (0..strings.len()).map(|i| bytecount::num_chars(strings.value(i).as_bytes()) as i32).collect();
            return Int32Array::new(ScalarBuffer::from(counts), strings.nulls().cloned());
        }
    }
    // ASCII text: one byte per character, so the offsets give the lengths.
    let lengths = arrow_string::length::length(array).expect("string and list columns have lengths");
    lengths.as_primitive::<Int32Type>().clone()
}

/// A value of the column's type as a one-row array for the comparison
/// kernels, with the column's exact type (precision, scale, zone).
fn scalar(t: &DataType, value: &Value) -> std::result::Result<Scalar<ArrayRef>, String> {
    let array: ArrayRef = match (value, t) {
        (Value::Bool(v), DataType::Boolean) => Arc::new(BooleanArray::from(vec![*v])),
        (Value::Int(v), DataType::Int8) => Arc::new(Int8Array::from(vec![*v as i8])),
        (Value::Int(v), DataType::Int16) => Arc::new(Int16Array::from(vec![*v as i16])),
        (Value::Int(v), DataType::Int32) => Arc::new(Int32Array::from(vec![*v as i32])),
        (Value::Int(v), DataType::Int64) => Arc::new(Int64Array::from(vec![*v])),
        (Value::UInt(v), DataType::UInt8) => Arc::new(UInt8Array::from(vec![*v as u8])),
        (Value::UInt(v), DataType::UInt16) => Arc::new(UInt16Array::from(vec![*v as u16])),
        (Value::UInt(v), DataType::UInt32) => Arc::new(UInt32Array::from(vec![*v as u32])),
        (Value::UInt(v), DataType::UInt64) => Arc::new(UInt64Array::from(vec![*v])),
        (Value::Float(v), DataType::Float32) => Arc::new(Float32Array::from(vec![*v as f32])),
        (Value::Float(v), DataType::Float64) => Arc::new(Float64Array::from(vec![*v])),
        (Value::Decimal(v), DataType::Decimal128(p, s)) => {
            Arc::new(Decimal128Array::from(vec![*v]).with_precision_and_scale(*p, *s).map_err(|e| e.to_string())?)
        }
        (Value::Date(v), DataType::Date32) => Arc::new(Date32Array::from(vec![*v])),
        (Value::Timestamp(v), DataType::Timestamp(unit, tz)) => match unit {
            TimeUnit::Second => Arc::new(TimestampSecondArray::from(vec![*v]).with_timezone_opt(tz.clone())),
            TimeUnit::Millisecond => Arc::new(TimestampMillisecondArray::from(vec![*v]).with_timezone_opt(tz.clone())),
            TimeUnit::Microsecond => Arc::new(TimestampMicrosecondArray::from(vec![*v]).with_timezone_opt(tz.clone())),
            TimeUnit::Nanosecond => Arc::new(TimestampNanosecondArray::from(vec![*v]).with_timezone_opt(tz.clone())),
        },
        (Value::Str(v), DataType::Utf8) => Arc::new(StringArray::from(vec![v.as_str()])),
        (v, t) => return Err(format!("{v:?} does not fit {t}")),
    };
    Ok(Scalar::new(array))
}

/// One value as text for a violation: numbers as Rust prints them, decimals
/// at their scale, dates and timestamps in ISO 8601 (`Z` when the column
/// has a zone, as the stored instant is UTC), a list as its item count.
fn render(array: &dyn Array, row: usize) -> String {
    if array.is_null(row) {
        return String::new();
    }
    macro_rules! prim {
        ($t:ty) => {
            array.as_primitive::<$t>().value(row).to_string()
        };
    }
    match array.data_type() {
        DataType::Boolean => array.as_boolean().value(row).to_string(),
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Float32 => prim!(Float32Type),
        DataType::Float64 => prim!(Float64Type),
        DataType::Decimal128(p, s) => {
            Decimal128Type::format_decimal(array.as_primitive::<Decimal128Type>().value(row), *p, *s)
        }
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(row);
            chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
                .and_then(|e| e.checked_add_signed(chrono::TimeDelta::days(days.into())))
                .map_or_else(|| days.to_string(), |d| d.format("%Y-%m-%d").to_string())
        }
        DataType::Timestamp(unit, tz) => {
            let (v, at) = match unit {
                TimeUnit::Second => {
                    let v = array.as_primitive::<TimestampSecondType>().value(row);
                    (v, as_datetime::<TimestampSecondType>(v))
                }
                TimeUnit::Millisecond => {
                    let v = array.as_primitive::<TimestampMillisecondType>().value(row);
                    (v, as_datetime::<TimestampMillisecondType>(v))
                }
                TimeUnit::Microsecond => {
                    let v = array.as_primitive::<TimestampMicrosecondType>().value(row);
                    (v, as_datetime::<TimestampMicrosecondType>(v))
                }
                TimeUnit::Nanosecond => {
                    let v = array.as_primitive::<TimestampNanosecondType>().value(row);
                    (v, as_datetime::<TimestampNanosecondType>(v))
                }
            };
            let zone = if tz.is_some() { "Z" } else { "" };
            at.map_or_else(|| v.to_string(), |at| format!("{}{zone}", at.format("%Y-%m-%dT%H:%M:%S%.f")))
        }
        DataType::Utf8 => show_value(array.as_string::<i32>().value(row).as_bytes()),
        DataType::List(_) => format!("{} items", array.as_list::<i32>().value_length(row)),
        other => format!("a {other} value"),
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::builder::{Int64Builder, ListBuilder};

    use super::*;

    /// The violations of one batch as (row, column, constraint, value).
    fn check(columns: &str, arrays: Vec<ArrayRef>) -> Vec<(usize, usize, String, String)> {
        let schema = Schema::from_json(&format!(r#"{{"columns": [{columns}]}}"#)).unwrap();
        let batch = RecordBatch::try_new(schema.arrow(), arrays).unwrap();
        let validator = Validator::new(&schema).unwrap();
        let mut out = Vec::new();
        validator.check(&batch, &mut out);
        out.into_iter()
            .map(|v| match v.kind {
                ErrorKind::Constraint { constraint } => (v.row, v.column, constraint, v.value),
                other => panic!("not a constraint error: {other:?}"),
            })
            .collect()
    }

    fn v(row: usize, column: usize, constraint: &str, value: &str) -> (usize, usize, String, String) {
        (row, column, constraint.into(), value.into())
    }

    #[test]
    fn the_kind_reads_as_a_constraint_error() {
        let kind = ErrorKind::Constraint { constraint: "minimum 0".into() };
        assert_eq!(kind.code(), "constraint-error");
        assert_eq!(kind.to_string(), "value violates constraint minimum 0");
        assert!(kind.is_record_level());
    }

    #[test]
    fn no_constraints_is_empty() {
        let schema = Schema::from_json(r#"{"columns": [{"name": "a", "type": "int64"}]}"#).unwrap();
        assert!(Validator::new(&schema).unwrap().is_empty());
        let schema = Schema::from_json(
            r#"{"columns": [{"name": "a", "type": "int64"}, {"name": "b", "type": "int64", "constraints": {"required": true}}]}"#,
        )
        .unwrap();
        assert!(!Validator::new(&schema).unwrap().is_empty());
    }

    #[test]
    fn bounds_on_integers_are_inclusive() {
        let got = check(
            r#"{"name": "a", "type": "int64", "constraints": {"minimum": -5, "maximum": 10}},
               {"name": "b", "type": "uint32", "constraints": {"minimum": 1, "maximum": 4294967295}},
               {"name": "c", "type": "int8", "constraints": {"maximum": 0}}"#,
            vec![
                Arc::new(Int64Array::from(vec![Some(-6), Some(-5), Some(10), Some(11), None])),
                Arc::new(UInt32Array::from(vec![Some(0), Some(1), Some(u32::MAX), None, Some(1)])),
                Arc::new(Int8Array::from(vec![Some(-128), Some(0), Some(1), Some(127), None])),
            ],
        );
        assert_eq!(
            got,
            vec![
                v(0, 0, "minimum -5", "-6"),
                v(0, 1, "minimum 1", "0"),
                v(2, 2, "maximum 0", "1"),
                v(3, 0, "maximum 10", "11"),
                v(3, 2, "maximum 0", "127"),
            ]
        );
    }

    #[test]
    fn bounds_on_floats_and_decimals() {
        let got = check(
            r#"{"name": "f", "type": "float64", "constraints": {"minimum": 0, "maximum": 1.5}},
               {"name": "g", "type": "float32", "constraints": {"minimum": "-0.5"}},
               {"name": "d", "type": "decimal(10,2)", "constraints": {"minimum": "0.01", "maximum": 100}}"#,
            vec![
                Arc::new(Float64Array::from(vec![
                    Some(-0.0001),
                    Some(0.0),
                    Some(1.5),
                    Some(1.5000001),
                    None,
                    Some(f64::NAN),
                ])),
                Arc::new(Float32Array::from(vec![
                    Some(-0.5),
                    Some(-0.50001),
                    None,
                    Some(0.0),
                    Some(f32::NEG_INFINITY),
                    Some(1.0),
                ])),
                Arc::new(
                    Decimal128Array::from(vec![Some(0), Some(1), Some(10000), Some(10001), Some(-1), None])
                        .with_precision_and_scale(10, 2)
                        .unwrap(),
                ),
            ],
        );
        assert_eq!(
            got,
            vec![
                v(0, 0, "minimum 0", "-0.0001"),
                v(0, 2, "minimum 0.01", "0.00"),
                v(1, 1, "minimum -0.5", "-0.50001"),
                v(3, 0, "maximum 1.5", "1.5000001"),
                v(3, 2, "maximum 100", "100.01"),
                v(4, 1, "minimum -0.5", "-inf"),
                v(4, 2, "minimum 0.01", "-0.01"),
                // NaN sorts above every number, as in Arrow's kernels.
                v(5, 0, "maximum 1.5", "NaN"),
            ]
        );
    }

    #[test]
    fn bounds_on_dates_and_timestamps() {
        let ms =
            |s: &str| crate::decode::value::TimestampParser::new(TimeUnit::Millisecond, None, None).parse(s.as_bytes());
        let got = check(
            r#"{"name": "d", "type": "date32", "constraints": {"minimum": "2024-01-01", "maximum": "2024-12-31"}},
               {"name": "t", "type": "timestamp[ms, tz=UTC]",
                "constraints": {"minimum": "2024-01-01T00:00:00Z", "maximum": "2024-01-01T12:00:00+02:00"}}"#,
            vec![
                Arc::new(Date32Array::from(vec![Some(19722), Some(19723), Some(20088), Some(20089), None])),
                Arc::new(
                    TimestampMillisecondArray::from(vec![
                        ms("2023-12-31T23:59:59.999Z"),
                        ms("2024-01-01T00:00:00Z"),
                        ms("2024-01-01T10:00:00Z"),
                        None,
                        ms("2024-01-01T10:00:00.001Z"),
                    ])
                    .with_timezone("UTC"),
                ),
            ],
        );
        assert_eq!(
            got,
            vec![
                v(0, 0, "minimum 2024-01-01", "2023-12-31"),
                v(0, 1, "minimum 2024-01-01T00:00:00Z", "2023-12-31T23:59:59.999Z"),
                v(3, 0, "maximum 2024-12-31", "2025-01-01"),
                v(4, 1, "maximum 2024-01-01T12:00:00+02:00", "2024-01-01T10:00:00.001Z"),
            ]
        );
    }

    #[test]
    fn lengths_count_characters() {
        let got = check(
            r#"{"name": "s", "type": "string", "constraints": {"minLength": 2, "maxLength": 3}},
               {"name": "u", "type": "string", "constraints": {"max_length": 2}}"#,
            vec![
                Arc::new(StringArray::from(vec![Some("a"), Some("ab"), Some("abc"), Some("abcd"), None, Some("")])),
                // Non-ASCII: "é" is two bytes but one character.
                Arc::new(StringArray::from(vec![
                    Some("éé"),
                    Some("ééé"),
                    None,
                    Some("ab"),
                    Some("日本"),
                    Some("日本語"),
                ])),
            ],
        );
        assert_eq!(
            got,
            vec![
                v(0, 0, "min_length 2", "a"),
                v(1, 1, "max_length 2", "ééé"),
                v(3, 0, "max_length 3", "abcd"),
                v(5, 0, "min_length 2", ""),
                v(5, 1, "max_length 2", "日本語"),
            ]
        );
    }

    #[test]
    fn lengths_of_lists_count_items() {
        let mut b = ListBuilder::new(Int64Builder::new());
        b.append_value([Some(1)]);
        b.append_value([Some(1), Some(2)]);
        b.append_null();
        b.append_value([Some(1), None, Some(3)]);
        let got = check(
            r#"{"name": "l", "type": "list<int64>", "constraints": {"min_length": 2, "max_length": 2}}"#,
            vec![Arc::new(b.finish())],
        );
        assert_eq!(got, vec![v(0, 0, "min_length 2", "1 items"), v(3, 0, "max_length 2", "3 items")]);
    }

    #[test]
    fn patterns_are_anchored() {
        let got = check(
            r#"{"name": "c", "type": "string", "constraints": {"pattern": "[A-Z]{2}"}},
               {"name": "e", "type": "string", "constraints": {"pattern": "[^@]+@[^@]+|n/a"}}"#,
            vec![
                Arc::new(StringArray::from(vec![Some("NO"), Some("NOR"), Some("xNO"), None, Some("no")])),
                Arc::new(StringArray::from(vec![Some("a@b"), Some("n/a"), Some("n/ab"), Some("a@b@c"), None])),
            ],
        );
        assert_eq!(
            got,
            vec![
                v(1, 0, "pattern [A-Z]{2}", "NOR"),
                v(2, 0, "pattern [A-Z]{2}", "xNO"),
                v(2, 1, "pattern [^@]+@[^@]+|n/a", "n/ab"),
                v(3, 1, "pattern [^@]+@[^@]+|n/a", "a@b@c"),
                v(4, 0, "pattern [A-Z]{2}", "no"),
            ]
        );
    }

    #[test]
    fn enums_of_every_kind() {
        let got = check(
            r#"{"name": "s", "type": "string", "constraints": {"enum": ["books", "pets"]}},
               {"name": "i", "type": "int32", "constraints": {"enum": [1, 2, 3]}},
               {"name": "b", "type": "bool", "constraints": {"enum": [true]}},
               {"name": "d", "type": "decimal(4,1)", "constraints": {"enum": ["0.5", 1]}},
               {"name": "t", "type": "date32", "constraints": {"enum": ["1970-01-02"]}}"#,
            vec![
                Arc::new(StringArray::from(vec![Some("books"), Some("Books"), None, Some("pets ")])),
                Arc::new(Int32Array::from(vec![Some(1), Some(3), Some(4), None])),
                Arc::new(BooleanArray::from(vec![Some(true), None, Some(false), Some(true)])),
                Arc::new(
                    Decimal128Array::from(vec![Some(5), Some(10), None, Some(6)])
                        .with_precision_and_scale(4, 1)
                        .unwrap(),
                ),
                Arc::new(Date32Array::from(vec![Some(1), Some(0), None, Some(1)])),
            ],
        );
        assert_eq!(
            got,
            vec![
                v(1, 0, "enum", "Books"),
                v(1, 4, "enum", "1970-01-01"),
                v(2, 1, "enum", "4"),
                v(2, 2, "enum", "false"),
                v(3, 0, "enum", "pets "),
                v(3, 3, "enum", "0.6"),
            ]
        );
    }

    #[test]
    fn enum_strings_that_prefix_each_other() {
        let got = check(
            r#"{"name": "s", "type": "string", "constraints": {"enum": ["a", "ab", "a.c", ""]}}"#,
            vec![Arc::new(StringArray::from(vec!["ab", "a", "abc", "", "abb", "a.c", "abc", "A"]))],
        );
        assert_eq!(
            got,
            vec![v(2, 0, "enum", "abc"), v(4, 0, "enum", "abb"), v(6, 0, "enum", "abc"), v(7, 0, "enum", "A")]
        );
    }

    #[test]
    fn patterns_a_dfa_cannot_run_use_the_regex_crate() {
        // Unicode word boundaries: the dense DFA refuses them.
        let pattern = r"\b\w+\b(?: \b\w+\b)*";
        assert!(Matcher::new(&format!("^(?:{pattern})$")).is_none());
        let json = pattern.replace('\\', "\\\\");
        let got = check(
            &format!(r#"{{"name": "s", "type": "string", "constraints": {{"pattern": "{json}"}}}}"#),
            vec![Arc::new(StringArray::from(vec!["héllo wörld", "two  spaces", "ok"]))],
        );
        assert_eq!(got, vec![v(1, 0, &format!("pattern {pattern}"), "two  spaces")]);
    }

    #[test]
    fn required_refuses_nulls_only() {
        let got = check(
            r#"{"name": "s", "type": "string", "constraints": {"required": true, "minLength": 3}},
               {"name": "n", "type": "int64", "constraints": {"required": true, "minimum": 1}}"#,
            vec![
                Arc::new(StringArray::from(vec![None, Some(""), Some("abc")])),
                Arc::new(Int64Array::from(vec![Some(0), None, Some(1)])),
            ],
        );
        assert_eq!(
            got,
            vec![
                v(0, 0, "required", ""),
                v(0, 1, "minimum 1", "0"),
                v(1, 0, "min_length 3", ""),
                v(1, 1, "required", "")
            ]
        );
    }

    #[test]
    fn a_value_breaking_several_constraints_reports_each() {
        let got = check(
            r#"{"name": "s", "type": "string", "constraints": {"maxLength": 2, "pattern": "[a-z]*", "enum": ["ab"]}}"#,
            vec![Arc::new(StringArray::from(vec!["ab", "ABC"]))],
        );
        assert_eq!(got, vec![v(1, 0, "max_length 2", "ABC"), v(1, 0, "pattern [a-z]*", "ABC"), v(1, 0, "enum", "ABC")]);
    }

    #[test]
    fn a_batch_with_no_violation_adds_nothing() {
        let got = check(
            r#"{"name": "n", "type": "int64", "constraints": {"minimum": 0, "maximum": 9, "enum": [0, 5, 9]}}"#,
            vec![Arc::new(Int64Array::from(vec![Some(0), None, Some(5), Some(9)]))],
        );
        assert!(got.is_empty(), "{got:?}");
    }
}
