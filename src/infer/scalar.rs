//! One column's values in, the narrowest type that takes them all out.
//!
//! Every candidate type is tested with the parser `convert` uses for it
//! ([`crate::decode::value`]), so a type is kept only while every sampled
//! value parses as it. What the parsers cannot say (a fixed count of
//! fraction digits, whether timestamps carry an offset, how many fraction
//! digits they have) is read from the text beside them.

use std::sync::Arc;

use arrow_schema::{DataType, TimeUnit};

use crate::decode::value::{parse_bool, parse_float, parse_int, parse_iso_date, TimestampParser};

/// The most digits a decimal holds (Arrow's Decimal128).
const MAX_DECIMAL_DIGITS: usize = 38;
/// Integer digits a decimal column leaves room for at least, whatever the
/// sample shows: ten (9,999,999,999.99 with two fraction digits), the usual
/// width of money columns, so that `12.50` becomes `decimal(12,2)`.
const MIN_DECIMAL_INTEGER_DIGITS: usize = 10;

/// What the values of one column allow so far.
#[derive(Debug, Clone)]
pub(crate) struct ScalarStats {
    /// Values that are not null.
    pub values: u64,
    pub nulls: u64,
    bool_ok: bool,
    /// Some bool value is a word (`true`, `no`, `t`...), not only `0`/`1`.
    bool_word: bool,
    int64_ok: bool,
    uint64_ok: bool,
    /// Digits only (with a sign), at most 38: `decimal(38,0)` takes them.
    integer_ok: bool,
    /// Some number is written with a leading zero (`007`): an identifier or
    /// a code, kept as text.
    leading_zero: bool,
    /// Every value is `digits.digits` with the same count of fraction digits.
    decimal_ok: bool,
    scale: Option<usize>,
    /// The most significant digits before the point.
    integer_digits: usize,
    float_ok: bool,
    date_ok: bool,
    timestamp_ok: bool,
    with_offset: u64,
    without_offset: u64,
    /// The most fraction-of-second digits seen.
    second_digits: usize,
    utf8_ok: bool,
}

impl Default for ScalarStats {
    fn default() -> Self {
        ScalarStats {
            values: 0,
            nulls: 0,
            bool_ok: true,
            bool_word: false,
            int64_ok: true,
            uint64_ok: true,
            integer_ok: true,
            leading_zero: false,
            decimal_ok: true,
            scale: None,
            integer_digits: 0,
            float_ok: true,
            date_ok: true,
            timestamp_ok: true,
            with_offset: 0,
            without_offset: 0,
            second_digits: 0,
            utf8_ok: true,
        }
    }
}

/// The shape of `[+-]digits[.digits]`: significant integer digits, fraction
/// digits (`None` without a point), and whether the integer part has a
/// leading zero.
fn number_shape(s: &[u8]) -> Option<(usize, Option<usize>, bool)> {
    let s = s.strip_prefix(b"-").or_else(|| s.strip_prefix(b"+")).unwrap_or(s);
    let (int, frac) = match memchr::memchr(b'.', s) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    if int.is_empty() || !int.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if let Some(f) = frac {
        if f.is_empty() || !f.iter().all(u8::is_ascii_digit) {
            return None;
        }
    }
    let significant = int.iter().position(|&b| b != b'0').map_or(0, |i| int.len() - i);
    Some((significant, frac.map(<[u8]>::len), int.len() > 1 && int[0] == b'0'))
}

/// Whether an ISO timestamp the parser accepted has an offset, and how many
/// fraction-of-second digits it has. `YYYY-MM-DD[T ]HH:MM[:SS[.f]][offset]`.
fn timestamp_shape(s: &[u8]) -> (bool, usize) {
    if s.len() <= 10 {
        return (false, 0);
    }
    let mut i = 16;
    if s.get(i) == Some(&b':') {
        i += 3;
    }
    let mut digits = 0;
    if matches!(s.get(i), Some(b'.' | b',')) {
        i += 1;
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            digits += 1;
            i += 1;
        }
    }
    (i < s.len(), digits)
}

impl ScalarStats {
    pub fn add_null(&mut self) {
        self.nulls += 1;
    }

    /// A value as text (a CSV field, a JSON string).
    pub fn add_text(&mut self, s: &[u8]) {
        self.values += 1;
        if self.utf8_ok && simdutf8::basic::from_utf8(s).is_err() {
            self.utf8_ok = false;
        }
        if self.bool_ok {
            match parse_bool(s) {
                None => self.bool_ok = false,
                Some(_) => self.bool_word |= !matches!(s, b"0" | b"1"),
            }
        }
        let shape = number_shape(s);
        if let Some((_, _, true)) = shape {
            self.leading_zero = true;
        }
        self.int64_ok &= parse_int::<i64>(s).is_some();
        self.uint64_ok &= parse_int::<u64>(s).is_some();
        self.integer_ok &= matches!(shape, Some((n, None, _)) if n <= MAX_DECIMAL_DIGITS);
        if self.decimal_ok {
            match shape {
                Some((n, Some(f), _)) if self.scale.is_none_or(|s| s == f) && n + f <= MAX_DECIMAL_DIGITS => {
                    self.scale = Some(f);
                    self.integer_digits = self.integer_digits.max(n);
                }
                _ => self.decimal_ok = false,
            }
        }
        self.float_ok &= parse_float::<f64>(s).is_some();
        self.date_ok &= parse_iso_date(s).is_some();
        if self.timestamp_ok {
            // Milliseconds: the widest range of the units a column can have.
            match TimestampParser::new(TimeUnit::Millisecond, None, None).parse(s) {
                None => self.timestamp_ok = false,
                Some(_) => {
                    let (offset, digits) = timestamp_shape(s);
                    if offset {
                        self.with_offset += 1;
                    } else {
                        self.without_offset += 1;
                    }
                    self.second_digits = self.second_digits.max(digits);
                }
            }
        }
    }

    /// Takes only what a JSON number or bool goes into.
    fn only_numbers(&mut self) {
        self.values += 1;
        self.bool_ok = false;
        self.decimal_ok = false;
        self.date_ok = false;
        self.timestamp_ok = false;
    }

    /// A JSON bool: a bool or string column takes it.
    pub fn add_json_bool(&mut self) {
        let bool_ok = self.bool_ok;
        self.only_numbers();
        self.bool_ok = bool_ok;
        self.bool_word = true;
        self.int64_ok = false;
        self.uint64_ok = false;
        self.integer_ok = false;
        self.float_ok = false;
    }

    /// A JSON integer that fits an i64.
    pub fn add_json_int(&mut self, v: i64) {
        self.only_numbers();
        self.uint64_ok &= v >= 0;
    }

    /// A JSON integer past i64.
    pub fn add_json_uint(&mut self) {
        self.only_numbers();
        self.int64_ok = false;
    }

    /// A JSON number the parser gives as a double: with a fraction or an
    /// exponent, or an integer past the 64-bit ranges (a whole double of at
    /// least 2^63), which a decimal of 38 digits holds exactly while it has
    /// no more digits (the decoder reads them from the text).
    pub fn add_json_number(&mut self, v: f64) {
        if v.fract() == 0.0 && v.abs() >= -(i64::MIN as f64) && v.abs() < 1e38 {
            self.only_numbers();
            self.int64_ok = false;
            self.uint64_ok = false;
        } else {
            self.add_json_float();
        }
    }

    /// A JSON number with a fraction or an exponent.
    pub fn add_json_float(&mut self) {
        self.only_numbers();
        self.int64_ok = false;
        self.uint64_ok = false;
        self.integer_ok = false;
    }

    /// The narrowest type every value seen parses as: bool, int64, uint64,
    /// decimal, float64, date32, timestamp, else string.
    pub fn data_type(&self) -> DataType {
        if self.values == 0 || !self.utf8_ok {
            return DataType::Utf8;
        }
        if self.bool_ok && self.bool_word {
            return DataType::Boolean;
        }
        if !self.leading_zero {
            if self.int64_ok {
                return DataType::Int64;
            }
            if self.uint64_ok {
                return DataType::UInt64;
            }
            if self.integer_ok {
                return DataType::Decimal128(MAX_DECIMAL_DIGITS as u8, 0);
            }
            if let (true, Some(scale)) = (self.decimal_ok, self.scale) {
                let integer = (2 * self.integer_digits).max(MIN_DECIMAL_INTEGER_DIGITS);
                let precision = (scale + integer).min(MAX_DECIMAL_DIGITS);
                return DataType::Decimal128(precision as u8, scale as i8);
            }
            if self.float_ok {
                return DataType::Float64;
            }
        }
        if self.date_ok {
            return DataType::Date32;
        }
        if self.timestamp_ok && (self.with_offset == 0 || self.without_offset == 0) {
            let unit = match self.second_digits {
                0..=3 => TimeUnit::Millisecond,
                4..=6 => TimeUnit::Microsecond,
                _ => TimeUnit::Nanosecond,
            };
            let tz = (self.with_offset > 0).then(|| Arc::from("UTC"));
            return DataType::Timestamp(unit, tz);
        }
        DataType::Utf8
    }
}

/// The next wider type to try when the sample refuses `t` after all: a
/// nanosecond timestamp out of range becomes microseconds; anything else
/// becomes a string. `None` for a string.
pub(crate) fn widen(t: &DataType) -> Option<DataType> {
    match t {
        DataType::Utf8 => None,
        DataType::Timestamp(TimeUnit::Nanosecond, tz) => Some(DataType::Timestamp(TimeUnit::Microsecond, tz.clone())),
        _ => Some(DataType::Utf8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(values: &[&str]) -> DataType {
        let mut s = ScalarStats::default();
        for v in values {
            if v.is_empty() {
                s.add_null();
            } else {
                s.add_text(v.as_bytes());
            }
        }
        s.data_type()
    }

    fn ts(unit: TimeUnit, utc: bool) -> DataType {
        DataType::Timestamp(unit, utc.then(|| Arc::from("UTC")))
    }

    #[test]
    fn the_narrowest_type_that_takes_every_value() {
        assert_eq!(infer(&["true", "False", ""]), DataType::Boolean);
        assert_eq!(infer(&["0", "1", "1"]), DataType::Int64, "0/1 alone are numbers");
        assert_eq!(infer(&["0", "1", "yes"]), DataType::Boolean);
        assert_eq!(infer(&["1", "-2", "", "3"]), DataType::Int64);
        assert_eq!(infer(&["1", "18446744073709551615"]), DataType::UInt64);
        assert_eq!(infer(&["-1", "18446744073709551615"]), DataType::Decimal128(38, 0));
        assert_eq!(infer(&["12.50", "0.05", "-3.10"]), DataType::Decimal128(12, 2));
        assert_eq!(infer(&["123456789012.5"]), DataType::Decimal128(25, 1), "twice the integer digits");
        assert_eq!(infer(&["12.5", "0.05"]), DataType::Float64, "fraction digits vary");
        assert_eq!(infer(&["12.50", "7"]), DataType::Float64);
        assert_eq!(infer(&["1e3", "2.5", "nan"]), DataType::Float64);
        assert_eq!(infer(&["007", "123"]), DataType::Utf8, "a leading zero is a code");
        assert_eq!(infer(&["0.5", "10.25"]), DataType::Float64);
        assert_eq!(infer(&["2024-02-29", "1999-12-31"]), DataType::Date32);
        assert_eq!(infer(&["2023-02-29"]), DataType::Utf8, "not a date");
        assert_eq!(infer(&["2024-01-01T10:00:00.123Z", "2024-01-01 10:00:00+05:30"]), ts(TimeUnit::Millisecond, true));
        assert_eq!(infer(&["2024-01-01T10:00:00", "2024-01-02"]), ts(TimeUnit::Millisecond, false));
        assert_eq!(infer(&["2024-01-01T10:00:00.123456"]), ts(TimeUnit::Microsecond, false));
        assert_eq!(infer(&["2024-01-01T10:00:00.123456789-08:00"]), ts(TimeUnit::Nanosecond, true));
        assert_eq!(infer(&["2024-01-01T10:00:00Z", "2024-01-01T10:00:00"]), DataType::Utf8, "mixed offsets");
        assert_eq!(infer(&["", ""]), DataType::Utf8, "nothing but nulls");
        assert_eq!(infer(&["abc", "1"]), DataType::Utf8);
    }

    #[test]
    fn json_numbers_and_bools() {
        let mut s = ScalarStats::default();
        s.add_json_int(5);
        s.add_text(b"7");
        assert_eq!(s.data_type(), DataType::Int64);
        s.add_json_float();
        assert_eq!(s.data_type(), DataType::Float64);
        s.add_json_bool();
        assert_eq!(s.data_type(), DataType::Utf8);
        let mut w = ScalarStats::default();
        w.add_json_int(-5);
        w.add_json_number(99_999_999_999_999_999_999.0);
        assert_eq!(w.data_type(), DataType::Decimal128(38, 0), "an integer past 64 bits");
        w.add_json_number(0.5);
        assert_eq!(w.data_type(), DataType::Float64);
        let mut huge = ScalarStats::default();
        huge.add_json_number(1e40);
        assert_eq!(huge.data_type(), DataType::Float64, "more digits than a decimal holds");
        let mut b = ScalarStats::default();
        b.add_json_bool();
        b.add_text(b"no");
        assert_eq!(b.data_type(), DataType::Boolean);
        let mut d = ScalarStats::default();
        d.add_text(b"1234.50");
        assert_eq!(d.data_type(), DataType::Decimal128(12, 2));
        d.add_json_int(3);
        assert_eq!(d.data_type(), DataType::Float64);
    }

    #[test]
    fn widening_ends_at_string() {
        assert_eq!(widen(&ts(TimeUnit::Nanosecond, true)), Some(ts(TimeUnit::Microsecond, true)));
        assert_eq!(widen(&DataType::Int64), Some(DataType::Utf8));
        assert_eq!(widen(&DataType::Utf8), None);
    }
}
