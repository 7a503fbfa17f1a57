//! Text to typed values, shared by every input format. No allocation on the
//! success path; `None` means "does not parse as this type".

use arrow_array::timezone::Tz;
use arrow_schema::TimeUnit;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone};

pub fn parse_bool(s: &[u8]) -> Option<bool> {
    match s.len() {
        1 => match s[0] {
            b'1' | b't' | b'T' | b'y' | b'Y' => Some(true),
            b'0' | b'f' | b'F' | b'n' | b'N' => Some(false),
            _ => None,
        },
        2 if s.eq_ignore_ascii_case(b"no") => Some(false),
        3 if s.eq_ignore_ascii_case(b"yes") => Some(true),
        4 if s.eq_ignore_ascii_case(b"true") => Some(true),
        5 if s.eq_ignore_ascii_case(b"false") => Some(false),
        _ => None,
    }
}

/// An integer of type `T`; out of range is `None`, not a wrap.
#[inline(always)]
pub fn parse_int<T: lexical_core::FromLexical + TryFrom<u64> + TryFrom<i64>>(s: &[u8]) -> Option<T> {
    match short_int(s) {
        Some(value) => value,
        None => lexical_core::parse(s).ok(),
    }
}

/// The common case of an integer column, `-?d{1,19}`, read eight digits
/// at a time: `Some(value)` once decided (`Some(None)` when out of range
/// for `T`), `None` for every other shape (a `+`, `-0`, more digits), which
/// the general parser decides.
#[inline(always)]
fn short_int<T: TryFrom<u64> + TryFrom<i64>>(s: &[u8]) -> Option<Option<T>> {
    let (neg, digits) = match s.first()? {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let v = digits_value(digits)?;
    Some(match (neg, v) {
        (false, _) => T::try_from(v).ok(),
        (true, 0) => return None,
        // -2^63 is the one negative without a positive i64.
        (true, v) if v <= 1 << 63 => T::try_from((v as i64).wrapping_neg()).ok(),
        (true, _) => None,
    })
}

/// The value of `s`, up to 19 ASCII digits (none is 0), read as at most
/// three 8-byte words; `None` if any byte is not a digit.
#[inline(always)]
fn digits_value(s: &[u8]) -> Option<u64> {
    debug_assert!(s.len() <= 19);
    let n = s.len();
    if n <= 8 {
        return word_value(s);
    }
    let low = word_value(&s[n - 8..])?;
    if n <= 16 {
        return Some(word_value(&s[..n - 8])? * 100_000_000 + low);
    }
    let middle = word_value(&s[n - 16..n - 8])?;
    Some((word_value(&s[..n - 16])? * 100_000_000 + middle) * 100_000_000 + low)
}

/// The value of up to 8 ASCII digits, checked and combined in one word
/// without a branch per digit; `None` if any byte is not a digit.
#[inline(always)]
fn word_value(s: &[u8]) -> Option<u64> {
    let n = s.len();
    debug_assert!(n <= 8);
    if n < 4 {
        // Too few to pay for the word arithmetic: the byte loop, where a
        // point is as wrong as any other byte that is not a digit.
        return match digits_and_point(s)? {
            (v, None) => Some(v),
            (_, Some(_)) => None,
        };
    }
    // The digits in the word's last `n` bytes (little-endian: the first
    // digit lowest), and '0' before them: two 4-byte loads that may
    // overlap (where they do, they hold the same bytes).
    let first = u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
    let last = u64::from(u32::from_le_bytes([s[n - 4], s[n - 3], s[n - 2], s[n - 1]]));
    let w = (last << 32) | (first << (8 * (8 - n))) | ZEROS.checked_shr(8 * n as u32).unwrap_or(0);
    if !all_digits(w, !0) {
        return None;
    }
    // Pairs, then fours, then all eight digits, each step one multiply.
    let w = (w & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(2561) >> 8;
    let w = (w & 0x00FF_00FF_00FF_00FF).wrapping_mul(6_553_601) >> 16;
    Some((w & 0x0000_FFFF_0000_FFFF).wrapping_mul(42_949_672_960_001) >> 32)
}

/// Eight ASCII zeros in one word.
const ZEROS: u64 = 0x3030_3030_3030_3030;

/// Whether every byte lane of `v` that `lanes` selects holds an ASCII
/// digit: 0x30..=0x39, a high nibble of 3 that is still 3 after adding 6.
/// A lane past 0xF9 carries into the next one, but fails the first test.
#[inline(always)]
fn all_digits(v: u64, lanes: u64) -> bool {
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    v & HIGH & lanes == ZEROS & lanes && v.wrapping_add(0x0606_0606_0606_0606) & HIGH & lanes == ZEROS & lanes
}

/// A float. Overflow to infinity (`1e999`) is `None`; `inf`, `-inf` and
/// `nan` written out are accepted.
pub fn parse_float<T: lexical_core::FromLexical + num_float::Float>(s: &[u8]) -> Option<T> {
    if let Some(v) = T::short_decimal(s) {
        return Some(v);
    }
    let v: T = lexical_core::parse(s).ok()?;
    if v.is_infinite() && !s.iter().any(|b| b.is_ascii_alphabetic() && !matches!(b, b'e' | b'E')) {
        return None;
    }
    Some(v)
}

/// Digits at most in [`short_decimal`]: their integer is below 2^53, so
/// exact as a double.
const SHORT_DECIMAL_DIGITS: usize = 15;

/// The common case of a float column, `-?d+(.d+)?` with at most
/// [`SHORT_DECIMAL_DIGITS`] digits, parsed without the general parser: the
/// digits as an integer and a power of ten are both exact doubles, so their
/// quotient is the correctly rounded value (Clinger's fast path), the one
/// the general parser gives. `None` for anything else.
fn short_decimal(s: &[u8]) -> Option<f64> {
    const POW10: [f64; SHORT_DECIMAL_DIGITS + 1] =
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
    let (neg, text) = match s.first()? {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    // The digits and at most one point, in one pass.
    if text.len() > SHORT_DECIMAL_DIGITS + 1 {
        return None;
    }
    let (m, point) = digits_and_point(text)?;
    let fraction = match point {
        // Digits on both sides of the point.
        Some(p) if p > 0 && p + 1 < text.len() => text.len() - p - 1,
        Some(_) => return None,
        None if !text.is_empty() && text.len() <= SHORT_DECIMAL_DIGITS => 0,
        None => return None,
    };
    let v = m as f64 / POW10[fraction];
    Some(if neg { -v } else { v })
}

/// The digits of `text` (at most 19, so that they fit a u64) as one
/// integer, and where its one point is, if any; `None` for any other byte.
/// One pass, with a branch per byte.
#[inline(always)]
fn digits_and_point(text: &[u8]) -> Option<(u64, Option<usize>)> {
    let (mut m, mut point) = (0u64, None);
    for (i, &b) in text.iter().enumerate() {
        let d = b.wrapping_sub(b'0');
        if d < 10 {
            m = m * 10 + u64::from(d);
        } else if b == b'.' && point.is_none() {
            point = Some(i);
        } else {
            return None;
        }
    }
    Some((m, point))
}

pub mod num_float {
    /// What float parsing needs of a float type.
    pub trait Float: Copy {
        fn is_infinite(self) -> bool;
        /// [`super::short_decimal`], where it is exact for the type.
        fn short_decimal(s: &[u8]) -> Option<Self>;
    }
    impl Float for f32 {
        fn is_infinite(self) -> bool {
            f32::is_infinite(self)
        }
        /// A double rounded again to single precision is not always the
        /// correctly rounded single: the general parser decides.
        fn short_decimal(_: &[u8]) -> Option<f32> {
            None
        }
    }
    impl Float for f64 {
        fn is_infinite(self) -> bool {
            f64::is_infinite(self)
        }
        fn short_decimal(s: &[u8]) -> Option<f64> {
            super::short_decimal(s)
        }
    }
}

/// A decimal with at most `precision` digits, `scale` of them after the
/// point, as the unscaled integer. Fewer fraction digits are padded; more
/// are `None` (the value would lose digits). An exponent is not accepted.
pub fn parse_decimal(s: &[u8], precision: u8, scale: i8) -> Option<i128> {
    let (neg, digits) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let scale = scale as usize;
    // Up to 18 digits fit a u64, whose arithmetic is cheaper than an
    // i128's, and are fewer than the 38 significant digits allowed.
    let (value, frac) =
        if digits.len() <= 18 { short_decimal_digits(digits, scale)? } else { decimal_digits(digits, scale)? };
    // Padding to the scale; the common case needs none (and an i128
    // multiplication with an overflow check is costly).
    let value = match scale - frac {
        0 => value,
        pad => value.checked_mul(POW10[pad])?,
    };
    if value >= POW10[precision.min(38) as usize] {
        return None;
    }
    Some(if neg { -value } else { value })
}

/// The digits of an unsigned decimal (`d+(.d*)?` or `.d+`) as an integer
/// without its point, with how many fraction digits it kept: those past
/// `scale` are dropped when zeros, and make it `None` otherwise. `None` too
/// past 38 significant digits, or for no digit at all.
fn decimal_digits(digits: &[u8], scale: usize) -> Option<(i128, usize)> {
    let mut value = 0i128;
    let mut significant = 0usize;
    let mut frac = 0usize;
    let mut seen_point = false;
    let mut seen_digit = false;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d < 10 {
            seen_digit = true;
            if seen_point {
                frac += 1;
                if frac > scale {
                    // Extra fraction digits are fine only as trailing zeros.
                    if d != 0 {
                        return None;
                    }
                    continue;
                }
            }
            if value != 0 || d != 0 {
                significant += 1;
            }
            if significant > 38 {
                return None;
            }
            value = value * 10 + i128::from(d);
        } else if b == b'.' && !seen_point {
            seen_point = true;
        } else {
            return None;
        }
    }
    seen_digit.then_some((value, frac.min(scale)))
}

/// [`decimal_digits`] for at most 18 bytes, whose digits fit a u64: one
/// pass with a branch per byte, the dropped fraction digits checked at the
/// end by a remainder.
#[inline(always)]
fn short_decimal_digits(digits: &[u8], scale: usize) -> Option<(i128, usize)> {
    let (value, point) = digits_and_point(digits)?;
    // No digit at all: nothing, or a point alone.
    if digits.len() == usize::from(point.is_some()) {
        return None;
    }
    let frac = point.map_or(0, |p| digits.len() - p - 1);
    if frac > scale {
        // Extra fraction digits are fine only as trailing zeros.
        let extra = 10u64.pow((frac - scale) as u32);
        if value % extra != 0 {
            return None;
        }
        return Some((i128::from(value / extra), scale));
    }
    Some((i128::from(value), frac))
}

/// Powers of ten that fit an i128, `POW10[i]` = 10^i.
const POW10: [i128; 39] = {
    let mut t = [1i128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// A JSON number's text (`-1.25e3`) as a decimal, by the rule of
/// [`parse_decimal`] applied to its exact value: the exponent moves the
/// point, so `1.5e3` is `1500` and `5e-5` is `0.00005`. Never through a
/// float, so no digit is lost or made up.
pub fn parse_decimal_number(s: &[u8], precision: u8, scale: i8) -> Option<i128> {
    let Some(e) = memchr::memchr2(b'e', b'E', s) else {
        return parse_decimal(s, precision, scale);
    };
    let exponent = parse_exponent(&s[e + 1..])?;
    let (neg, digits) = match s[..e].first()? {
        b'-' => (true, &s[1..e]),
        b'+' => (false, &s[1..e]),
        _ => (false, &s[..e]),
    };
    let point = memchr::memchr(b'.', digits).unwrap_or(digits.len()) as i64;
    let scale = scale as i64;
    let mut value: i128 = 0;
    let mut significant = 0usize;
    // The place of the last digit kept, in digits after the point.
    let mut kept = i64::MIN;
    let mut seen = 0i64;
    let mut seen_point = false;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                seen += 1;
                let place = (seen - point).saturating_sub(exponent);
                if place > scale {
                    // Past the scale the digits are fine only as zeros; every
                    // later digit is further past.
                    if b != b'0' {
                        return None;
                    }
                    continue;
                }
                if value != 0 || b != b'0' {
                    significant += 1;
                }
                if significant > 38 {
                    return None;
                }
                value = value * 10 + (b - b'0') as i128;
                kept = place;
            }
            b'.' if !seen_point => seen_point = true,
            _ => return None,
        }
    }
    if seen == 0 {
        return None;
    }
    if value != 0 {
        // Each step multiplies a non-zero value: at most 38 of them succeed.
        for _ in kept..scale {
            value = value.checked_mul(10)?;
        }
    }
    if value >= POW10[precision.min(38) as usize] {
        return None;
    }
    Some(if neg { -value } else { value })
}

/// The exponent of a number, `+3`, `-12` or `7`; one that does not fit an
/// i64 is held at its bound (`1e-99999999999999999999` is still zero).
fn parse_exponent(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut e: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        e = e.saturating_mul(10).saturating_add((b - b'0') as i64);
    }
    Some(if neg { -e } else { e })
}

/// Days from 1970-01-01 to a valid proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    if !(1..=12).contains(&m) || d == 0 || (d > 28 && d > days_in_month(y, m)) {
        return None;
    }
    // Every date column and timestamp pays this per value: the years most
    // data holds are a table lookup.
    let year = y.wrapping_sub(TABLE_FIRST_YEAR);
    if (0..TABLE_YEARS as i64).contains(&year) {
        return Some(MONTH_STARTS[year as usize * 12 + m as usize - 1] as i64 + d as i64 - 1);
    }
    Some(hinnant_days(y, m, d))
}

/// The first year of [`MONTH_STARTS`], and how many it holds.
const TABLE_FIRST_YEAR: i64 = 1900;
const TABLE_YEARS: usize = 256;
/// Days from 1970-01-01 to the first of each month of 1900 to 2155.
static MONTH_STARTS: [i32; TABLE_YEARS * 12] = month_starts();

const fn month_starts() -> [i32; TABLE_YEARS * 12] {
    let mut table = [0i32; TABLE_YEARS * 12];
    let mut i = 0;
    while i < table.len() {
        table[i] = hinnant_days(TABLE_FIRST_YEAR + (i / 12) as i64, (i % 12) as u32 + 1, 1) as i32;
        i += 1;
    }
    table
}

/// Howard Hinnant's days_from_civil, for a valid date.
const fn hinnant_days(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date (year, month, day) `days` after
/// 1970-01-01 (Howard Hinnant's civil_from_days).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn digits<const N: usize>(s: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &b in s.get(..N)? {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (b - b'0') as u32;
    }
    Some(v)
}

/// `YYYY-MM-DD`, days since the epoch.
pub fn parse_iso_date(s: &[u8]) -> Option<i32> {
    if s.len() != 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let days = days_from_civil(digits::<4>(s)? as i64, digits::<2>(&s[5..])?, digits::<2>(&s[8..])?)?;
    i32::try_from(days).ok()
}

/// A date in a chrono `format`, or ISO `YYYY-MM-DD` without one.
pub fn parse_date(s: &[u8], format: Option<&str>) -> Option<i32> {
    match format {
        None => parse_iso_date(s),
        Some(f) => {
            let d = NaiveDate::parse_from_str(std::str::from_utf8(s).ok()?, f).ok()?;
            i32::try_from(d.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days()).ok()
        }
    }
}

/// A point in time before it is put in a unit: seconds and nanoseconds since
/// the epoch (UTC when `utc`, wall-clock time when the text had no offset).
struct Instant {
    secs: i64,
    nanos: u32,
    utc: bool,
}

/// The common shape `YYYY-MM-DDTHH:MM:SS`, checked and read as two 8-byte
/// words and three bytes, without a branch per digit: days since the
/// epoch, hour, minute, second, and where the rest (fraction, offset)
/// starts. `None` for any other shape (the caller reads it byte by byte).
#[inline(always)]
fn date_time_words(s: &[u8]) -> Option<(i64, u32, u32, u32, usize)> {
    let date = u64::from_le_bytes(*s.first_chunk::<8>()?);
    let time = u64::from_le_bytes(*s.get(8..)?.first_chunk::<8>()?);
    let rest = s.get(16..19)?;
    // Byte lanes (little-endian) that hold digits, and the separators.
    const DATE_DIGITS: u64 = 0x00FF_FF00_FFFF_FFFF; // YYYY-MM-
    const TIME_DIGITS: u64 = 0xFFFF_00FF_FF00_FFFF; // DDTHH:MM
    const DATE_SEPARATORS: u64 = 0x2D00_002D_0000_0000; // '-' at 4 and 7
    const TIME_SEPARATORS: u64 = 0x0000_3A00_0054_0000; // 'T' at 2, ':' at 5
    let separators_ok =
        date & !DATE_DIGITS == DATE_SEPARATORS && time & !TIME_DIGITS == TIME_SEPARATORS && rest[0] == b':';
    if !(separators_ok && all_digits(date, DATE_DIGITS) && all_digits(time, TIME_DIGITS)) {
        return None;
    }
    let digit = |v: u64, lane: u32| ((v >> (8 * lane)) & 0xF) as u32;
    let two = |v: u64, lane: u32| digit(v, lane) * 10 + digit(v, lane + 1);
    let year = two(date, 0) * 100 + two(date, 2);
    let days = days_from_civil(year as i64, two(date, 5), two(time, 0))?;
    let sec = digits::<2>(&rest[1..])?;
    Some((days, two(time, 3), two(time, 6), sec, 19))
}

/// [`date_time_words`] for every shape ISO 8601 allows: `T`, `t` or a
/// space between date and time, seconds optional, or a date alone (which
/// ends at 10, at midnight).
fn date_time_bytes(s: &[u8]) -> Option<(i64, u32, u32, u32, usize)> {
    if s.len() < 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let days = days_from_civil(digits::<4>(s)? as i64, digits::<2>(&s[5..])?, digits::<2>(&s[8..])?)?;
    if s.len() == 10 {
        return Some((days, 0, 0, 0, 10));
    }
    if !matches!(s[10], b'T' | b't' | b' ') || s.len() < 16 || s[13] != b':' {
        return None;
    }
    let (h, mi) = (digits::<2>(&s[11..])?, digits::<2>(&s[14..])?);
    if s.get(16) == Some(&b':') {
        return Some((days, h, mi, digits::<2>(&s[17..])?, 19));
    }
    Some((days, h, mi, 0, 16))
}

/// ISO 8601 / RFC 3339: `YYYY-MM-DD[T ]HH:MM[:SS[.f{1,9}]][Z|±HH[:MM]]`, or a
/// date alone (midnight).
fn parse_iso_instant(s: &[u8]) -> Option<Instant> {
    let (days, h, mi, sec, mut i) = date_time_words(s).or_else(|| date_time_bytes(s))?;
    let mut nanos = 0u32;
    if matches!(s.get(i), Some(b'.') | Some(b',')) {
        i += 1;
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + (s[i] - b'0') as u32;
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        // Up to nanoseconds, by one multiply (a loop of them was a chain
        // of six on millisecond text).
        const SCALE: [u32; 9] = [100_000_000, 10_000_000, 1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];
        nanos *= SCALE[n.min(9) - 1];
    }
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let mut secs = days * 86_400 + (h * 3600 + mi * 60 + sec) as i64;
    let rest = &s[i..];
    let utc = match rest {
        [] => false,
        [b'Z' | b'z'] => true,
        [sign @ (b'+' | b'-'), off @ ..] => {
            let (oh, om) = match off.len() {
                2 => (digits::<2>(off)?, 0),
                4 => (digits::<2>(off)?, digits::<2>(&off[2..])?),
                5 if off[2] == b':' => (digits::<2>(off)?, digits::<2>(&off[3..])?),
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let off = (oh * 3600 + om * 60) as i64;
            secs -= if *sign == b'+' { off } else { -off };
            true
        }
        _ => return None,
    };
    Some(Instant { secs, nanos, utc })
}

/// Parses timestamps for one column: unit, optional zone, optional format.
#[derive(Debug, Clone)]
pub struct TimestampParser {
    unit: TimeUnit,
    /// The column's zone, when it is not UTC: wall-clock values are read in it.
    local_zone: Option<Tz>,
    format: Option<String>,
}

impl TimestampParser {
    pub fn new(unit: TimeUnit, tz: Option<&str>, format: Option<String>) -> Self {
        let local_zone =
            tz.filter(|t| !matches!(*t, "UTC" | "utc" | "Z" | "+00:00" | "Etc/UTC")).and_then(|t| t.parse::<Tz>().ok());
        TimestampParser { unit, local_zone, format }
    }

    /// The value in the column's unit since the epoch: UTC when the text has
    /// an offset (or the column a zone), wall-clock time otherwise.
    pub fn parse(&self, s: &[u8]) -> Option<i64> {
        let instant = match &self.format {
            None => parse_iso_instant(s)?,
            Some(f) => parse_with_format(std::str::from_utf8(s).ok()?, f)?,
        };
        let secs = match (&self.local_zone, instant.utc) {
            (Some(tz), false) => {
                let naive = DateTime::from_timestamp(instant.secs, 0)?.naive_utc();
                tz.from_local_datetime(&naive).single()?.timestamp()
            }
            _ => instant.secs,
        };
        let n = instant.nanos as i64;
        match self.unit {
            TimeUnit::Second => Some(secs),
            TimeUnit::Millisecond => secs.checked_mul(1_000)?.checked_add(n / 1_000_000),
            TimeUnit::Microsecond => secs.checked_mul(1_000_000)?.checked_add(n / 1_000),
            TimeUnit::Nanosecond => secs.checked_mul(1_000_000_000)?.checked_add(n),
        }
    }
}

fn parse_with_format(s: &str, f: &str) -> Option<Instant> {
    if let Ok(dt) = DateTime::parse_from_str(s, f) {
        return Some(Instant { secs: dt.timestamp(), nanos: dt.timestamp_subsec_nanos(), utc: true });
    }
    let naive = NaiveDateTime::parse_from_str(s, f)
        .ok()
        .or_else(|| NaiveDate::parse_from_str(s, f).ok().and_then(|d| d.and_hms_opt(0, 0, 0)))?;
    let utc = naive.and_utc();
    Some(Instant { secs: utc.timestamp(), nanos: utc.timestamp_subsec_nanos(), utc: false })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A xorshift sequence from `seed`: each call, a number below `n`.
    pub(crate) fn below(mut x: u64) -> impl FnMut(u64) -> u64 {
        move |n| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        }
    }

    #[test]
    fn short_decimals_parse_as_the_general_parser_does() {
        let mut cases: Vec<String> = [
            "0",
            "-0",
            "00.10",
            "1.",
            ".5",
            "-",
            "",
            "-.5",
            "+1.5",
            "1e5",
            "1.5E-3",
            "0.1",
            "0.2",
            "0.3",
            "123456789012345",
            "1234567890123456",
            "999999999999999",
            "0.000000000000001",
            "9007199254740993",
            "1.7976931348623157",
            "-12.50",
            "1..2",
            "1.2.3",
            "1,5",
            " 1.5",
            "1.5 ",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut next = below(0x2545_F491_4F6C_DD1Du64);
        for _ in 0..200_000 {
            let digits = |n: u64, next: &mut dyn FnMut(u64) -> u64| -> String {
                (0..n).map(|_| char::from(b'0' + next(10) as u8)).collect()
            };
            let (int, frac) = (next(12), next(12));
            let mut s = if next(3) == 0 { "-".to_string() } else { String::new() };
            s += &digits(int.max(1), &mut next);
            if frac > 0 {
                s += ".";
                s += &digits(frac, &mut next);
            }
            cases.push(s);
        }
        let mut fast = 0;
        for s in &cases {
            let general: Option<f64> = lexical_core::parse(s.as_bytes()).ok();
            if let Some(v) = short_decimal(s.as_bytes()) {
                fast += 1;
                assert_eq!(Some(v.to_bits()), general.map(f64::to_bits), "{s:?}");
            }
            let got = parse_float::<f64>(s.as_bytes());
            assert_eq!(got.map(f64::to_bits), general.filter(|v| v.is_finite()).map(f64::to_bits), "{s:?}");
        }
        assert!(fast > 150_000, "the fast path took only {fast}");
    }

    #[test]
    fn integers_refuse_overflow_and_junk() {
        assert_eq!(parse_int::<i8>(b"-128"), Some(-128));
        assert_eq!(parse_int::<i8>(b"128"), None);
        assert_eq!(parse_int::<u64>(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_int::<u64>(b"-1"), None);
        assert_eq!(parse_int::<i64>(b"1.0"), None);
        assert_eq!(parse_int::<i64>(b" 1"), None);
        assert_eq!(parse_int::<i64>(b""), None);
    }

    /// Integers of every width read as the general parser reads them, on
    /// strings of 0 to 22 bytes around the 8-, 16- and 19-digit word
    /// boundaries, with signs, leading zeros and bytes that are no digit.
    #[test]
    fn word_read_integers_parse_as_the_general_parser_does() {
        fn agree<T>(s: &str) -> bool
        where
            T: lexical_core::FromLexical + TryFrom<u64> + TryFrom<i64> + PartialEq + std::fmt::Debug,
        {
            let general: Option<T> = lexical_core::parse(s.as_bytes()).ok();
            assert_eq!(parse_int::<T>(s.as_bytes()), general, "{s:?} as {}", std::any::type_name::<T>());
            short_int::<T>(s.as_bytes()).is_some()
        }
        let mut cases: Vec<String> = ["", "-", "+", "-0", "+0", "0", "00", "-00000000000000000001", "1 ", " 1", "1-"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let edges: [i128; 11] = [
            i8::MIN.into(),
            i8::MAX.into(),
            i16::MIN.into(),
            i16::MAX.into(),
            i32::MIN.into(),
            i32::MAX.into(),
            i64::MIN.into(),
            i64::MAX.into(),
            u8::MAX.into(),
            u16::MAX.into(),
            u64::MAX.into(),
        ];
        for edge in edges.into_iter().chain([u32::MAX.into()]) {
            for v in [edge - 1, edge, edge + 1] {
                cases.push(v.to_string());
            }
        }
        let mut next = below(0x9E37_79B9_7F4A_7C15);
        let bytes = b"0123456789012345678901234567890123456789-+. a\xff";
        for _ in 0..200_000 {
            let len = next(23) as usize;
            let mut s: Vec<u8> = (0..len).map(|_| b'0' + next(10) as u8).collect();
            match next(6) {
                0 if len > 0 => s[0] = b'-',
                1 if len > 0 => s[next(len as u64) as usize] = bytes[next(bytes.len() as u64) as usize],
                _ => {}
            }
            cases.push(String::from_utf8_lossy(&s).into_owned());
        }
        let mut fast = 0;
        for s in &cases {
            let taken = [
                agree::<i8>(s),
                agree::<i16>(s),
                agree::<i32>(s),
                agree::<i64>(s),
                agree::<u8>(s),
                agree::<u16>(s),
                agree::<u32>(s),
                agree::<u64>(s),
            ];
            fast += usize::from(taken.iter().all(|&t| t));
        }
        assert!(fast > cases.len() / 2, "the word reading took only {fast} of {}", cases.len());
    }

    #[test]
    fn floats_refuse_overflow_but_take_inf_written_out() {
        assert_eq!(parse_float::<f64>(b"1.5e3"), Some(1500.0));
        assert_eq!(parse_float::<f64>(b"-0").map(f64::is_sign_negative), Some(true));
        assert_eq!(parse_float::<f64>(b"1e999"), None);
        assert_eq!(parse_float::<f64>(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_float::<f64>(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_float::<f64>(b"NaN").unwrap().is_nan());
        assert_eq!(parse_float::<f64>(b"abc"), None);
    }

    #[test]
    fn decimals_keep_every_digit_or_refuse() {
        assert_eq!(parse_decimal(b"1234.50", 12, 2), Some(123450));
        assert_eq!(parse_decimal(b"-0.5", 12, 2), Some(-50));
        assert_eq!(parse_decimal(b"7", 12, 2), Some(700));
        assert_eq!(parse_decimal(b"1.230", 12, 2), Some(123));
        assert_eq!(parse_decimal(b"1.234", 12, 2), None, "would lose a digit");
        assert_eq!(parse_decimal(b"12345678901.00", 12, 2), None, "precision");
        assert_eq!(parse_decimal(b"9999999999.99", 12, 2), Some(999_999_999_999));
        assert_eq!(parse_decimal(b".", 12, 2), None);
        assert_eq!(parse_decimal(b"1e3", 12, 2), None);
        assert_eq!(
            parse_decimal(b"99999999999999999999999999999999999999", 38, 0),
            Some(99_999_999_999_999_999_999_999_999_999_999_999_999)
        );
        assert_eq!(parse_decimal(b"999999999999999999", 38, 20), Some(999_999_999_999_999_999 * POW10[20]));
        assert_eq!(parse_decimal(b"0000000000000000001.5", 3, 1), Some(15));
        assert_eq!(parse_decimal(b"12.", 4, 2), Some(1200));
        assert_eq!(parse_decimal(b".25", 2, 2), Some(25));
        assert_eq!(parse_decimal(b"-", 4, 2), None);
        assert_eq!(parse_decimal(b"1.2.", 4, 2), None);
    }

    #[test]
    fn short_decimals_read_as_long_ones_do() {
        // Up to 18 bytes go through u64 arithmetic; the i128 reading of
        // the same text is the reference.
        let mut next = below(0x9E37_79B9_7F4A_7C15u64);
        for _ in 0..200_000 {
            let len = next(21) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| match next(24) {
                    0 => b'.',
                    1 => b'0',
                    2 => b'x',
                    d => b'0' + (d % 10) as u8,
                })
                .collect();
            let (precision, scale) = (1 + next(38) as u8, next(12) as i8);
            let scale = scale.min(precision as i8);
            let reference = decimal_digits(&text, scale as usize).and_then(|(v, frac)| {
                let v = v.checked_mul(POW10[scale as usize - frac])?;
                (v < POW10[precision as usize]).then_some(v)
            });
            assert_eq!(parse_decimal(&text, precision, scale), reference, "{:?}", String::from_utf8_lossy(&text));
        }
    }

    #[test]
    fn json_numbers_move_the_point_by_their_exponent() {
        assert_eq!(parse_decimal_number(b"1.5e3", 10, 2), Some(150_000));
        assert_eq!(parse_decimal_number(b"1E-10", 38, 10), Some(1));
        assert_eq!(parse_decimal_number(b"5e-5", 5, 5), Some(5));
        assert_eq!(parse_decimal_number(b"-2.50E+1", 10, 2), Some(-2500));
        assert_eq!(parse_decimal_number(b"1.234e1", 10, 2), Some(1234));
        assert_eq!(parse_decimal_number(b"1.2345e1", 10, 2), None, "would lose a digit");
        assert_eq!(parse_decimal_number(b"123e-5", 10, 2), None, "would lose a digit");
        assert_eq!(parse_decimal_number(b"100e-2", 10, 0), Some(1));
        assert_eq!(parse_decimal_number(b"1.000e-1", 10, 1), Some(1));
        assert_eq!(parse_decimal_number(b"1e8", 10, 2), None, "precision");
        assert_eq!(parse_decimal_number(b"1e7", 10, 2), Some(1_000_000_000));
        assert_eq!(parse_decimal_number(b"0e99999999999999999999", 10, 2), Some(0));
        assert_eq!(parse_decimal_number(b"-0.0e-99999999999999999999", 10, 2), Some(0));
        assert_eq!(parse_decimal_number(b"1e99999999999999999999", 38, 0), None);
        assert_eq!(parse_decimal_number(b"1e-99999999999999999999", 38, 0), None);
        assert_eq!(
            parse_decimal_number(b"9.9999999999999999999999999999999999999e37", 38, 0),
            Some(10i128.pow(38) - 1)
        );
        assert_eq!(parse_decimal_number(b"1e", 10, 2), None);
        assert_eq!(parse_decimal_number(b"e1", 10, 2), None);
        assert_eq!(parse_decimal_number(b"1.2.3e1", 10, 2), None);
    }

    #[test]
    fn json_numbers_without_an_exponent_follow_the_field_rule() {
        for text in ["0", "-0", "1234.50", "-0.5", "1.234", "99999999999999999999999999999999999999", "0.0000000001"] {
            for (p, s) in [(12, 2), (38, 0), (38, 10), (38, 19), (5, 5)] {
                let (a, b) = (parse_decimal_number(text.as_bytes(), p, s), parse_decimal(text.as_bytes(), p, s));
                assert_eq!(a, b, "{text} as decimal({p},{s})");
            }
        }
    }

    #[test]
    fn the_month_table_agrees_with_the_formula() {
        for y in [-5000, -1, 0, 1, 1582, 1899, 1900, 1970, 2000, 2024, 2100, 2155, 2156, 9999] {
            for m in 1..=12 {
                for d in 1..=days_in_month(y, m) {
                    assert_eq!(days_from_civil(y, m, d), Some(hinnant_days(y, m, d)), "{y}-{m}-{d}");
                }
                assert_eq!(days_from_civil(y, m, days_in_month(y, m) + 1), None);
            }
        }
        for y in TABLE_FIRST_YEAR..TABLE_FIRST_YEAR + TABLE_YEARS as i64 {
            assert_eq!(civil_from_days(days_from_civil(y, 3, 1).unwrap()), (y, 3, 1));
        }
    }

    #[test]
    fn dates_are_checked_against_the_calendar() {
        assert_eq!(parse_iso_date(b"1970-01-01"), Some(0));
        assert_eq!(parse_iso_date(b"2024-02-29"), Some(19782));
        assert_eq!(parse_iso_date(b"2023-02-29"), None);
        assert_eq!(parse_iso_date(b"1900-02-29"), None);
        assert_eq!(parse_iso_date(b"2000-02-29"), Some(11016));
        assert_eq!(parse_iso_date(b"1969-12-31"), Some(-1));
        assert_eq!(parse_date(b"31/12/1999", Some("%d/%m/%Y")), Some(10956));
    }

    #[test]
    fn timestamps_with_offsets_become_utc() {
        let ms = TimestampParser::new(TimeUnit::Millisecond, Some("UTC"), None);
        assert_eq!(ms.parse(b"1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(ms.parse(b"1970-01-01T05:30:00.000+05:30"), Some(0));
        assert_eq!(ms.parse(b"1969-12-31T19:00:00-05:00"), Some(0));
        assert_eq!(ms.parse(b"1970-01-01 00:00:00+0100"), Some(-3_600_000));
        assert_eq!(ms.parse(b"1970-01-01T00:00"), Some(0));
        assert_eq!(ms.parse(b"1970-01-01T24:00:00Z"), None);
        assert_eq!(ms.parse(b"1970-01-01T00:00:00+5"), None);
        let ns = TimestampParser::new(TimeUnit::Nanosecond, None, None);
        assert_eq!(ns.parse(b"1970-01-01T00:00:00.123456789"), Some(123_456_789));
        // Every count of fraction digits; past nine they are cut.
        let digits = "123456789012";
        for n in 1..=digits.len() {
            let text = format!("1970-01-01T00:00:00.{}Z", &digits[..n]);
            let want: i64 = format!("{:0<9}", &digits[..n.min(9)]).parse().unwrap();
            assert_eq!(ns.parse(text.as_bytes()), Some(want), "{text}");
        }
        assert_eq!(ns.parse(b"1970-01-01T00:00:00.Z"), None);
        assert_eq!(ns.parse(b"2300-01-01T00:00:00"), None, "out of range for ns");
    }

    #[test]
    fn the_word_reading_of_timestamps_agrees_with_the_byte_reading() {
        let mut next = below(0x2545_F491_4F6C_DD1Du64);
        let junk = b"0123456789-:Tt .Z+/\x00\xff\x2f\x3a\xfa";
        let (mut fast, mut total) = (0, 0);
        for _ in 0..300_000 {
            let mut s = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                next(10_000),
                next(14),
                next(33),
                next(26),
                next(62),
                next(62),
                next(1000)
            )
            .into_bytes();
            // Up to two bytes changed, or the text cut short.
            for _ in 0..next(3) {
                let at = next(s.len() as u64) as usize;
                s[at] = junk[next(junk.len() as u64) as usize];
            }
            if next(4) == 0 {
                s.truncate(next(s.len() as u64 + 1) as usize);
            }
            total += 1;
            if let Some(words) = date_time_words(&s) {
                fast += 1;
                assert_eq!(Some(words), date_time_bytes(&s), "{:?}", String::from_utf8_lossy(&s));
            }
        }
        assert!(fast > total / 3, "the word reading took only {fast} of {total}");
    }

    #[test]
    fn wall_clock_values_are_read_in_the_column_zone() {
        let p = TimestampParser::new(TimeUnit::Second, Some("Europe/Paris"), None);
        assert_eq!(p.parse(b"2024-01-01T01:00:00"), Some(1_704_067_200));
        assert_eq!(p.parse(b"2024-01-01T01:00:00Z"), Some(1_704_070_800));
    }

    #[test]
    fn user_formats() {
        let p = TimestampParser::new(TimeUnit::Second, None, Some("%d/%m/%Y %H:%M".into()));
        assert_eq!(p.parse(b"02/01/1970 00:01"), Some(86_460));
        assert_eq!(p.parse(b"1970-01-02"), None);
        let z = TimestampParser::new(TimeUnit::Second, Some("UTC"), Some("%d/%m/%Y %H:%M %z".into()));
        assert_eq!(z.parse(b"01/01/1970 01:00 +0100"), Some(0));
    }
}
