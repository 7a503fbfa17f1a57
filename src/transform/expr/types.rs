//! Which types an operator accepts and which type it gives: the coercion
//! rules, SQL type names in and out.
//!
//! The rules follow DuckDB's where the result is the same value, and are
//! simpler where DuckDB's only differ in width:
//! - any two integers (signed or unsigned) compute in `Int64`;
//! - an integer or decimal with a float computes in `Float64`;
//! - an integer with a decimal turns the integer into `DECIMAL(digits, 0)`
//!   and leaves the precision and scale of the result to arrow-arith, which
//!   uses DuckDB's rules for `+ - *` (capped at 38 digits);
//! - `/` always computes in `Float64`, as DuckDB's does.

use arrow_schema::{DataType, TimeUnit};
use sqlparser::ast;

/// Decimal128's largest precision (digits).
const MAX_DECIMAL_PRECISION: u8 = 38;

pub(crate) fn is_integer(t: &DataType) -> bool {
    t.is_integer()
}

pub(crate) fn is_float(t: &DataType) -> bool {
    matches!(t, DataType::Float16 | DataType::Float32 | DataType::Float64)
}

pub(crate) fn is_decimal(t: &DataType) -> bool {
    matches!(t, DataType::Decimal128(..))
}

pub(crate) fn is_numeric(t: &DataType) -> bool {
    is_integer(t) || is_float(t) || is_decimal(t)
}

pub(crate) fn is_temporal(t: &DataType) -> bool {
    matches!(t, DataType::Date32 | DataType::Timestamp(..))
}

/// The decimal an integer type fits in without loss.
fn integer_as_decimal(t: &DataType) -> DataType {
    let digits = match t {
        DataType::Int8 | DataType::UInt8 => 3,
        DataType::Int16 | DataType::UInt16 => 5,
        DataType::Int32 | DataType::UInt32 => 10,
        DataType::Int64 => 19,
        _ => 20,
    };
    DataType::Decimal128(digits, 0)
}

/// The types both operands of `+ - * %` are cast to, or None when the
/// operator does not apply.
pub(crate) fn arithmetic_operands(l: &DataType, r: &DataType) -> Option<(DataType, DataType)> {
    let l = if *l == DataType::Null { r } else { l };
    let r = if *r == DataType::Null { l } else { r };
    match (l, r) {
        (DataType::Null, DataType::Null) => Some((DataType::Int64, DataType::Int64)),
        _ if is_integer(l) && is_integer(r) => Some((DataType::Int64, DataType::Int64)),
        _ if !is_numeric(l) || !is_numeric(r) => None,
        _ if is_float(l) || is_float(r) => Some((DataType::Float64, DataType::Float64)),
        _ => {
            let widen = |t: &DataType| if is_integer(t) { integer_as_decimal(t) } else { t.clone() };
            Some((widen(l), widen(r)))
        }
    }
}

/// The one type two values are brought to before they are compared, or
/// chosen between (CASE, COALESCE, IN). None when they do not mix.
pub(crate) fn common_type(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType::*;
    if a == b {
        return Some(a.clone());
    }
    match (a, b) {
        (Null, t) | (t, Null) => Some(t.clone()),
        _ if is_integer(a) && is_integer(b) => Some(Int64),
        _ if is_numeric(a) && is_numeric(b) && (is_float(a) || is_float(b)) => Some(Float64),
        (Decimal128(..), _) | (_, Decimal128(..)) if is_numeric(a) && is_numeric(b) => {
            let widen = |t: &DataType| if is_integer(t) { integer_as_decimal(t) } else { t.clone() };
            let (Decimal128(p1, s1), Decimal128(p2, s2)) = (widen(a), widen(b)) else { return None };
            let scale = s1.max(s2);
            let whole = (p1 as i16 - s1 as i16).max(p2 as i16 - s2 as i16);
            let precision = (whole + scale as i16).clamp(1, MAX_DECIMAL_PRECISION as i16) as u8;
            Some(Decimal128(precision, scale))
        }
        (Utf8, t) | (t, Utf8) if is_temporal(t) => Some(t.clone()),
        (Date32, Timestamp(_, tz)) | (Timestamp(_, tz), Date32) => Some(Timestamp(TimeUnit::Microsecond, tz.clone())),
        (Timestamp(_, tz1), Timestamp(_, tz2)) => Some(Timestamp(TimeUnit::Microsecond, tz1.clone().or(tz2.clone()))),
        _ => None,
    }
}

/// The SQL name of a type, as DuckDB prints it, for error messages.
pub(crate) fn sql_name(t: &DataType) -> String {
    use DataType::*;
    match t {
        Null => "NULL".into(),
        Boolean => "BOOLEAN".into(),
        Int8 => "TINYINT".into(),
        Int16 => "SMALLINT".into(),
        Int32 => "INTEGER".into(),
        Int64 => "BIGINT".into(),
        UInt8 => "UTINYINT".into(),
        UInt16 => "USMALLINT".into(),
        UInt32 => "UINTEGER".into(),
        UInt64 => "UBIGINT".into(),
        Float16 | Float32 => "FLOAT".into(),
        Float64 => "DOUBLE".into(),
        Decimal128(p, s) => format!("DECIMAL({p},{s})"),
        Utf8 | LargeUtf8 | Utf8View => "VARCHAR".into(),
        Date32 => "DATE".into(),
        Timestamp(_, None) => "TIMESTAMP".into(),
        Timestamp(_, Some(_)) => "TIMESTAMP WITH TIME ZONE".into(),
        other => other.to_string(),
    }
}

/// The Arrow type a SQL type name in CAST stands for.
pub(crate) fn from_sql(t: &ast::DataType) -> Result<DataType, String> {
    use ast::DataType as S;
    let decimal = |info: &ast::ExactNumberInfo| -> Result<DataType, String> {
        // DuckDB's DECIMAL with no arguments is DECIMAL(18,3).
        let (p, s) = match *info {
            ast::ExactNumberInfo::None => (18, 3),
            ast::ExactNumberInfo::Precision(p) => (p, 0),
            ast::ExactNumberInfo::PrecisionAndScale(p, s) => (p, s.max(-1) as u64),
        };
        if !(1..=MAX_DECIMAL_PRECISION as u64).contains(&p) || s > p {
            return Err(format!("DECIMAL({p},{s}) is not a valid decimal: precision 1..=38, scale 0..=precision"));
        }
        Ok(DataType::Decimal128(p as u8, s as i8))
    };
    Ok(match t {
        S::Boolean | S::Bool => DataType::Boolean,
        S::TinyInt(_) => DataType::Int8,
        S::SmallInt(_) | S::Int2(_) | S::Int16 => DataType::Int16,
        S::Int(_) | S::Integer(_) | S::Int4(_) | S::Int32 => DataType::Int32,
        S::BigInt(_) | S::Int8(_) | S::Int64 => DataType::Int64,
        S::UTinyInt | S::UInt8 => DataType::UInt8,
        S::USmallInt | S::UInt16 => DataType::UInt16,
        S::UInt32 => DataType::UInt32,
        S::UBigInt | S::UInt64 => DataType::UInt64,
        S::Real | S::Float4 | S::Float32 => DataType::Float32,
        S::Float(ast::ExactNumberInfo::None) => DataType::Float32,
        S::Double(_) | S::DoublePrecision | S::Float8 | S::Float64 | S::Float(_) => DataType::Float64,
        S::Varchar(_) | S::Text | S::String(_) | S::CharVarying(_) | S::CharacterVarying(_) | S::Char(_) => {
            DataType::Utf8
        }
        S::Decimal(info) | S::Numeric(info) | S::Dec(info) => decimal(info)?,
        S::Date => DataType::Date32,
        S::Timestamp(_, ast::TimezoneInfo::None | ast::TimezoneInfo::WithoutTimeZone) | S::Datetime(_) => {
            DataType::Timestamp(TimeUnit::Microsecond, None)
        }
        S::Timestamp(_, _) => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        S::Custom(name, modifiers) if modifiers.is_empty() => match name.to_string().to_ascii_lowercase().as_str() {
            "utinyint" => DataType::UInt8,
            "usmallint" => DataType::UInt16,
            "uinteger" => DataType::UInt32,
            "ubigint" => DataType::UInt64,
            "timestamptz" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            _ => return Err(format!("unknown type {name}")),
        },
        other => return Err(format!("type {other} is not supported in expressions")),
    })
}

/// Whether a column of this type can be read by an expression.
pub(crate) fn supported_column(t: &DataType) -> bool {
    matches!(t, DataType::Boolean | DataType::Utf8 | DataType::Null)
        || is_numeric(t) && !matches!(t, DataType::Float16)
        || is_temporal(t)
}
