//! JSON array element boundaries.
//!
//! The input is one top-level array of objects. The [`Chunker`](super::Chunker)
//! consumes the opening `[` (after a BOM and whitespace) before the first
//! chunk, so every window this splitter sees begins at an element, or at the
//! closing `]`. A chunk ends right after a top-level comma; the closing `]`
//! ends the last chunk ([`Boundary::Last`]), and the chunker then checks that
//! only whitespace follows it.
//!
//! Inside a string nothing is structural, and a backslash escapes the byte
//! after it; outside strings brackets and braces nest. Whether a quote ends a
//! string depends on what precedes it, so the scan is a forward one, which
//! skips string contents with memchr. At a top-level comma the scan is in
//! its initial state, so a scan resumed at a cut finds the same elements as
//! one over the whole input: the decoder, which walks each chunk with
//! [`next_delimiter`] from its start, sees the same elements whatever the
//! chunk size.
//!
//! The scan does not validate: mismatched brackets or a bare word only move
//! where an element seems to end, and simd-json rejects that element.

use super::Boundary;
use crate::error::ErrorKind;

/// What ends an array element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    /// A top-level `,`: another element follows.
    Comma,
    /// The array's closing `]`.
    Close,
}

/// The first top-level `,` or `]` at or after `from`, which must be at the
/// top level of the array (between elements, or at an element's start);
/// `None` when `data` ends first.
pub fn next_delimiter(data: &[u8], from: usize) -> Option<(usize, Delimiter)> {
    // Open brackets and braces of the element; a stray closer at depth 0
    // is left for the parser to refuse.
    let mut depth = 0usize;
    let mut i = from;
    while i < data.len() {
        match data[i] {
            b'"' => i = string_end(data, i)?,
            b'[' | b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            b']' if depth == 0 => return Some((i, Delimiter::Close)),
            b']' => depth -= 1,
            b',' if depth == 0 => return Some((i, Delimiter::Comma)),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index of the quote that closes the string opening at `data[open]`;
/// `None` when `data` ends first.
fn string_end(data: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', data.get(i..)?)?;
        if data[i] == b'"' {
            return Some(i);
        }
        i += 2;
    }
}

/// Where the first JSON value in `data` (which starts with it) ends, by the
/// same rules as [`next_delimiter`]; `None` when `data` ends first. Used to
/// tell a missing comma from other errors in an element that fails to parse.
pub fn first_value_end(data: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'"' => i = string_end(data, i)?,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            b if depth == 0 && (is_space(b) || b == b',') => return Some(i),
            _ => {}
        }
        i += 1;
        if depth == 0 && matches!(data[i - 1], b'"' | b']' | b'}') {
            return Some(i);
        }
    }
    Some(data.len()).filter(|_| depth == 0)
}

/// Two array elements with no comma between them (the error shows the
/// first, through its end, whatever the chunk size).
pub(crate) const MISSING_COMMA: &str = "missing `,` after this array element";

/// The first JSON value of `element`, without the whitespace before it
/// (all of it when it never ends).
pub(crate) fn first_value(element: &[u8]) -> &[u8] {
    let start = leading_space(element);
    let end = first_value_end(&element[start..]).map_or(element.len(), |n| start + n);
    &element[start..end]
}

/// Whether the array element `window` begins with (after whitespace) is
/// followed by something other than a `,` or the closing `]`: a missing
/// comma, which makes two elements look like one too large for a chunk.
pub fn check_first_element(window: &[u8]) -> std::result::Result<(), ErrorKind> {
    let start = leading_space(window);
    let Some(end) = first_value_end(&window[start..]).map(|n| start + n) else { return Ok(()) };
    let next = end + leading_space(&window[end..]);
    match window.get(next) {
        Some(b',' | b']') | None => Ok(()),
        Some(_) => Err(ErrorKind::JsonSyntax(MISSING_COMMA.into())),
    }
}

/// Finds element boundaries of a JSON array for one chunk size.
#[derive(Debug, Clone)]
pub struct JsonArraySplitter {
    chunk_bytes: usize,
}

impl JsonArraySplitter {
    pub fn new(chunk_bytes: usize) -> Self {
        JsonArraySplitter { chunk_bytes: chunk_bytes.max(1) }
    }

    pub fn chunk_bytes(&self) -> usize {
        self.chunk_bytes
    }

    /// The longest prefix of `data` of at most `chunk_bytes` that ends right
    /// after a top-level comma, or [`Boundary::Last`] through the closing
    /// `]` when that lies within the limit. `data` starts at an element (or
    /// the `]`); `eof` says it runs to the end of the input, and then a rest
    /// that fits and never closes is the last chunk too, in which the
    /// decoder finds the `]` missing.
    pub fn boundary(&self, data: &[u8], eof: bool) -> Boundary {
        let window = &data[..self.chunk_bytes.min(data.len())];
        let mut last_comma = None;
        let mut from = 0;
        while let Some((i, delimiter)) = next_delimiter(window, from) {
            match delimiter {
                Delimiter::Comma => {
                    last_comma = Some(i + 1);
                    from = i + 1;
                }
                Delimiter::Close => return Boundary::Last(i + 1),
            }
        }
        if eof && data.len() <= self.chunk_bytes {
            // A chunk that ends right after a comma is never the last (the
            // decoder relies on it): the empty rest after it is.
            return match last_comma {
                Some(n) if n == data.len() => Boundary::Cut(n),
                _ => Boundary::Last(data.len()),
            };
        }
        match last_comma {
            Some(n) => Boundary::Cut(n),
            None => Boundary::TooLarge { in_quotes: false },
        }
    }
}

/// JSON's insignificant whitespace (RFC 8259).
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The number of whitespace bytes `data` starts with.
pub(crate) fn leading_space(data: &[u8]) -> usize {
    data.iter().position(|&b| !is_space(b)).unwrap_or(data.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Elements whose strings hold every byte the scan must not take for
    /// structure, nested values, and whitespace between everything.
    const TRICKY: &[u8] = br#" {"a": "x,y]z", "b": [1, [2, 3], {"c": "}]"}]} ,
        {"s": "quote \" comma , close ] brace }"} , {"t": "back\\", "u": "\\\"],"},{"e": {}, "l": [[], [[]]]}
        ,{"last": "\\\\"} ]  "#;

    /// Cuts `data` (the bytes after the opening `[`) the way the chunker does.
    fn split_all(data: &[u8], size: usize) -> Result<Vec<&[u8]>, usize> {
        let s = JsonArraySplitter::new(size);
        let mut rest = data;
        let mut out = Vec::new();
        loop {
            match s.boundary(rest, true) {
                Boundary::Cut(n) | Boundary::Counted { end: n, .. } => {
                    out.push(&rest[..n]);
                    rest = &rest[n..];
                }
                Boundary::Last(n) => {
                    out.push(&rest[..n]);
                    return Ok(out);
                }
                Boundary::TooLarge { .. } => return Err(out.len()),
            }
        }
    }

    fn elements(chunk: &[u8]) -> Vec<&[u8]> {
        let mut out = Vec::new();
        let mut from = 0;
        while let Some((i, d)) = next_delimiter(chunk, from) {
            out.push(chunk[from..i].trim_ascii());
            from = i + 1;
            if d == Delimiter::Close {
                break;
            }
        }
        out
    }

    #[test]
    fn every_chunk_size_cuts_between_elements() {
        let whole = elements(TRICKY);
        assert_eq!(whole.len(), 5);
        for e in &whole {
            let mut text = e.to_vec();
            assert!(simd_json::to_tape(&mut text).is_ok(), "{:?}", String::from_utf8_lossy(e));
        }
        let mut fitted = 0;
        for size in 1..TRICKY.len() + 2 {
            let Ok(chunks) = split_all(TRICKY, size) else { continue };
            fitted += 1;
            let mut seen = Vec::new();
            for (k, chunk) in chunks.iter().enumerate() {
                assert!(chunk.len() <= size, "size {size}");
                if k + 1 < chunks.len() {
                    assert!(chunk.ends_with(b","), "size {size}: {:?}", String::from_utf8_lossy(chunk));
                } else {
                    assert!(chunk.ends_with(b"]"), "the last chunk ends at the `]`");
                }
                seen.extend(elements(chunk));
            }
            assert_eq!(seen, whole, "size {size}");
            assert_eq!(chunks.concat(), TRICKY[..TRICKY.len() - 2].to_vec());
        }
        assert!(fitted > 50);
    }

    #[test]
    fn every_cut_position_resumes_in_step() {
        // Wherever a comma-aligned cut is made, scanning on from it finds
        // the elements a scan from the start finds.
        let whole = elements(TRICKY);
        let mut from = 0;
        let mut k = 0;
        while let Some((i, Delimiter::Comma)) = next_delimiter(TRICKY, from) {
            from = i + 1;
            k += 1;
            assert_eq!(elements(&TRICKY[from..]), whole[k..].to_vec());
        }
    }

    #[test]
    fn an_element_over_the_limit_is_too_large() {
        let s = JsonArraySplitter::new(8);
        assert_eq!(s.boundary(br#"{"a": "0123456789"}, {}]"#, true), Boundary::TooLarge { in_quotes: false });
        assert_eq!(s.boundary(br#"{}, {"a": "0123456789"}]"#, true), Boundary::Cut(3));
        assert_eq!(s.boundary(b"{}, {}]  ", true), Boundary::Last(7));
        assert_eq!(s.boundary(b"]", true), Boundary::Last(1));
    }

    #[test]
    fn a_rest_that_never_closes_is_the_last_chunk() {
        let s = JsonArraySplitter::new(64);
        assert_eq!(s.boundary(br#"{"a": "]"}, {"#, true), Boundary::Last(13));
        assert_eq!(s.boundary(b"{}, {},", true), Boundary::Cut(7), "a chunk ending after a comma is never the last");
        assert_eq!(s.boundary(b"", true), Boundary::Last(0));
        assert_eq!(s.boundary(br#"{"a": "\"#, true), Boundary::Last(8), "a backslash at the very end");
    }

    #[test]
    fn deep_nesting_is_counted_not_recursed() {
        let mut deep = vec![b'['; 100_000];
        deep.extend(vec![b']'; 100_000]);
        deep.extend_from_slice(b",{}]");
        assert_eq!(next_delimiter(&deep, 0), Some((200_000, Delimiter::Comma)));
    }
}
