//! Quote-aware CSV record boundaries.
//!
//! A newline inside quotes never ends a record. Without an escape character
//! (RFC 4180: a quote inside a quoted field is doubled) the quote state at
//! any byte is the parity of the quotes before it, so the search counts
//! quotes with SIMD up to the limit and walks back to the last newline
//! outside quotes: the bytes of a chunk are touched once, quickly. With an
//! escape character the state needs a forward scan. Both assume the data
//! starts at a record boundary, which every chunk does.
//!
//! Malformed quoting (a quote inside an unquoted field) makes parity differ
//! from a real parse; the decoder rejects such records, and since it parses
//! every chunk from a true record start up to the first bad record, the
//! first error reported is the same whatever the chunk size.

use super::Boundary;
use crate::error::ErrorKind;
use crate::spec::CsvOptions;

/// Finds record boundaries for one CSV dialect and chunk size.
#[derive(Debug, Clone)]
pub struct CsvSplitter {
    quote: u8,
    escape: Option<u8>,
    chunk_bytes: usize,
    options: CsvOptions,
}

impl CsvSplitter {
    pub fn new(options: &CsvOptions, chunk_bytes: usize) -> Self {
        CsvSplitter {
            quote: options.quote,
            escape: options.escape,
            chunk_bytes: chunk_bytes.max(1),
            options: options.clone(),
        }
    }

    pub fn quote(&self) -> u8 {
        self.quote
    }

    pub fn options(&self) -> &CsvOptions {
        &self.options
    }

    pub fn chunk_bytes(&self) -> usize {
        self.chunk_bytes
    }

    /// The longest prefix of `data` of at most `chunk_bytes` that ends on a
    /// record boundary. `eof` says `data` runs to the end of the input;
    /// otherwise `data` must be longer than `chunk_bytes`.
    pub fn boundary(&self, data: &[u8], eof: bool) -> Boundary {
        if eof && data.len() <= self.chunk_bytes {
            // The rest of the input is one chunk. A quote left open is the
            // decoder's to report, with the record it belongs to.
            return Boundary::Cut(data.len());
        }
        let limit = self.chunk_bytes.min(data.len());
        let window = &data[..limit];
        let found = match self.escape {
            // Parity is exact when every quote in the chunk is where RFC 4180
            // puts quotes; a stray one (rare) needs the field-by-field scan,
            // so that chunks end where csv-core ends records whatever the
            // input holds, and a bad record is the same at any chunk size.
            None => match self.last_boundary_by_parity(window) {
                Ok(n) if check_quotes(&window[..n], &self.options).is_ok() => Ok(n),
                _ => self.last_boundary_by_fields(window),
            },
            Some(_) => self.last_boundary_by_fields(window),
        };
        match found {
            Ok(n) => Boundary::Cut(n),
            Err(in_quotes) => Boundary::TooLarge { in_quotes },
        }
    }

    /// The end of the first record, however long (the header), with the
    /// blank lines before it. Bounded by the chunk size like any record.
    pub fn first_record(&self, data: &[u8], eof: bool) -> Boundary {
        let limit = self.chunk_bytes.min(data.len());
        let mut in_quotes = false;
        let (mut i, mut line_start) = (0, 0);
        while i < limit {
            let b = data[i];
            if in_quotes {
                if Some(b) == self.escape {
                    i += 1;
                } else if b == self.quote {
                    in_quotes = false;
                }
            } else if b == self.quote {
                in_quotes = true;
            } else if b == b'\n' {
                // Blank lines before the header belong to it, not to the data.
                if !matches!(&data[line_start..i], b"" | b"\r") {
                    return Boundary::Cut(i + 1);
                }
                line_start = i + 1;
            }
            i += 1;
        }
        if eof && data.len() <= self.chunk_bytes {
            Boundary::Cut(data.len())
        } else {
            Boundary::TooLarge { in_quotes }
        }
    }

    /// `Ok(n)`: the bytes up to the last newline outside quotes.
    /// `Err(in_quotes)`: there is none.
    fn last_boundary_by_parity(&self, window: &[u8]) -> Result<usize, bool> {
        let mut in_quotes = bytecount::count(window, self.quote) % 2 == 1;
        let limit_in_quotes = in_quotes;
        let mut end = window.len();
        while let Some(i) = memchr::memrchr2(b'\n', self.quote, &window[..end]) {
            if window[i] == self.quote {
                in_quotes = !in_quotes;
            } else if !in_quotes {
                return Ok(i + 1);
            }
            end = i;
        }
        Err(limit_in_quotes)
    }

    /// `Ok(n)`: the bytes up to the last LF that ends a record as csv-core
    /// reads records: a quote opens a quoted field only at the field's
    /// start, a quote elsewhere in an unquoted field is text, and text after
    /// a closing quote continues the field. `Err(in_quotes)`: there is none.
    fn last_boundary_by_fields(&self, window: &[u8]) -> Result<usize, bool> {
        #[derive(PartialEq)]
        enum S {
            FieldStart,
            Unquoted,
            Quoted,
            AfterQuote,
        }
        let delimiter = self.options.delimiter;
        let mut s = S::FieldStart;
        let mut last = None;
        let mut i = 0;
        while i < window.len() {
            let b = window[i];
            s = match s {
                S::Quoted if Some(b) == self.escape && b != self.quote => {
                    i += 1;
                    S::Quoted
                }
                S::Quoted if b == self.quote => S::AfterQuote,
                S::Quoted => S::Quoted,
                S::FieldStart | S::AfterQuote if b == self.quote => S::Quoted,
                _ if b == delimiter || b == b'\r' => S::FieldStart,
                _ if b == b'\n' => {
                    last = Some(i + 1);
                    S::FieldStart
                }
                _ => S::Unquoted,
            };
            i += 1;
        }
        last.ok_or(s == S::Quoted)
    }
}

/// Checks the quoting of one raw record against RFC 4180 (with an optional
/// escape character): a quote opens a field only at its start, and a
/// closing quote is followed by a delimiter, a line break or another quote.
/// csv-core reads such text leniently; we refuse it, because a lenient read
/// of broken quoting silently shifts fields. Only quote positions are
/// visited (found with memchr), so the check costs little on long fields.
pub fn check_quotes(raw: &[u8], o: &CsvOptions) -> Result<(), ErrorKind> {
    let ends_field = |b: u8| b == o.delimiter || b == b'\n' || b == b'\r';
    let mut i = 0;
    while let Some(k) = memchr::memchr(o.quote, &raw[i..]) {
        let open = i + k;
        if open > 0 && !ends_field(raw[open - 1]) {
            // A quote inside an unquoted field.
            return Err(ErrorKind::MalformedQuote);
        }
        // Find the closing quote: not escaped, not doubled.
        let mut j = open + 1;
        loop {
            let next = match o.escape {
                Some(e) => memchr::memchr2(o.quote, e, &raw[j..]),
                None => memchr::memchr(o.quote, &raw[j..]),
            };
            let Some(k) = next else { return Err(ErrorKind::UnterminatedQuote) };
            let q = j + k;
            if Some(raw[q]) == o.escape && raw[q] != o.quote {
                j = q + 2;
                if j > raw.len() {
                    return Err(ErrorKind::UnterminatedQuote);
                }
                continue;
            }
            match raw.get(q + 1) {
                Some(&b) if b == o.quote => j = q + 2,
                Some(&b) if !ends_field(b) => return Err(ErrorKind::MalformedQuote),
                _ => {
                    i = q + 1;
                    break;
                }
            }
        }
    }
    Ok(())
}

/// The quoting verdict on the first record of `data` alone: `Ok` when it
/// ends (or `data` does) with well-formed quoting, else what is wrong with
/// it. Used only on the error path, when no record ends within the limit.
pub fn check_first_record_quotes(data: &[u8], o: &CsvOptions) -> Result<(), ErrorKind> {
    #[derive(PartialEq)]
    enum S {
        FieldStart,
        Unquoted,
        Quoted,
        AfterQuote,
    }
    let mut s = S::FieldStart;
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        s = match s {
            S::Quoted if Some(b) == o.escape => {
                i += 2;
                continue;
            }
            S::Quoted if b == o.quote => S::AfterQuote,
            S::Quoted => S::Quoted,
            // csv-core ends a record at a CR as at an LF.
            _ if b == b'\n' || b == b'\r' => return Ok(()),
            S::FieldStart if b == o.quote => S::Quoted,
            S::AfterQuote if b == o.quote => S::Quoted,
            _ if b == o.delimiter => S::FieldStart,
            S::Unquoted | S::AfterQuote if b == o.quote => return Err(ErrorKind::MalformedQuote),
            S::AfterQuote => return Err(ErrorKind::MalformedQuote),
            _ => S::Unquoted,
        };
        i += 1;
    }
    if s == S::Quoted {
        return Err(ErrorKind::UnterminatedQuote);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all<'a>(data: &'a [u8], opts: &CsvOptions, size: usize) -> Vec<&'a [u8]> {
        let s = CsvSplitter::new(opts, size);
        let mut rest = data;
        let mut out = Vec::new();
        while !rest.is_empty() {
            match s.boundary(rest, true) {
                Boundary::Cut(n) => {
                    out.push(&rest[..n]);
                    rest = &rest[n..];
                }
                other => panic!("{other:?} at {size}"),
            }
        }
        out
    }

    #[test]
    fn never_cuts_inside_quotes() {
        let data = b"1,\"a\nb\",x\n2,\"c,\"\"d\n\",y\n3,e,z\n";
        for size in 14..data.len() + 2 {
            for piece in split_all(data, &CsvOptions::default(), size) {
                assert!(piece.len() <= size);
                assert_eq!(bytecount::count(piece, b'"') % 2, 0, "cut inside quotes at size {size}: {piece:?}");
                assert!(piece.ends_with(b"\n"));
            }
        }
    }

    #[test]
    fn escape_characters_do_not_toggle_quotes() {
        let opts = CsvOptions { escape: Some(b'\\'), ..CsvOptions::default() };
        let data = b"1,\"a\\\"\nb\",x\n2,y\n";
        let pieces = split_all(data, &opts, 13);
        assert_eq!(pieces, vec![&b"1,\"a\\\"\nb\",x\n"[..], &b"2,y\n"[..]]);
    }

    #[test]
    fn reports_a_limit_inside_quotes() {
        let s = CsvSplitter::new(&CsvOptions::default(), 4);
        assert_eq!(s.boundary(b"\"abcdef\"\n", true), Boundary::TooLarge { in_quotes: true });
        assert_eq!(s.boundary(b"abcdef\n", true), Boundary::TooLarge { in_quotes: false });
        assert_eq!(s.boundary(b"ab\ncdef\n", true), Boundary::Cut(3));
    }

    #[test]
    fn crlf_records_end_after_the_newline() {
        let s = CsvSplitter::new(&CsvOptions::default(), 6);
        assert_eq!(s.boundary(b"a,b\r\nc,d\r\n", true), Boundary::Cut(5));
    }

    #[test]
    fn first_record_verdicts() {
        let o = CsvOptions::default();
        assert_eq!(check_first_record_quotes(b"aaaa,b\nc\"d\n", &o), Ok(()), "only the first record counts");
        assert_eq!(check_first_record_quotes(b"a,1\"x\nb\n", &o), Err(ErrorKind::MalformedQuote));
        assert_eq!(check_first_record_quotes(b"a,\"x\"y\n", &o), Err(ErrorKind::MalformedQuote));
        assert_eq!(check_first_record_quotes(b"a,\"x\ny", &o), Err(ErrorKind::UnterminatedQuote));
        assert_eq!(check_first_record_quotes(b"a,\"x\"\"\"\r\n", &o), Ok(()));
        assert_eq!(check_first_record_quotes(b"a,b\rc\"d\n", &o), Ok(()), "a CR ends the record too");
        let e = CsvOptions { escape: Some(b'\\'), ..CsvOptions::default() };
        assert_eq!(check_first_record_quotes(b"\"a\\\"b\"\n", &e), Ok(()));
    }

    #[test]
    fn quoting_rules() {
        let o = CsvOptions::default();
        assert_eq!(check_quotes(b"a,\"b,\"\"c\"\"\n\",d\n", &o), Ok(()));
        assert_eq!(check_quotes(b"\"\"\n", &o), Ok(()));
        assert_eq!(check_quotes(b"a,b\"c\n", &o), Err(ErrorKind::MalformedQuote));
        assert_eq!(check_quotes(b"a,\"b\"c\n", &o), Err(ErrorKind::MalformedQuote));
        assert_eq!(check_quotes(b"a,\"bc\n", &o), Err(ErrorKind::UnterminatedQuote));
        let e = CsvOptions { escape: Some(b'\\'), ..CsvOptions::default() };
        assert_eq!(check_quotes(b"a,\"b\\\"c\"\n", &e), Ok(()));
        assert_eq!(check_quotes(b"a,\"b\\", &e), Err(ErrorKind::UnterminatedQuote));
        assert_eq!(check_quotes(b"\"a\"\"\"\r\n", &o), Ok(()));
        assert_eq!(check_quotes(b"\"a\"\"\n", &o), Err(ErrorKind::UnterminatedQuote));
    }
}
