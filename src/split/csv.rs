//! Quote-aware CSV record boundaries.
//!
//! A newline inside quotes never ends a record. Without an escape character
//! (RFC 4180: a quote inside a quoted field is doubled) the quote state at
//! any byte is the parity of the quotes before it, so one forward pass over
//! 64-byte masks finds the last newline outside quotes and checks, on the
//! way, that every quote is where RFC 4180 puts quotes (else parity cannot
//! be trusted). With an escape character, or a stray quote, the state needs
//! a field-by-field scan. Both assume the data starts at a record boundary,
//! which every chunk does.
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
            None => match last_boundary_if_well_formed(window, self.options.delimiter, self.quote) {
                Some((end, lines)) => return Boundary::Counted { end, lines },
                None => self.last_boundary_by_fields(window),
            },
            Some(_) => self.last_boundary_by_fields(window),
        };
        match found {
            Ok(n) => Boundary::Cut(n),
            Err(in_quotes) => Boundary::TooLarge { in_quotes },
        }
    }

    /// The end of the first record, however long (the header), with the
    /// blank lines before it. Bounded by the chunk size like any record, and
    /// read by the rules of [`Self::last_boundary_by_fields`], so that a
    /// header cut here is the record csv-core reads.
    pub fn first_record(&self, data: &[u8], eof: bool) -> Boundary {
        let limit = self.chunk_bytes.min(data.len());
        let mut line_start = 0;
        let ended = self.record_ends(&data[..limit], |lf| {
            // Blank lines before the header belong to it, not to the data.
            let blank = matches!(&data[line_start..lf], b"" | b"\r");
            line_start = lf + 1;
            !blank
        });
        match ended {
            Ok(end) => Boundary::Cut(end),
            Err(_) if eof && data.len() <= self.chunk_bytes => Boundary::Cut(data.len()),
            Err(in_quotes) => Boundary::TooLarge { in_quotes },
        }
    }

    /// `Ok(n)`: the bytes up to the last LF that ends a record as csv-core
    /// reads records: a quote opens a quoted field only at the field's
    /// start, a quote elsewhere in an unquoted field is text, and text after
    /// a closing quote continues the field. `Err(in_quotes)`: there is none.
    fn last_boundary_by_fields(&self, window: &[u8]) -> Result<usize, bool> {
        let mut last = None;
        match self.record_ends(window, |lf| {
            last = Some(lf + 1);
            false
        }) {
            Ok(end) => Ok(end),
            Err(in_quotes) => last.ok_or(in_quotes),
        }
    }

    /// Walks `window` by csv-core's rules (see
    /// [`Self::last_boundary_by_fields`]), calling `stop` with each LF that
    /// ends a record: `Ok` with the bytes through the first LF where it says
    /// true; `Err(in_quotes)` when it never does, with whether the window
    /// ends inside quotes.
    fn record_ends(&self, window: &[u8], mut stop: impl FnMut(usize) -> bool) -> Result<usize, bool> {
        #[derive(PartialEq)]
        enum S {
            FieldStart,
            Unquoted,
            Quoted,
            AfterQuote,
        }
        let delimiter = self.options.delimiter;
        let mut s = S::FieldStart;
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
                    if stop(i) {
                        return Ok(i + 1);
                    }
                    S::FieldStart
                }
                _ => S::Unquoted,
            };
            i += 1;
        }
        Err(s == S::Quoted)
    }
}

/// The bytes up to the last LF outside quotes in `window`, when the
/// quoting before it is well formed RFC 4180 (no escape character): the
/// cut that parity gives, and the proof that parity could be trusted. One
/// forward pass over 64-byte masks; `None` sends the caller to the
/// field-by-field scan.
///
/// With the quote state as the parity of the quotes so far, a quote that
/// opens must follow a field end (delimiter, CR, LF), the start, or a
/// closing quote (a doubled quote), and one that closes must precede a
/// field end, the end, or an opening quote. That is what [`check_quotes`]
/// asks of each quote, asked of 64 at a time.
///
/// Returns the boundary with the count of line feeds before it, counted in
/// the same pass.
fn last_boundary_if_well_formed(window: &[u8], delimiter: u8, quote: u8) -> Option<(usize, u64)> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("pclmulqdq") {
        // SAFETY: both features were just detected.
        return unsafe { scan_avx2(window, delimiter, quote) };
    }
    scan(window, |block| masks(block, delimiter, quote), prefix_xor)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,pclmulqdq")]
unsafe fn scan_avx2(window: &[u8], delimiter: u8, quote: u8) -> Option<(usize, u64)> {
    scan(window, |block| masks_avx2(block, delimiter, quote), |x| prefix_xor_clmul(x))
}

/// The pass of [`last_boundary_if_well_formed`], over the masks `masks`
/// makes of each 64-byte block, with `prefix_xor` as [`prefix_xor`].
#[inline(always)]
fn scan(window: &[u8], masks: impl Fn(&[u8; 64]) -> [u64; 3], prefix_xor: impl Fn(u64) -> u64) -> Option<(usize, u64)> {
    let mut inside = 0u64; // all ones while a quote is open
    let mut after_end = 1u64; // bit 0: the byte before the block ends a field (or is the start)
    let mut close_at_63 = 0u64; // 1: the block before ended with a closing quote
    let (mut lf_base, mut lf_mask) = (0usize, 0u64); // the last block with an LF outside quotes
    let (mut lfs, mut lfs_before_found, mut lf_found) = (0u64, 0u64, 0u64); // line feeds: all, before that block, in it
    let mut first_bad = usize::MAX;
    let mut tail = [0u8; 64];
    let mut base = 0;
    while base < window.len() {
        let len = (window.len() - base).min(64);
        let block: &[u8; 64] = match window[base..].first_chunk::<64>() {
            Some(block) => block,
            None => {
                tail[..len].copy_from_slice(&window[base..]);
                &tail
            }
        };
        let valid = if len == 64 { !0u64 } else { (1u64 << len) - 1 };
        let [q, fe, lf] = masks(block).map(|m| m & valid);
        // Bit i: a quote is open after byte i; before byte i.
        let after = prefix_xor(q) ^ inside;
        let before = (after << 1) | (inside & 1);
        let open = q & !before;
        let close = q & before;
        let bad_open = open & !(((fe | close) << 1) | after_end);
        // A closing quote at the block's last byte is judged with the next
        // block's first; at the window's last byte, it is fine.
        let bad_close = close & !((fe | open) >> 1) & (valid >> 1);
        let bad = bad_open | bad_close;
        if close_at_63 & !(fe | open) & 1 != 0 {
            first_bad = first_bad.min(base - 1);
        }
        if bad != 0 {
            first_bad = first_bad.min(base + bad.trailing_zeros() as usize);
        }
        let outside_lf = lf & !after;
        let found = outside_lf != 0;
        lf_mask = if found { outside_lf } else { lf_mask };
        lf_base = if found { base } else { lf_base };
        lfs_before_found = if found { lfs } else { lfs_before_found };
        lf_found = if found { lf } else { lf_found };
        lfs += u64::from(lf.count_ones());
        close_at_63 = close >> 63;
        after_end = ((fe | close) >> 63) & 1;
        inside = 0u64.wrapping_sub((after >> (len - 1)) & 1);
        base += len;
    }
    if lf_mask == 0 {
        return None;
    }
    let n = lf_base + 64 - lf_mask.leading_zeros() as usize;
    // The line feeds of the last block up to the boundary's (bit 63 - lz).
    let up_to = u64::MAX >> lf_mask.leading_zeros();
    let lines = lfs_before_found + u64::from((lf_found & up_to).count_ones());
    (first_bad >= n).then_some((n, lines))
}

/// Prefix XOR: bit i is the parity of the set bits of `x` at or below i.
#[inline(always)]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// [`prefix_xor`] as one carry-less multiplication by all ones.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "pclmulqdq")]
fn prefix_xor_clmul(x: u64) -> u64 {
    use std::arch::x86_64::*;
    let product = _mm_clmulepi64_si128(_mm_set_epi64x(0, x as i64), _mm_set1_epi8(-1), 0);
    _mm_cvtsi128_si64(product) as u64
}

/// For 64 bytes: where the quote is, where a field ends (delimiter, CR,
/// LF) and where an LF is, a bit per byte.
#[inline(always)]
fn masks(block: &[u8; 64], delimiter: u8, quote: u8) -> [u64; 3] {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of the x86_64 baseline.
    return unsafe { masks_sse2(block, delimiter, quote) };
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut m = [0u64; 3];
        for (i, &b) in block.iter().enumerate() {
            m[0] |= u64::from(b == quote) << i;
            m[1] |= u64::from(b == delimiter || b == b'\r' || b == b'\n') << i;
            m[2] |= u64::from(b == b'\n') << i;
        }
        m
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn masks_sse2(block: &[u8; 64], delimiter: u8, quote: u8) -> [u64; 3] {
    use std::arch::x86_64::*;
    // SAFETY: the four unaligned 16-byte loads stay within the 64 bytes of
    // `block`; SSE2 is always present on x86_64.
    unsafe {
        let (q, d, cr, lf) = (
            _mm_set1_epi8(quote as i8),
            _mm_set1_epi8(delimiter as i8),
            _mm_set1_epi8(b'\r' as i8),
            _mm_set1_epi8(b'\n' as i8),
        );
        let mut m = [0u64; 3];
        for part in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(part * 16) as *const __m128i);
            let is_lf = _mm_cmpeq_epi8(v, lf);
            let ends = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, d), _mm_cmpeq_epi8(v, cr)), is_lf);
            m[0] |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, q)) as u16 as u64) << (part * 16);
            m[1] |= (_mm_movemask_epi8(ends) as u16 as u64) << (part * 16);
            m[2] |= (_mm_movemask_epi8(is_lf) as u16 as u64) << (part * 16);
        }
        m
    }
}

/// [`masks`] with two 32-byte compares per byte value.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn masks_avx2(block: &[u8; 64], delimiter: u8, quote: u8) -> [u64; 3] {
    use std::arch::x86_64::*;
    let (q, d, cr, lf) = (
        _mm256_set1_epi8(quote as i8),
        _mm256_set1_epi8(delimiter as i8),
        _mm256_set1_epi8(b'\r' as i8),
        _mm256_set1_epi8(b'\n' as i8),
    );
    let mut m = [0u64; 3];
    for half in 0..2 {
        // SAFETY: the two unaligned 32-byte loads stay within the 64 bytes of `block`.
        let v = unsafe { _mm256_loadu_si256(block.as_ptr().add(half * 32) as *const __m256i) };
        let is_lf = _mm256_cmpeq_epi8(v, lf);
        let ends = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, d), _mm256_cmpeq_epi8(v, cr)), is_lf);
        m[0] |= (_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, q)) as u32 as u64) << (half * 32);
        m[1] |= (_mm256_movemask_epi8(ends) as u32 as u64) << (half * 32);
        m[2] |= (_mm256_movemask_epi8(is_lf) as u32 as u64) << (half * 32);
    }
    m
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

    /// What the splitter did before the one-pass scan: parity from a count
    /// of the quotes, a walk back to the last LF outside them, then
    /// [`check_quotes`] on the bytes before it.
    fn by_parity_then_check(window: &[u8], o: &CsvOptions) -> Option<usize> {
        let mut in_quotes = bytecount::count(window, o.quote) % 2 == 1;
        let mut end = window.len();
        while let Some(i) = memchr::memrchr2(b'\n', o.quote, &window[..end]) {
            if window[i] == o.quote {
                in_quotes = !in_quotes;
            } else if !in_quotes {
                return check_quotes(&window[..i + 1], o).is_ok().then_some(i + 1);
            }
            end = i;
        }
        None
    }

    #[test]
    fn the_one_pass_scan_agrees_with_parity_and_the_quote_check() {
        let o = CsvOptions::default();
        let agree = |w: &[u8]| {
            let want = by_parity_then_check(w, &o).map(|n| (n, bytecount::count(&w[..n], b'\n') as u64));
            let got = last_boundary_if_well_formed(w, b',', b'"');
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(w));
            let portable = scan(w, |block| masks(block, b',', b'"'), prefix_xor);
            assert_eq!(portable, want, "portable: {:?}", String::from_utf8_lossy(w));
        };
        // Every string of up to 7 bytes over the bytes that matter.
        let alphabet = b"a,\"\r\n";
        for len in 0..=7u32 {
            for mut code in 0..5usize.pow(len) {
                let w: Vec<u8> = (0..len)
                    .map(|_| {
                        let b = alphabet[code % 5];
                        code /= 5;
                        b
                    })
                    .collect();
                agree(&w);
            }
        }
        // Long CSV text across many 64-byte blocks, with one byte changed
        // at a random place, and random bytes.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..3000 {
            let mut w = Vec::new();
            while w.len() < 40 + (next() % 400) as usize {
                match next() % 6 {
                    0 => w.extend_from_slice(b"\"a,\"\"b\"\"\n\""),
                    1 => w.extend_from_slice(b"\"\""),
                    2 => w.extend_from_slice(b"plain"),
                    3 => w.push(b','),
                    4 => w.extend_from_slice(b"\r\n"),
                    _ => w.push(b'\n'),
                }
            }
            if round % 2 == 0 {
                let at = (next() as usize) % w.len();
                w[at] = alphabet[(next() % 5) as usize];
            }
            agree(&w);
            let random: Vec<u8> = (0..(next() % 200)).map(|_| alphabet[(next() % 5) as usize]).collect();
            agree(&random);
        }
    }

    fn split_all<'a>(data: &'a [u8], opts: &CsvOptions, size: usize) -> Vec<&'a [u8]> {
        let s = CsvSplitter::new(opts, size);
        let mut rest = data;
        let mut out = Vec::new();
        while !rest.is_empty() {
            match s.boundary(rest, true) {
                Boundary::Cut(n) | Boundary::Counted { end: n, .. } => {
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
        assert_eq!(s.boundary(b"ab\ncdef\n", true), Boundary::Counted { end: 3, lines: 1 });
    }

    #[test]
    fn crlf_records_end_after_the_newline() {
        let s = CsvSplitter::new(&CsvOptions::default(), 6);
        assert_eq!(s.boundary(b"a,b\r\nc,d\r\n", true), Boundary::Counted { end: 5, lines: 1 });
    }

    #[test]
    fn the_header_ends_where_csv_core_ends_it() {
        let o = CsvOptions::default();
        let s = CsvSplitter::new(&o, 64);
        // A quote inside an unquoted field is text, not an opening quote.
        assert_eq!(s.first_record(b"a,b\"c\nd,e\n", false), Boundary::Cut(6));
        assert_eq!(s.first_record(b"\r\n\na,\"b\nc\"\nd\n", false), Boundary::Cut(11), "blank lines, then a quoted LF");
        assert_eq!(s.first_record(b"a,\"b\nc", true), Boundary::Cut(6), "the rest of the input");
        let small = CsvSplitter::new(&o, 4);
        assert_eq!(small.first_record(b"a,\"bcdef\"\n", false), Boundary::TooLarge { in_quotes: true });
        assert_eq!(small.first_record(b"abcdef\n", false), Boundary::TooLarge { in_quotes: false });
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
