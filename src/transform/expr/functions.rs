//! The scalar functions: each one's signature (checked when compiling) and
//! its evaluation. Where Arrow has a kernel it is used; the string functions
//! Arrow lacks are one loop over the column that builds a new array.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_arith::temporal::{date_part, DatePart};
use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, PrimitiveArray, StringArray};
use arrow_buffer::Buffer;
use arrow_schema::{ArrowError, DataType, TimeUnit};
use regex::Regex;
use sha2::{Digest, Sha256};

use super::compile::{cast_to, literal_int, literal_str, node_kind_call};
use super::eval::{show, truthy, Result, Val};
use super::plan::Node;
use super::types::{is_integer, is_numeric, is_temporal, sql_name};
use super::Failure;
use crate::decode::value::{civil_from_days, days_from_civil};

/// A function with its constant arguments already taken out of the call.
#[derive(Debug, Clone)]
pub(crate) enum Func {
    Lower,
    Upper,
    /// Removes the characters in `chars` (a space when not given) from one
    /// or both ends.
    Trim {
        leading: bool,
        trailing: bool,
        chars: Arc<[char]>,
    },
    /// `substr(s, start[, length])`, 1-based, DuckDB's rules for 0 and negatives.
    Substr,
    /// `concat(...)`: nulls count as empty strings.
    ConcatAll,
    /// Characters (Unicode scalar values), not bytes.
    Length,
    /// `regex` None: the pattern is the middle argument, compiled per row.
    RegexpReplace {
        regex: Option<Arc<Regex>>,
        global: bool,
        case_insensitive: bool,
    },
    DateTrunc(Trunc),
    DatePart(Part),
    Round {
        digits: i64,
    },
    Abs,
    Sha256,
    NullIf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trunc {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Part {
    Arrow(DatePart),
    /// Seconds since 1970-01-01 00:00:00 UTC, with the fraction.
    Epoch,
}

fn wrong_args(name: &str, expected: &str, got: usize) -> String {
    format!("{name}() takes {expected}, got {got}")
}

fn need_string(name: &str, n: Node) -> std::result::Result<Node, String> {
    match n.data_type {
        DataType::Utf8 => Ok(n),
        DataType::Null => cast_to(n, &DataType::Utf8, true),
        ref t => Err(format!("{name}() needs a VARCHAR argument, got {}", sql_name(t))),
    }
}

fn need_int(name: &str, n: Node) -> std::result::Result<Node, String> {
    match n.data_type {
        ref t if is_integer(t) || *t == DataType::Null => cast_to(n, &DataType::Int64, true),
        ref t => Err(format!("{name}() needs an integer argument, got {}", sql_name(t))),
    }
}

/// Type-checks a call of `name` (lower case) and builds its node.
pub(crate) fn compile(name: &str, mut args: Vec<Node>) -> std::result::Result<Node, String> {
    let count = args.len();
    let string_in = |func: Func, out: DataType, args: Vec<Node>| -> std::result::Result<Node, String> {
        let [s]: [Node; 1] = args.try_into().map_err(|_| wrong_args(name, "1 argument", count))?;
        let s = need_string(name, s)?;
        let nullable = s.nullable;
        Ok(node_kind_call(func, vec![s], out, nullable))
    };
    match name {
        "lower" | "lcase" => string_in(Func::Lower, DataType::Utf8, args),
        "upper" | "ucase" => string_in(Func::Upper, DataType::Utf8, args),
        "length" | "char_length" | "character_length" | "len" => string_in(Func::Length, DataType::Int64, args),
        "sha256" => string_in(Func::Sha256, DataType::Utf8, args),
        "trim" | "ltrim" | "rtrim" => {
            if !(1..=2).contains(&count) {
                return Err(wrong_args(name, "1 or 2 arguments", count));
            }
            let chars: Arc<[char]> = match args.get(1) {
                Some(c) => literal_str(c)
                    .ok_or_else(|| format!("{name}()'s second argument must be a constant string"))?
                    .chars()
                    .collect(),
                None => Arc::from([' ']),
            };
            args.truncate(1);
            let func = Func::Trim { leading: name != "rtrim", trailing: name != "ltrim", chars };
            string_in(func, DataType::Utf8, args)
        }
        "substr" | "substring" => {
            if !(2..=3).contains(&count) {
                return Err(wrong_args(name, "2 or 3 arguments", count));
            }
            let mut it = args.into_iter();
            let mut out = vec![need_string(name, it.next().unwrap_or_else(|| unreachable!()))?];
            for a in it {
                out.push(need_int(name, a)?);
            }
            let nullable = out.iter().any(|a| a.nullable);
            Ok(node_kind_call(Func::Substr, out, DataType::Utf8, nullable))
        }
        "concat" => {
            if count == 0 {
                return Err(wrong_args(name, "at least 1 argument", 0));
            }
            let args = args
                .into_iter()
                .map(|a| cast_to(a, &DataType::Utf8, true))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(node_kind_call(Func::ConcatAll, args, DataType::Utf8, false))
        }
        "regexp_replace" => compile_regexp_replace(args),
        "date_trunc" | "datetrunc" => {
            let [part, x]: [Node; 2] = args.try_into().map_err(|_| wrong_args(name, "2 arguments", count))?;
            let part =
                literal_str(&part).ok_or("date_trunc()'s first argument must be a constant string like 'month'")?;
            let unit = trunc_unit(&part)?;
            // DuckDB truncates a DATE as a TIMESTAMP and returns one.
            let x = match &x.data_type {
                DataType::Date32 => cast_to(x, &DataType::Timestamp(TimeUnit::Microsecond, None), true)?,
                DataType::Timestamp(..) => x,
                t => return Err(format!("date_trunc() needs a DATE or TIMESTAMP, got {}", sql_name(t))),
            };
            let out = x.data_type.clone();
            let nullable = x.nullable;
            Ok(node_kind_call(Func::DateTrunc(unit), vec![x], out, nullable))
        }
        "date_part" | "datepart" => {
            let [part, x]: [Node; 2] = args.try_into().map_err(|_| wrong_args(name, "2 arguments", count))?;
            let part =
                literal_str(&part).ok_or("date_part()'s first argument must be a constant string like 'year'")?;
            compile_date_part(&part, x)
        }
        "round" => {
            if !(1..=2).contains(&count) {
                return Err(wrong_args(name, "1 or 2 arguments", count));
            }
            let digits = match args.get(1) {
                Some(d) => literal_int(d).ok_or("round()'s second argument must be a constant integer")?,
                None => 0,
            };
            args.truncate(1);
            let x = args.pop().unwrap_or_else(|| unreachable!());
            let x = match &x.data_type {
                DataType::Float32 => cast_to(x, &DataType::Float64, true)?,
                t if is_numeric(t) => x,
                t => return Err(format!("round() needs a number, got {}", sql_name(t))),
            };
            let (t, nullable) = (x.data_type.clone(), x.nullable);
            Ok(node_kind_call(Func::Round { digits }, vec![x], t, nullable))
        }
        "abs" => {
            let [x]: [Node; 1] = args.try_into().map_err(|_| wrong_args(name, "1 argument", count))?;
            if !is_numeric(&x.data_type) {
                return Err(format!("abs() needs a number, got {}", sql_name(&x.data_type)));
            }
            let x = if is_integer(&x.data_type) && !x.data_type.is_unsigned_integer() {
                cast_to(x, &DataType::Int64, true)?
            } else {
                x
            };
            let t = x.data_type.clone();
            Ok(node_kind_call(Func::Abs, vec![x], t, true))
        }
        _ => Err(format!("unknown function {name}()")),
    }
}

fn compile_regexp_replace(args: Vec<Node>) -> std::result::Result<Node, String> {
    let count = args.len();
    if !(3..=4).contains(&count) {
        return Err(wrong_args("regexp_replace", "3 or 4 arguments", count));
    }
    let (mut global, mut case_insensitive) = (false, false);
    if let Some(flags) = args.get(3) {
        let flags = literal_str(flags).ok_or("regexp_replace()'s flags must be a constant string like 'g'")?;
        for c in flags.chars() {
            match c {
                'g' => global = true,
                'i' => case_insensitive = true,
                'c' => case_insensitive = false,
                other => return Err(format!("regexp_replace() flag {other:?} is not supported (g, i, c are)")),
            }
        }
    }
    let mut it = args.into_iter().take(3);
    let s = need_string("regexp_replace", it.next().unwrap_or_else(|| unreachable!()))?;
    let pattern = need_string("regexp_replace", it.next().unwrap_or_else(|| unreachable!()))?;
    let replacement = need_string("regexp_replace", it.next().unwrap_or_else(|| unreachable!()))?;
    let nullable = s.nullable || pattern.nullable || replacement.nullable;
    if let Some(p) = literal_str(&pattern) {
        let regex = build_regex(&p, case_insensitive).map_err(|e| format!("invalid regular expression: {e}"))?;
        let func = Func::RegexpReplace { regex: Some(Arc::new(regex)), global, case_insensitive };
        return Ok(node_kind_call(func, vec![s, replacement], DataType::Utf8, nullable));
    }
    let func = Func::RegexpReplace { regex: None, global, case_insensitive };
    Ok(node_kind_call(func, vec![s, pattern, replacement], DataType::Utf8, true))
}

fn build_regex(pattern: &str, case_insensitive: bool) -> std::result::Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern).case_insensitive(case_insensitive).build()
}

/// DuckDB's (RE2's) replacement syntax, `\1` for a group and `\\` for a
/// backslash, in the regex crate's: `${1}`, and `$` escaped as `$$`.
fn replacement_syntax(r: &str) -> String {
    let mut out = String::with_capacity(r.len());
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(d) if d.is_ascii_digit() => {
                    let _ = write!(out, "${{{d}}}");
                    chars.next();
                }
                Some('\\') => {
                    out.push('\\');
                    chars.next();
                }
                _ => out.push('\\'),
            },
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out
}

fn trunc_unit(part: &str) -> std::result::Result<Trunc, String> {
    Ok(match part.to_ascii_lowercase().trim_end_matches('s') {
        "second" => Trunc::Second,
        "minute" => Trunc::Minute,
        "hour" => Trunc::Hour,
        "day" => Trunc::Day,
        "week" => Trunc::Week,
        "month" => Trunc::Month,
        "quarter" => Trunc::Quarter,
        "year" => Trunc::Year,
        _ => {
            return Err(format!(
                "date_trunc() does not know the part {part:?} (second, minute, hour, day, week, month, quarter, year)"
            ))
        }
    })
}

/// `date_part(part, x)` and `EXTRACT(part FROM x)`.
pub(crate) fn compile_date_part(part: &str, x: Node) -> std::result::Result<Node, String> {
    if !is_temporal(&x.data_type) {
        return Err(format!("date_part() needs a DATE or TIMESTAMP, got {}", sql_name(&x.data_type)));
    }
    let p = match part.to_ascii_lowercase().as_str() {
        "year" | "years" | "y" => Part::Arrow(DatePart::Year),
        "quarter" | "quarters" => Part::Arrow(DatePart::Quarter),
        "month" | "months" | "mon" => Part::Arrow(DatePart::Month),
        "week" | "weeks" | "w" => Part::Arrow(DatePart::Week),
        "day" | "days" | "d" => Part::Arrow(DatePart::Day),
        "dow" | "dayofweek" => Part::Arrow(DatePart::DayOfWeekSunday0),
        "isodow" => Part::Arrow(DatePart::DayOfWeekMonday1),
        "doy" | "dayofyear" => Part::Arrow(DatePart::DayOfYear),
        "hour" | "hours" | "h" => Part::Arrow(DatePart::Hour),
        "minute" | "minutes" | "m" => Part::Arrow(DatePart::Minute),
        "second" | "seconds" | "s" => Part::Arrow(DatePart::Second),
        "epoch" => Part::Epoch,
        _ => {
            return Err(format!(
                "date_part() does not know the part {part:?} (year, quarter, month, week, day, dow, isodow, doy, \
                 hour, minute, second, epoch)"
            ))
        }
    };
    let out = if matches!(p, Part::Epoch) { DataType::Float64 } else { DataType::Int64 };
    let nullable = x.nullable;
    Ok(node_kind_call(Func::DatePart(p), vec![x], out, nullable))
}

/// The string in row `i` of a Utf8 value.
fn str_at(v: &Val, i: usize) -> Option<&str> {
    let a = v.inner().as_string::<i32>();
    let i = v.index(i);
    a.is_valid(i).then(|| a.value(i))
}

fn int_at(v: &Val, i: usize) -> Option<i64> {
    let a = v.inner().as_primitive::<Int64Type>();
    let i = v.index(i);
    a.is_valid(i).then(|| a.value(i))
}

/// A string column mapped value by value: `f` writes each result into a
/// buffer reused across rows, which goes straight into the new array.
fn map_strings<F>(v: &Val, f: F) -> Result<Val>
where
    F: Fn(&str, &mut String),
{
    let a = v.inner().as_string::<i32>();
    let mut b = StringBuilder::with_capacity(a.len(), a.value_data().len());
    let mut buf = String::new();
    for s in a.iter() {
        match s {
            Some(s) => {
                buf.clear();
                f(s, &mut buf);
                b.append_value(&buf);
            }
            None => b.append_null(),
        }
    }
    Ok(rewrap(v, Arc::new(b.finish())))
}

/// Lower or upper case, with a fast path for ASCII text.
fn change_case(s: &str, out: &mut String, upper: bool) {
    if s.is_ascii() {
        out.extend(s.bytes().map(|b| ascii_case(b, upper) as char));
    } else if upper {
        out.push_str(&s.to_uppercase());
    } else {
        out.push_str(&s.to_lowercase());
    }
}

/// An ASCII byte in upper or lower case.
fn ascii_case(b: u8, upper: bool) -> u8 {
    if upper {
        b.to_ascii_uppercase()
    } else {
        b.to_ascii_lowercase()
    }
}

/// Lower or upper case of a column. When all its text is ASCII it is done
/// on the bytes at once, the offsets and nulls kept as they are.
fn change_column_case(v: &Val, upper: bool) -> Result<Val> {
    let a = v.inner().as_string::<i32>();
    let bytes = a.values().as_slice();
    if !bytes.is_ascii() {
        return map_strings(v, |s, out| change_case(s, out, upper));
    }
    let changed: Vec<u8> = bytes.iter().map(|&b| ascii_case(b, upper)).collect();
    let out = StringArray::try_new(a.offsets().clone(), Buffer::from_vec(changed), a.nulls().cloned())?;
    Ok(rewrap(v, Arc::new(out)))
}

fn rewrap(like: &Val, a: ArrayRef) -> Val {
    if like.is_scalar() {
        Val::Scalar(a)
    } else {
        Val::Array(a)
    }
}

/// Evaluates a call; `n` is the batch's row count.
pub(crate) fn eval(func: &Func, args: &[Val], n: usize) -> Result<(Val, Vec<Failure>)> {
    let all_scalar = args.iter().all(Val::is_scalar);
    let rows = if all_scalar { 1 } else { n };
    let none = vec![];
    Ok(match func {
        Func::Lower => (change_column_case(&args[0], false)?, none),
        Func::Upper => (change_column_case(&args[0], true)?, none),
        Func::Trim { leading, trailing, chars } => {
            let f = |s: &str, out: &mut String| {
                let s = if *leading { s.trim_start_matches(&chars[..]) } else { s };
                let s = if *trailing { s.trim_end_matches(&chars[..]) } else { s };
                out.push_str(s);
            };
            (map_strings(&args[0], f)?, none)
        }
        Func::Length => {
            let a = args[0].inner().as_string::<i32>();
            let out: Int64Array = a.iter().map(|s| s.map(|s| s.chars().count() as i64)).collect();
            (rewrap(&args[0], Arc::new(out)), none)
        }
        Func::Sha256 => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let hex = |s: &str, out: &mut String| {
                for b in Sha256::digest(s.as_bytes()) {
                    out.push(HEX[usize::from(b >> 4)] as char);
                    out.push(HEX[usize::from(b & 15)] as char);
                }
            };
            (map_strings(&args[0], hex)?, none)
        }
        Func::Substr => {
            let mut b = StringBuilder::with_capacity(rows, 0);
            for i in 0..rows {
                let s = str_at(&args[0], i);
                let start = int_at(&args[1], i);
                let len = match args.get(2) {
                    Some(l) => int_at(l, i),
                    None => Some(i64::MAX),
                };
                match (s, start, len) {
                    (Some(s), Some(start), Some(len)) => b.append_value(substr(s, start, len)),
                    _ => b.append_null(),
                }
            }
            (rewrap_all(all_scalar, Arc::new(b.finish())), none)
        }
        Func::ConcatAll => {
            let mut b = StringBuilder::with_capacity(rows, 0);
            let mut row = String::new();
            for i in 0..rows {
                row.clear();
                for a in args {
                    if let Some(s) = str_at(a, i) {
                        row.push_str(s);
                    }
                }
                b.append_value(&row);
            }
            (rewrap_all(all_scalar, Arc::new(b.finish())), none)
        }
        Func::RegexpReplace { regex, global, case_insensitive } => {
            regexp_replace(args, regex.as_deref(), *global, *case_insensitive, rows, all_scalar)?
        }
        Func::DateTrunc(unit) => (args[0].map(|a| date_trunc(a, *unit))?, none),
        Func::DatePart(Part::Arrow(p)) => {
            (args[0].map(|a| arrow_cast::cast(&date_part(a, *p)?, &DataType::Int64))?, none)
        }
        Func::DatePart(Part::Epoch) => (args[0].map(epoch)?, none),
        Func::Round { digits } => (args[0].map(|a| round(a, *digits))?, none),
        Func::Abs => abs(&args[0], n)?,
        Func::NullIf => {
            let equal = arrow_ord::cmp::eq(&args[0], &args[1])?;
            let equal = truthy(&equal);
            let both = all_scalar;
            let a = args[0].array(if both { 1 } else { n })?;
            (rewrap_all(both, arrow_select::nullif::nullif(&a, &equal)?), none)
        }
    })
}

fn rewrap_all(scalar: bool, a: ArrayRef) -> Val {
    if scalar {
        Val::Scalar(a)
    } else {
        Val::Array(a)
    }
}

/// DuckDB's substring: 1-based `start`; 0 starts one character before the
/// first; a negative start counts from the end; a negative length takes the
/// characters before `start`.
pub(crate) fn substr(s: &str, start: i64, len: i64) -> &str {
    let size = s.chars().count() as i64;
    let (mut from, mut len) = (start, len);
    if len == 0 {
        return "";
    }
    if from > 0 {
        from = (from - 1).min(size);
    } else if from < 0 {
        from = (size + from).max(0);
    } else {
        len = len.saturating_sub(1);
        if len <= 0 {
            return "";
        }
    }
    let (a, b) = if len > 0 { (from, from.saturating_add(len).min(size)) } else { ((from + len).max(0), from) };
    if a >= b {
        return "";
    }
    let byte_at = |c: i64| s.char_indices().nth(c as usize).map_or(s.len(), |(i, _)| i);
    if s.is_ascii() {
        return &s[a as usize..b as usize];
    }
    &s[byte_at(a)..byte_at(b)]
}

fn regexp_replace(
    args: &[Val],
    regex: Option<&Regex>,
    global: bool,
    case_insensitive: bool,
    rows: usize,
    all_scalar: bool,
) -> Result<(Val, Vec<Failure>)> {
    let (pattern, replacement) = match regex {
        Some(_) => (None, &args[1]),
        None => (Some(&args[1]), &args[2]),
    };
    let mut failures = vec![];
    let mut b = StringBuilder::with_capacity(rows, 0);
    let mut cached: Option<(String, Regex)> = None;
    let mut cached_repl: Option<(String, String)> = None;
    for i in 0..rows {
        let (Some(s), Some(r)) = (str_at(&args[0], i), str_at(replacement, i)) else {
            b.append_null();
            continue;
        };
        let re = match (regex, pattern) {
            (Some(re), _) => re,
            (None, Some(p)) => {
                let Some(p) = str_at(p, i) else {
                    b.append_null();
                    continue;
                };
                if cached.as_ref().is_none_or(|(q, _)| q != p) {
                    match build_regex(p, case_insensitive) {
                        Ok(re) => cached = Some((p.to_owned(), re)),
                        Err(e) => {
                            let reason = format!("invalid regular expression: {e}");
                            failures.push(Failure { row: i, reason, value: Some(p.to_owned()) });
                            b.append_null();
                            continue;
                        }
                    }
                }
                &cached.as_ref().unwrap_or_else(|| unreachable!()).1
            }
            (None, None) => unreachable!("regexp_replace has a pattern"),
        };
        if cached_repl.as_ref().is_none_or(|(q, _)| q != r) {
            cached_repl = Some((r.to_owned(), replacement_syntax(r)));
        }
        let repl = cached_repl.as_ref().map_or("", |(_, x)| x.as_str());
        let out = if global { re.replace_all(s, repl) } else { re.replace(s, repl) };
        b.append_value(out);
    }
    if all_scalar && !failures.is_empty() {
        // A constant that fails fails on every row; the caller broadcasts.
        return Err(ArrowError::ComputeError(failures.remove(0).reason));
    }
    Ok((rewrap_all(all_scalar, Arc::new(b.finish())), failures))
}

const SECONDS_PER_DAY: i64 = 86_400;

/// Truncates days since the epoch to the start of the unit (day or longer).
fn trunc_days(days: i64, unit: Trunc) -> i64 {
    // Far outside any calendar a date column holds: as it is.
    if days.unsigned_abs() > 1 << 40 {
        return days;
    }
    if unit == Trunc::Week {
        // 1970-01-01 was a Thursday: Monday is 3 days before.
        return days - (days + 3).rem_euclid(7);
    }
    let (y, m, d) = civil_from_days(days);
    let first = match unit {
        Trunc::Month => return days - i64::from(d - 1),
        Trunc::Quarter => days_from_civil(y, (m - 1) / 3 * 3 + 1, 1),
        Trunc::Year => days_from_civil(y, 1, 1),
        _ => return days,
    };
    first.unwrap_or(days)
}

/// Truncates a timestamp (in UTC when it has a zone).
fn date_trunc(a: &dyn Array, unit: Trunc) -> Result<ArrayRef> {
    match a.data_type() {
        DataType::Timestamp(tu, _) => {
            let per_second: i64 = match tu {
                TimeUnit::Second => 1,
                TimeUnit::Millisecond => 1_000,
                TimeUnit::Microsecond => 1_000_000,
                TimeUnit::Nanosecond => 1_000_000_000,
            };
            let step = match unit {
                Trunc::Second => per_second,
                Trunc::Minute => 60 * per_second,
                Trunc::Hour => 3_600 * per_second,
                _ => SECONDS_PER_DAY * per_second,
            };
            let raw = arrow_cast::cast(a, &DataType::Int64)?;
            let raw = raw.as_primitive::<Int64Type>();
            let t: PrimitiveArray<Int64Type> = raw.unary(|v| {
                let floored = v.checked_sub(v.rem_euclid(step)).unwrap_or(v);
                if step < SECONDS_PER_DAY * per_second {
                    floored
                } else {
                    trunc_days(floored.div_euclid(step), unit).checked_mul(step).unwrap_or(v)
                }
            });
            arrow_cast::cast(&t, a.data_type())
        }
        t => Err(ArrowError::InvalidArgumentError(format!("date_trunc on {t}"))),
    }
}

fn epoch(a: &dyn Array) -> Result<ArrayRef> {
    let (raw, per_second) = match a.data_type() {
        DataType::Date32 => (arrow_cast::cast(a, &DataType::Int32)?, 1.0 / SECONDS_PER_DAY as f64),
        DataType::Timestamp(tu, _) => {
            let per = match tu {
                TimeUnit::Second => 1.0,
                TimeUnit::Millisecond => 1e3,
                TimeUnit::Microsecond => 1e6,
                TimeUnit::Nanosecond => 1e9,
            };
            (arrow_cast::cast(a, &DataType::Int64)?, per)
        }
        t => return Err(ArrowError::InvalidArgumentError(format!("epoch of {t}"))),
    };
    let f = arrow_cast::cast(&raw, &DataType::Float64)?;
    let out: Float64Array = f.as_primitive::<Float64Type>().unary(|v| v / per_second);
    Ok(Arc::new(out))
}

/// Half away from zero, as DuckDB rounds.
/// `v` rounded to `digits` decimal places, half away from zero, as DuckDB
/// rounds: by the exact value of `v`, not by `v * 10^digits`, whose own
/// rounding can land on a half (7.545 is stored as 7.54499..., and rounds
/// to 7.54).
fn round_f64(v: f64, digits: i64) -> f64 {
    let d = digits.clamp(-308, 308) as i32;
    let p = 10f64.powi(d.abs());
    let m = if d >= 0 { v * p } else { v / p };
    let mut r = m.round();
    if (0..=30).contains(&d) && (m - m.trunc()).abs() == 0.5 {
        // Decide the half by v's exact decimal digits past the kept ones
        // (an f64 has at most 1,074 of them).
        let exact = format!("{:.*}", d as usize + 1100, v.abs());
        let tail = exact.split_once('.').map_or("", |(_, f)| f.get(d as usize..).unwrap_or(""));
        if tail < "5" {
            r = m.trunc();
        }
    }
    let r = if d >= 0 { r / p } else { r * p };
    if r.is_finite() {
        r
    } else {
        v
    }
}

pub(crate) fn round(a: &dyn Array, digits: i64) -> Result<ArrayRef> {
    match a.data_type() {
        DataType::Float64 => {
            let f = a.as_primitive::<Float64Type>();
            Ok(Arc::new(f.unary::<_, Float64Type>(|v| round_f64(v, digits))))
        }
        DataType::Decimal128(_, s) => {
            let drop = (*s as i64).saturating_sub(digits);
            if drop <= 0 {
                return Ok(arrow_array::make_array(a.to_data()));
            }
            let Some(factor) = 10i128.checked_pow(drop.min(38) as u32) else {
                return Ok(arrow_array::make_array(a.to_data()));
            };
            let d = a.as_primitive::<Decimal128Type>();
            let out = d.unary::<_, Decimal128Type>(|v| {
                let q = v / factor;
                let rem = v % factor;
                let q = if rem.abs() * 2 >= factor { q + rem.signum() } else { q };
                q.saturating_mul(factor)
            });
            Ok(Arc::new(out.with_data_type(a.data_type().clone())))
        }
        t if is_integer(t) && digits >= 0 => Ok(arrow_array::make_array(a.to_data())),
        t if is_integer(t) => {
            let f = arrow_cast::cast(a, &DataType::Float64)?;
            let r = round(&f, digits)?;
            arrow_cast::cast(&r, t)
        }
        t => Err(ArrowError::InvalidArgumentError(format!("round of {t}"))),
    }
}

fn abs(v: &Val, n: usize) -> Result<(Val, Vec<Failure>)> {
    let t = v.inner().data_type().clone();
    if t.is_unsigned_integer() {
        return Ok((v.clone(), vec![]));
    }
    let a = v.array(n)?;
    let zero = Val::Scalar(arrow_cast::cast(&Int64Array::from(vec![0]), &t)?);
    let negative = truthy(&arrow_ord::cmp::lt(&a, &zero)?);
    if negative.true_count() == 0 {
        return Ok((Val::Array(a), vec![]));
    }
    // Integers reach abs() as BIGINT; only its most negative value has no
    // absolute value.
    let mut failures = vec![];
    let mut a = a;
    if t == DataType::Int64 {
        let min = Val::Scalar(Arc::new(Int64Array::from(vec![i64::MIN])));
        let bad = truthy(&arrow_ord::cmp::eq(&a, &min)?);
        if bad.true_count() > 0 {
            failures = bad
                .values()
                .set_indices()
                .map(|row| Failure {
                    row,
                    reason: "numeric overflow in abs()".into(),
                    value: Some(show(a.as_ref(), row)),
                })
                .collect();
            a = arrow_select::nullif::nullif(&a, &bad)?;
        }
    }
    let negated = arrow_arith::numeric::neg_wrapping(&a)?;
    Ok((Val::Array(arrow_select::zip::zip(&negative, &negated, &a)?), failures))
}

#[cfg(test)]
mod round_tests {
    use super::round_f64;

    #[test]
    fn rounds_by_the_exact_value_half_away_from_zero() {
        // DuckDB 2.0.1 gives these (7.545 is stored as 7.54499...).
        assert_eq!(round_f64(7.545, 2), 7.54);
        assert_eq!(round_f64(-7.545, 2), -7.54);
        assert_eq!(round_f64(0.125, 2), 0.13);
        assert_eq!(round_f64(-0.125, 2), -0.13);
        assert_eq!(round_f64(2.5, 0), 3.0);
        assert_eq!(round_f64(1.005, 2), 1.0);
        assert_eq!(round_f64(123.456, -1), 120.0);
        assert_eq!(round_f64(125.0, -1), 130.0);
        assert!(round_f64(f64::NAN, 2).is_nan());
        assert_eq!(round_f64(f64::MAX, 2), f64::MAX);
    }
}

#[cfg(test)]
mod trunc_tests {
    use chrono::{Datelike, NaiveDate};

    use super::{trunc_days, Trunc};

    #[test]
    fn truncated_dates_agree_with_chrono_over_five_thousand_years() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let days_of = |d: NaiveDate| (d - epoch).num_days();
        for days in (-1_000_000..1_000_000).step_by(13) {
            let date = epoch + chrono::TimeDelta::days(days);
            let week = date - chrono::TimeDelta::days(date.weekday().num_days_from_monday() as i64);
            let month = NaiveDate::from_ymd_opt(date.year(), date.month(), 1).unwrap();
            let quarter = NaiveDate::from_ymd_opt(date.year(), date.month0() / 3 * 3 + 1, 1).unwrap();
            let year = NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap();
            assert_eq!(trunc_days(days, Trunc::Week), days_of(week), "{date}");
            assert_eq!(trunc_days(days, Trunc::Month), days_of(month), "{date}");
            assert_eq!(trunc_days(days, Trunc::Quarter), days_of(quarter), "{date}");
            assert_eq!(trunc_days(days, Trunc::Year), days_of(year), "{date}");
            assert_eq!(trunc_days(days, Trunc::Day), days);
        }
    }
}
