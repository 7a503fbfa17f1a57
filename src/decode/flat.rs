//! The fast path of the JSON decoder, for the record most inputs are made
//! of: one flat object whose values are strings without escapes, short
//! numbers, booleans and nulls. Such a record is read here in one pass,
//! straight from the chunk, with no tape and no copy.
//!
//! Anything else is declined before a value is appended, and simd-json
//! reads that record: an escape, a nested value, a long number or one with
//! an exponent, a repeated key, a missing value that the schema requires,
//! and any text that is not good JSON. The values taken here are the ones
//! simd-json's tape holds for them ([`Scalar`]), appended by the same code
//! ([`append_scalar`]), so the two paths make the same rows; a value a
//! column refuses is reported by the general path, which lists every
//! problem of the record. The tests below and the fuzz target
//! `json_fast_path` compare both paths.
//!
//! A chunk takes the fast path only when it is valid UTF-8 and holds no
//! control character but line breaks ([`plain_text`]), so that the strings
//! read here need no check of their own beyond a search for the one line
//! break that could be inside them ([`FlatReader::breaking_at`]).

use super::json::{append_scalar, same_bytes, Builder, Scalar};
use crate::spec::Schema;

/// Reads flat records into a schema's top-level scalar columns.
pub(super) struct FlatReader {
    /// Each column's name followed by its closing quote, as a record
    /// writes it, and whether the column may be null.
    quoted: Vec<Box<[u8]>>,
    nullable: Vec<bool>,
    unknown_fields_are_errors: bool,
    /// The current record's value for each column.
    slots: Vec<Option<Token>>,
    /// The current record's keys that name no column.
    unknown: Vec<(usize, usize)>,
    /// The current record's strings that held escapes, unescaped.
    unescaped: Vec<u8>,
    /// The one control character the chunk's records may hold, outside
    /// strings (a line break): a string that holds it is declined.
    line_break: u8,
    /// What compact JSON writes before each column's value when a record
    /// gives every column, in the schema's order: `{"first":`, then
    /// `,"next":` ([`FlatReader::read_compact`]).
    compact: Vec<Box<[u8]>>,
    /// Whether records are still tried against `compact` first: the
    /// credit grows with each record that matches and shrinks faster with
    /// each that does not, so that input written otherwise soon stops
    /// paying for the try.
    compact_credit: i32,
}

/// What became of a record.
pub(super) enum Flat {
    /// Appended as a row; the values the null policy made null.
    Appended(u64),
    /// Not taken: nothing was appended, and the general path reads it.
    Declined,
    /// A value did not fit its column, after some of the row's values were
    /// appended: the builders hold a partial row, and the general path
    /// must tell what is wrong.
    Failed,
}

/// A value in the record, by its bytes' range.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    Null,
    Bool(bool),
    /// A string's contents, without the quotes.
    Str(usize, usize),
    /// A string with escapes, unescaped into the reader's buffer.
    Unescaped(usize, usize),
    /// An integer of at most [`MAX_INT_DIGITS`] digits, with its sign.
    Int(usize, usize),
    /// A number with a fraction and no exponent, of at most
    /// [`MAX_FLOAT_DIGITS`] digits.
    Float(usize, usize),
}

/// Keys naming no column that one record may give on this path (each is
/// compared with those before it, to refuse one given twice).
const MAX_UNKNOWN_KEYS: usize = 16;
/// The most credit the compact form of a record earns, and what a
/// record not in that form costs ([`FlatReader::compact_credit`]).
const COMPACT_CREDIT: i32 = 64;
const COMPACT_MISS: i32 = 8;
/// Integers that simd-json reads on its common path, as exact values.
const MAX_INT_DIGITS: usize = 17;
/// Digits of a number with a fraction that simd-json reads as the digits'
/// integer divided by a power of ten (exact in a double up to 2^53): the
/// same operation here gives the same double.
const MAX_FLOAT_DIGITS: usize = 15;
const POW10: [f64; MAX_FLOAT_DIGITS + 1] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

impl FlatReader {
    /// A reader for `schema`, when its columns are all top-level scalars
    /// whose names need no escape in JSON.
    pub(super) fn new(schema: &Schema, unknown_fields_are_errors: bool) -> Option<FlatReader> {
        let plain_name = |n: &str| n.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
        if schema.columns.iter().any(|c| c.data_type.is_nested() || !plain_name(&c.name)) {
            return None;
        }
        Some(FlatReader {
            quoted: schema.columns.iter().map(|c| format!("{}\"", c.name).into_bytes().into()).collect(),
            nullable: schema.columns.iter().map(|c| c.nullable).collect(),
            unknown_fields_are_errors,
            slots: vec![None; schema.len()],
            unknown: Vec::new(),
            unescaped: Vec::new(),
            line_break: b'\n',
            compact: (schema.columns.iter().enumerate())
                .map(|(i, c)| format!("{}\"{}\":", if i == 0 { '{' } else { ',' }, c.name).into_bytes().into())
                .collect(),
            // A record of no columns is `{}`, which the compact form misses.
            compact_credit: if schema.columns.is_empty() { 0 } else { COMPACT_CREDIT },
        })
    }

    /// The reader for a chunk whose only control character, besides what
    /// [`plain_text`] allows, may be `line_break` (`\n` for NDJSON and
    /// JSON arrays, `\r` for CRLF NDJSON, whose records hold no `\n`).
    pub(super) fn breaking_at(mut self, line_break: u8) -> Self {
        self.line_break = line_break;
        self
    }

    /// Appends `record` (a line, or an array element) to `root`, the
    /// builders of the reader's schema.
    pub(super) fn append(&mut self, root: &mut Builder, record: &[u8], null_bad_values: bool) -> Flat {
        if self.read(record).is_none() {
            return Flat::Declined;
        }
        let required = self.slots.iter().zip(&self.nullable);
        if required.into_iter().any(|(slot, nullable)| !nullable && matches!(slot, None | Some(Token::Null))) {
            return Flat::Declined;
        }
        let Builder::Struct { children, .. } = root else { unreachable!("the root is a struct") };
        let mut nulled = 0;
        for (child, slot) in children.iter_mut().zip(&self.slots) {
            let Builder::Scalar { builder, nullable, .. } = child else { unreachable!("flat schemas only") };
            let token = match *slot {
                None | Some(Token::Null) => {
                    builder.append_null();
                    continue;
                }
                Some(token) => token,
            };
            let text = |(start, end): (usize, usize)| &record[start..end];
            let (scalar, span) = match token {
                Token::Null => unreachable!("appended as null above"),
                Token::Bool(b) => (Scalar::Bool(b), (0, 0)),
                // SAFETY: the chunk is valid UTF-8 (see `plain_text`), and a
                // string is cut at its quotes, which are ASCII.
                Token::Str(s, e) => (Scalar::Str(unsafe { std::str::from_utf8_unchecked(&record[s..e]) }), (s, e)),
                // SAFETY: valid UTF-8 cut at ASCII bytes, and the ASCII
                // characters that escapes stand for.
                Token::Unescaped(s, e) => {
                    (Scalar::Str(unsafe { std::str::from_utf8_unchecked(&self.unescaped[s..e]) }), (0, 0))
                }
                Token::Int(s, e) => (int(&record[s..e]), (s, e)),
                Token::Float(s, e) => (float(&record[s..e]), (s, e)),
            };
            match append_scalar(builder, scalar, || text(span)) {
                Ok(()) => {}
                Err(_) if *nullable && null_bad_values => {
                    builder.append_null();
                    nulled += 1;
                }
                Err(_) => return Flat::Failed,
            }
        }
        Flat::Appended(nulled)
    }

    /// Fills the slots from `record`; `None` when it is not a record this
    /// path takes.
    fn read(&mut self, b: &[u8]) -> Option<()> {
        self.slots.fill(None);
        self.unknown.clear();
        self.unescaped.clear();
        if self.compact_credit > 0 {
            if self.read_compact(b).is_some() {
                self.compact_credit = (self.compact_credit + 1).min(COMPACT_CREDIT);
                return Some(());
            }
            self.compact_credit -= COMPACT_MISS;
            self.slots.fill(None);
            self.unescaped.clear();
        }
        let mut i = space(b, 0);
        if *b.get(i)? != b'{' {
            return None;
        }
        i = space(b, i + 1);
        if *b.get(i)? == b'}' {
            return (space(b, i + 1) == b.len()).then_some(());
        }
        // Objects mostly give their keys in the schema's order: the column
        // after the last one found is tried first.
        let mut next = 0;
        loop {
            if *b.get(i)? != b'"' {
                return None;
            }
            i += 1;
            let column = match self.quoted.get(next) {
                Some(quoted) if b.get(i..i + quoted.len()).is_some_and(|key| same_bytes(key, quoted)) => {
                    i += quoted.len() - 1;
                    Some(next)
                }
                _ => {
                    let end = string_end(b, i, self.line_break)?;
                    let key = &b[i..end];
                    let column = self.quoted.iter().position(|q| q[..q.len() - 1] == *key);
                    if column.is_none() {
                        let seen = self.unknown.iter().any(|&(s, e)| b[s..e] == *key);
                        if self.unknown_fields_are_errors || seen || self.unknown.len() == MAX_UNKNOWN_KEYS {
                            return None;
                        }
                        self.unknown.push((i, end));
                    }
                    i = end;
                    column
                }
            };
            i = space(b, i + 1);
            if *b.get(i)? != b':' {
                return None;
            }
            i = space(b, i + 1);
            let (token, end) = value(b, i, &mut self.unescaped, self.line_break)?;
            if let Some(c) = column {
                if self.slots[c].replace(token).is_some() {
                    return None;
                }
                next = c + 1;
            }
            i = space(b, end);
            match *b.get(i)? {
                b',' => i = space(b, i + 1),
                b'}' => return (space(b, i + 1) == b.len()).then_some(()),
                _ => return None,
            }
        }
    }

    /// Fills the slots from a record that gives every column once, in the
    /// schema's order, with no space between keys, colons and values:
    /// each column's key and what precedes it are one compare with
    /// `compact`. `None` for any other record, which [`FlatReader::read`]
    /// then reads key by key (and takes as this would, where this does).
    fn read_compact(&mut self, b: &[u8]) -> Option<()> {
        let mut i = space(b, 0);
        for (slot, key) in self.slots.iter_mut().zip(&self.compact) {
            if !b.get(i..i + key.len()).is_some_and(|k| same_bytes(k, key)) {
                return None;
            }
            let (token, end) = value(b, i + key.len(), &mut self.unescaped, self.line_break)?;
            *slot = Some(token);
            i = end;
        }
        (b.get(i) == Some(&b'}') && space(b, i + 1) == b.len()).then_some(())
    }
}

/// The value starting at `b[i]` and where it ends; `None` for one this
/// path does not take. What follows the value is the caller's to check.
///
/// Always inlined, and its helpers return plain integers: a token returned
/// through memory was written field by field and read back whole, which
/// stalled the load on the stores (about 5% of an NDJSON run).
#[inline(always)]
fn value(b: &[u8], i: usize, unescaped: &mut Vec<u8>, line_break: u8) -> Option<(Token, usize)> {
    let literal = |word: &[u8], token: Token| {
        let found = b.get(i..i + word.len()).is_some_and(|w| same_bytes(w, word));
        found.then_some((token, i + word.len()))
    };
    match *b.get(i)? {
        b'"' => {
            let before = unescaped.len();
            let close = string(b, i + 1, unescaped, line_break)?;
            // An escape always leaves at least the character it stands for.
            let token = if unescaped.len() > before {
                Token::Unescaped(before, unescaped.len())
            } else {
                Token::Str(i + 1, close)
            };
            Some((token, close + 1))
        }
        b't' => literal(b"true", Token::Bool(true)),
        b'f' => literal(b"false", Token::Bool(false)),
        b'n' => literal(b"null", Token::Null),
        b'-' | b'0'..=b'9' => {
            let (fraction, end) = number(b, i)?;
            Some((if fraction { Token::Float(i, end) } else { Token::Int(i, end) }, end))
        }
        _ => None,
    }
}

/// A number by JSON's grammar without an exponent, short enough to read
/// exactly as simd-json does: whether it has a fraction, and its end.
#[inline]
fn number(b: &[u8], start: usize) -> Option<(bool, usize)> {
    let digits_from = |mut j: usize| {
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        j
    };
    let int_start = start + usize::from(b[start] == b'-');
    let int_end = match *b.get(int_start)? {
        // A leading zero stands alone (a digit after it fails the caller's
        // check of what follows the value).
        b'0' => int_start + 1,
        b'1'..=b'9' => digits_from(int_start + 1),
        _ => return None,
    };
    if b.get(int_end) != Some(&b'.') {
        if matches!(b.get(int_end), Some(b'e' | b'E')) || int_end - int_start > MAX_INT_DIGITS {
            return None;
        }
        return Some((false, int_end));
    }
    let end = digits_from(int_end + 1);
    let digits = (int_end - int_start) + (end - int_end - 1);
    if end == int_end + 1 || matches!(b.get(end), Some(b'e' | b'E')) || digits > MAX_FLOAT_DIGITS {
        return None;
    }
    Some((true, end))
}

/// An integer token's value, typed as simd-json types it: unsigned
/// without a sign, signed with one.
fn int(text: &[u8]) -> Scalar<'static> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let v = digits.iter().fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
    if negative {
        Scalar::I64((v as i64).wrapping_neg())
    } else {
        Scalar::U64(v)
    }
}

/// A fraction token's value: its digits as an integer over a power of ten,
/// the operation simd-json does for such numbers.
fn float(text: &[u8]) -> Scalar<'static> {
    let (negative, body) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let point = body.iter().position(|&b| b == b'.').expect("a fraction token has a point");
    let digits = body.iter().filter(|b| b.is_ascii_digit());
    let significand = digits.fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
    let f = significand as f64 / POW10[body.len() - point - 1];
    Scalar::F64(if negative { -f } else { f })
}

/// The closing quote of the string whose contents start at `from`.
/// Escapes of one character are unescaped, with the text around them,
/// into `unescaped` (which grows only for a string with escapes);
/// `None` for a `\u` escape (or any other), a raw line break, or no closing
/// quote.
#[inline]
fn string(b: &[u8], from: usize, unescaped: &mut Vec<u8>, line_break: u8) -> Option<usize> {
    let find = |at: usize| Some(at + memchr::memchr3(b'"', b'\\', line_break, b.get(at..)?)?);
    let mut at = find(from)?;
    if b[at] == b'"' {
        return Some(at);
    }
    let mut segment = from;
    loop {
        unescaped.extend_from_slice(&b[segment..at]);
        match b[at] {
            b'"' => return Some(at),
            b'\\' => {
                unescaped.push(match *b.get(at + 1)? {
                    c @ (b'"' | b'\\' | b'/') => c,
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    _ => return None,
                });
                segment = at + 2;
            }
            _ => return None,
        }
        at = find(segment)?;
    }
}

/// The closing quote of the string whose contents start at `from`; `None`
/// when an escape or a line break comes first (or no quote does).
#[inline]
fn string_end(b: &[u8], from: usize, line_break: u8) -> Option<usize> {
    let at = from + memchr::memchr3(b'"', b'\\', line_break, b.get(from..)?)?;
    (b[at] == b'"').then_some(at)
}

/// The first byte at or after `i` that is not JSON whitespace.
#[inline]
fn space(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|&c| matches!(c, b' ' | b'\n' | b'\r' | b'\t')) {
        i += 1;
    }
    i
}

/// Whether a chunk's text may take the fast path: valid UTF-8, with no
/// control character but line breaks (JSON strings refuse them raw).
/// `Some(true)` when it holds a CR.
pub(super) fn plain_text(data: &[u8]) -> Option<bool> {
    // Whole blocks are folded without an early exit, so that the loop is
    // vectorised; the chunk is in cache for the decode that follows.
    let scan = |block: &[u8]| {
        block.iter().fold((0u8, 0u8), |(other, cr), &c| {
            (other | u8::from(c < 0x20 && c != b'\n' && c != b'\r'), cr | u8::from(c == b'\r'))
        })
    };
    let mut cr = 0;
    let mut blocks = data.chunks_exact(64);
    for block in blocks.by_ref() {
        let (other, c) = scan(block);
        if other != 0 {
            return None;
        }
        cr |= c;
    }
    let (other, c) = scan(blocks.remainder());
    (other == 0 && simdutf8::basic::from_utf8(data).is_ok()).then_some(cr | c != 0)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::decode::{Framing, JsonDecoder};
    use crate::spec::{JsonOptions, OnError};
    use crate::split::Chunk;

    /// A column of every kind of scalar, most nullable (shared with the
    /// fuzz target).
    fn schema() -> Schema {
        Schema::from_json(include_str!("../../testdata/json_scalars.schema.json")).unwrap()
    }

    /// Values as JSON text: the ones this path takes, and ones that are
    /// close to them but not taken, or not JSON at all.
    const VALUES: &[&str] = &[
        r#""abc""#,
        r#""""#,
        r#""a\"b""#,
        r#""x\\y\/z""#,
        r#""\u0041""#,
        r#""tab\there\n""#,
        r#""é€""#,
        r#""\q""#,
        "\"raw\rCR\"",
        r#""2024-05-12""#,
        r#""2024-11-17T06:55:08.631-08:00""#,
        r#""12.50""#,
        r#""1234567.891""#,
        r#""true""#,
        r#""7""#,
        r#""bad""#,
        r#""abc"#,
        "0",
        "-0",
        "5",
        "-5",
        "127",
        "128",
        "-129",
        "255",
        "256",
        "4294967296",
        "9223372036854775807",
        "18446744073709551615",
        "18446744073709551616",
        "12345678901234567",
        "-12345678901234567",
        "123456789012345678",
        "1.5",
        "-0.0",
        "0.1",
        "10.358",
        "191.8722",
        "123456789012345.6",
        "12345678901234.5",
        "-9.99",
        "1e5",
        "1E-2",
        "1.0",
        "2.50",
        "01",
        "1.",
        ".5",
        "-",
        "+1",
        "1.2.3",
        "0x10",
        "1e999",
        "NaN",
        "true",
        "false",
        "null",
        "nul",
        "truex",
        "True",
        "{}",
        r#"{"a":1}"#,
        "[]",
        "[1,2]",
    ];
    const KEYS: &[&str] =
        &["b", "i8", "i", "l", "u32", "u", "f", "d", "dec", "s", "s2", "dt", "ts", "zz", "extra", r"i\u0033", ""];

    /// A small deterministic generator.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// Values each column takes, by column.
    const GOOD: &[&[&str]] = &[
        &["true", "false", "null", r#""true""#],
        &["-128", "127", "0", "null"],
        &["-2147483648", "2147483647", "5", "-0", r#""12""#],
        &["9223372036854775807", "12345678901234567", "-3", "0"],
        &["4294967295", "0", "17", "null"],
        &["12345678901234567", "18446744073709551615", "1", "null"],
        &["1.5", "-0.0", "3", "0.1", "null"],
        &["10.358", "191.8722", "-9.99", "7", "12345678901234.5", r#""2.5""#, "null"],
        &[r#""2.58""#, "12.5", "7", "1234567890.12", "null"],
        &[r#""abc""#, r#""a\"b\\c""#, r#""é€""#, "5", "true", "2.5", "null", "\"raw\rCR\""],
        &[r#""x""#, r#""""#, r#""line\nbreak""#],
        &[r#""2024-05-12""#, r#""1970-01-01""#, "null"],
        &[r#""2024-11-17T06:55:08.631-08:00""#, r#""2024-05-12T08:43:19.857Z""#, "null"],
    ];

    /// A line that is mostly a flat object of the schema's keys, with
    /// every kind of flaw now and then.
    fn record(rng: &mut Rng) -> String {
        let schema = schema();
        if rng.below(2) == 0 {
            // A good record: each column a value it takes, in order, some left out.
            let fields = (0..schema.len()).filter(|&c| c == 3 || c == 10 || rng.below(8) != 0).collect::<Vec<_>>();
            let fields: Vec<String> = fields
                .into_iter()
                .map(|c| format!("\"{}\":{}", schema.columns[c].name, GOOD[c][rng.below(GOOD[c].len())]))
                .collect();
            return format!("{{{}}}", fields.join(","));
        }
        let space = |rng: &mut Rng| if rng.below(6) == 0 { " " } else { "" };
        if rng.below(40) == 0 {
            return ["[1]", "5", r#""s""#, "", "{", "}", "{}", "null"][rng.below(8)].to_string();
        }
        let mut out = format!("{}{{", space(rng));
        let keys = rng.below(schema.len() + 3);
        for k in 0..keys {
            let key = if rng.below(8) == 0 {
                KEYS[rng.below(KEYS.len())]
            } else {
                schema.columns[(k + rng.below(2)) % schema.len()].name.as_str()
            };
            let value = VALUES[rng.below(VALUES.len())];
            let sep = if k + 1 == keys { "" } else { [",", ",", ",", ",", ",", ",,", " ,", ""][rng.below(8)] };
            let (s1, s2, s3) = (space(rng), space(rng), space(rng));
            out += &format!("{s1}\"{key}\"{s2}:{s3}{value}{sep}");
        }
        out += "}";
        out += ["", "", "", "", " ", "x", ","][rng.below(7)];
        out
    }

    fn decode(text: &str, policy: OnError, fast: bool) -> String {
        let decoder = JsonDecoder::new(&schema(), &JsonOptions::default(), Framing::Lines)
            .unwrap()
            .with_on_error(policy)
            .with_fast_path(fast);
        match decoder.decode(&Chunk::new(0, 0, 1, Bytes::copy_from_slice(text.as_bytes()))) {
            Ok(d) => format!("{:?}\n{:?}\n{} {}", d.batch, d.rejects, d.records, d.nulled),
            Err(e) => format!("error {e:?}"),
        }
    }

    #[test]
    fn both_paths_read_every_record_alike() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for chunk in 0..300 {
            let lines = 1 + rng.below(40);
            let text: String = (0..lines).map(|_| record(&mut rng) + "\n").collect();
            for text in [text.clone(), text.replace('\n', "\r\n")] {
                for policy in [OnError::Fail, OnError::Reject, OnError::Null] {
                    let (fast, general) = (decode(&text, policy, true), decode(&text, policy, false));
                    assert_eq!(fast, general, "chunk {chunk}, {policy:?}:\n{text}");
                }
            }
        }
    }

    #[test]
    fn compact_records_read_as_they_do_key_by_key() {
        let schema = schema();
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        // Records of the generator, and records that give every column in
        // order, some with a byte inserted, replaced or cut.
        let full = |rng: &mut Rng| {
            let fields: Vec<String> = (0..schema.len())
                .map(|c| format!("\"{}\":{}", schema.columns[c].name, GOOD[c][rng.below(GOOD[c].len())]))
                .collect();
            let mut text = format!("{{{}}}", fields.join(",")).into_bytes();
            let at = rng.below(text.len() + 1);
            let bytes = b" x,}{\":\\\n0.";
            let byte = bytes[rng.below(bytes.len())];
            match rng.below(6) {
                0 => text.insert(at, byte),
                1 if at < text.len() => text[at] = byte,
                2 => text.truncate(at),
                _ => {}
            }
            text
        };
        let mut compact = 0;
        for i in 0..6000 {
            let text = if i % 2 == 0 { record(&mut rng).into_bytes() } else { full(&mut rng) };
            let text = text.as_slice();
            let shown = String::from_utf8_lossy(text);
            let mut one = FlatReader::new(&schema, false).unwrap();
            let mut by_key = FlatReader::new(&schema, false).unwrap();
            by_key.compact_credit = 0;
            let read = one.read(text);
            assert_eq!(read, by_key.read(text), "{shown}");
            if read.is_some() {
                assert_eq!((&one.slots, &one.unescaped), (&by_key.slots, &by_key.unescaped), "{shown}");
            }
            compact += usize::from(one.read_compact(text).is_some());
        }
        assert!(compact > 1000, "only {compact} records were compact");
    }

    #[test]
    fn records_written_otherwise_soon_stop_trying_the_compact_form() {
        let schema = schema();
        let mut reader = FlatReader::new(&schema, false).unwrap();
        let spaced = br#"{ "l": 1, "s2": "x" }"#;
        for _ in 0..COMPACT_CREDIT / COMPACT_MISS {
            assert!(reader.read(spaced).is_some());
        }
        assert!(reader.compact_credit <= 0);
        assert!(reader.read(spaced).is_some());
        assert_eq!(reader.slots[schema.columns.iter().position(|c| c.name == "l").unwrap()], Some(Token::Int(7, 8)));
    }

    #[test]
    fn plain_records_are_taken_and_others_declined() {
        let schema = schema();
        let mut reader = FlatReader::new(&schema, false).unwrap();
        let taken = [
            r#"{"l":1,"s2":"x"}"#,
            r#" { "s2" : "a\"b\\c" , "l" : -17 , "zz" : "q" } "#,
            r#"{"l":0,"s2":"","d":-0.25,"f":1.5,"b":true,"s":null,"zz":"q","u":12345678901234567}"#,
            "{}",
        ];
        let declined = [
            r#"{"l":1,"s2":"\u0041"}"#,
            r#"{"l":1,"l":2}"#,
            r#"{"zz":1,"zz":2}"#,
            r#"{"l":1e3}"#,
            r#"{"l":123456789012345678}"#,
            r#"{"d":1234567890123456.5}"#,
            r#"{"l":01}"#,
            r#"{"l":1,}"#,
            r#"{"l":1} x"#,
            r#"{"s":{"a":1}}"#,
            r#"{"s":"a"#,
            "[1]",
        ];
        for record in taken {
            assert!(reader.read(record.as_bytes()).is_some(), "{record}");
        }
        for record in declined {
            assert!(reader.read(record.as_bytes()).is_none(), "{record}");
        }
        // With unknown keys refused, a record that gives one is declined.
        let mut strict = FlatReader::new(&schema, true).unwrap();
        assert!(strict.read(br#"{"l":1,"zz":2}"#).is_none());
        assert!(strict.read(br#"{"l":1,"s2":"x"}"#).is_some());
    }

    #[test]
    fn numbers_take_the_values_simd_json_gives() {
        for text in ["0", "-0", "7", "-7", "12345678901234567", "-12345678901234567"] {
            let mut copy = text.as_bytes().to_vec();
            let expected = match simd_json::to_borrowed_value(&mut copy).unwrap() {
                simd_json::BorrowedValue::Static(simd_json::StaticNode::I64(v)) => format!("I64({v})"),
                simd_json::BorrowedValue::Static(simd_json::StaticNode::U64(v)) => format!("U64({v})"),
                other => panic!("{other:?}"),
            };
            assert_eq!(format!("{:?}", int(text.as_bytes())), expected, "{text}");
        }
        for text in ["0.0", "-0.0", "0.1", "10.358", "191.8722", "-9.99", "12345678901234.5", "0.000000000000001"] {
            let mut copy = text.as_bytes().to_vec();
            let simd_json::BorrowedValue::Static(simd_json::StaticNode::F64(expected)) =
                simd_json::to_borrowed_value(&mut copy).unwrap()
            else {
                panic!("{text} is a double");
            };
            let Scalar::F64(got) = float(text.as_bytes()) else { panic!("{text}") };
            assert_eq!(got.to_bits(), expected.to_bits(), "{text}");
        }
    }

    #[test]
    fn only_plain_text_takes_the_fast_path() {
        assert_eq!(plain_text(b"{\"a\":1}\n{\"a\":2}\n"), Some(false));
        assert_eq!(plain_text("{\"a\":\"é\"}\n".repeat(20).as_bytes()), Some(false));
        assert_eq!(plain_text(b"{\"a\":1}\r\n"), Some(true));
        assert_eq!(plain_text(format!("{}{{\"a\":1}}\r\n", "{}\n".repeat(40)).as_bytes()), Some(true));
        assert_eq!(plain_text(format!("{}{{\"a\":\"\t\"}}\n", "{}\n".repeat(40)).as_bytes()), None);
        assert_eq!(plain_text(b"{\"a\":\"\x00\"}\n"), None);
        assert_eq!(plain_text(b"{\"a\":\"\xff\"}\n"), None);
    }
}
