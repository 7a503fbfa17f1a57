//! Record-aligned chunks: each ends on a record boundary and is at most the
//! budget's chunk size, and knows its sequence number, byte offset and first
//! line, so that every error can point at its origin.
//!
//! The boundary search ([`CsvSplitter`]) is a pure function of the bytes; the
//! [`Chunker`] drives it over a mapped file (no copies) or a stream (bounded
//! buffers).

mod csv;

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use memmap2::Mmap;

pub use self::csv::{check_first_record_quotes, check_quotes, Boundary, CsvSplitter};

/// Finds record boundaries for one input format.
#[derive(Debug, Clone)]
pub enum Splitter {
    /// Quote-aware CSV records.
    Csv(CsvSplitter),
    /// Lines (NDJSON): a JSON text holds no raw newline, so every newline
    /// ends a record.
    Lines { chunk_bytes: usize },
}

impl From<CsvSplitter> for Splitter {
    fn from(s: CsvSplitter) -> Self {
        Splitter::Csv(s)
    }
}

impl Splitter {
    pub fn chunk_bytes(&self) -> usize {
        match self {
            Splitter::Csv(s) => s.chunk_bytes(),
            Splitter::Lines { chunk_bytes } => *chunk_bytes,
        }
    }

    /// The longest prefix of at most the chunk size that ends on a record
    /// boundary (see [`CsvSplitter::boundary`]).
    pub fn boundary(&self, data: &[u8], eof: bool) -> Boundary {
        match self {
            Splitter::Csv(s) => s.boundary(data, eof),
            Splitter::Lines { chunk_bytes } => {
                if eof && data.len() <= *chunk_bytes {
                    return Boundary::Cut(data.len());
                }
                match memchr::memrchr(b'\n', &data[..(*chunk_bytes).min(data.len())]) {
                    Some(i) => Boundary::Cut(i + 1),
                    None => Boundary::TooLarge { in_quotes: false },
                }
            }
        }
    }

    fn first_record(&self, data: &[u8], eof: bool) -> Boundary {
        match self {
            Splitter::Csv(s) => s.first_record(data, eof),
            Splitter::Lines { .. } => self.boundary(data, eof),
        }
    }

    /// The CSV quoting rules over the first record of `window` (only CSV
    /// has quotes).
    fn check_quotes(&self, window: &[u8]) -> std::result::Result<(), ErrorKind> {
        match self {
            Splitter::Csv(s) => check_first_record_quotes(window, s.options()),
            Splitter::Lines { .. } => Ok(()),
        }
    }
}
use crate::error::{Error, ErrorKind, Location, Result};
use crate::source::{MappedInput, Source, StreamInput};

/// The UTF-8 byte order mark, skipped at the start of the input.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A record-aligned piece of the input.
pub struct Chunk {
    /// Position in the input, from 0; the writer restores this order.
    pub seq: u64,
    /// Byte offset of `data[0]` in the source.
    pub offset: u64,
    /// 1-based line number of the first record in the chunk.
    pub line: u64,
    pub data: Bytes,
    map: Option<Arc<Mmap>>,
}

impl Chunk {
    /// A chunk over bytes that are not part of a mapping (tests, fuzzing).
    pub fn new(seq: u64, offset: u64, line: u64, data: Bytes) -> Self {
        Chunk { seq, offset, line, data, map: None }
    }

    /// Releases the chunk's input pages from the resident set once decoded.
    pub fn release(&self) {
        if let Some(map) = &self.map {
            crate::source::release(map, &self.data);
        }
    }

    /// The location of the record that starts at `pos` within the chunk.
    /// `record` is relative to the chunk; the pipeline makes it absolute.
    pub fn location(&self, pos: usize, record: u64) -> Location {
        let line = self.line + bytecount::count(&self.data[..pos], b'\n') as u64;
        Location { line, byte: self.offset + pos as u64, record, column: None, value: None }
    }
}

/// Cuts a source into chunks.
pub struct Chunker {
    input: Input,
    splitter: Splitter,
    seq: u64,
    offset: u64,
    line: u64,
    bytes_read: u64,
    started: bool,
}

enum Input {
    Mapped { data: Bytes, map: Option<Arc<Mmap>> },
    Stream { reader: Box<dyn Read + Send>, buf: Vec<u8>, eof: bool },
}

impl Chunker {
    pub fn new(source: Source, splitter: impl Into<Splitter>) -> Self {
        let splitter = splitter.into();
        let input = match source {
            Source::Mapped(MappedInput { data, map, .. }) => Input::Mapped { data, map },
            Source::Stream(StreamInput { reader, .. }) => Input::Stream { reader, buf: Vec::new(), eof: false },
        };
        Chunker { input, splitter, seq: 0, offset: 0, line: 1, bytes_read: 0, started: false }
    }

    /// The sequence number the next chunk will get.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Bytes of (decompressed) input consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Reads the first record alone (the header), skipping a BOM. `None` for
    /// an empty input.
    pub fn header(&mut self) -> Result<Option<Chunk>> {
        // A record ends at LF (or CRLF). A CR that no LF follows before the
        // first LF means old Mac line breaks, which would make the whole
        // file one record: refuse them, whatever the chunk size.
        let (window, _) = fill_window(&mut self.input, self.splitter.chunk_bytes())?;
        let first_line = &window[..memchr::memchr(b'\n', window).unwrap_or(window.len())];
        if memchr::memchr_iter(b'\r', first_line).any(|i| i + 1 < first_line.len()) {
            return Err(Error::spec(
                "the input's first line holds a CR without an LF: CR-only line breaks are not supported; \
                 convert them to LF or CRLF",
            ));
        }
        let header = self.next_with(|s, data, eof| s.first_record(data, eof))?;
        // The header is not a data chunk: data chunks count from 0.
        self.seq = 0;
        Ok(header)
    }

    /// The next chunk, `None` at the end of the input.
    #[allow(clippy::should_implement_trait, reason = "fallible, and the pipeline wants the Result first")]
    pub fn next(&mut self) -> Result<Option<Chunk>> {
        self.next_with(|s, data, eof| s.boundary(data, eof))
    }

    fn next_with(&mut self, cut: impl Fn(&Splitter, &[u8], bool) -> Boundary) -> Result<Option<Chunk>> {
        let limit = self.splitter.chunk_bytes();
        if !self.started {
            self.started = true;
            if fill_window(&mut self.input, limit)?.0.starts_with(BOM) {
                self.take(BOM.len());
                self.offset = BOM.len() as u64;
            }
        }
        let (window, eof) = fill_window(&mut self.input, limit)?;
        if window.is_empty() && eof {
            return Ok(None);
        }
        let n = match cut(&self.splitter, window, eof) {
            Boundary::Cut(n) => n,
            Boundary::TooLarge { in_quotes } => {
                // No record ends within the limit: either the record is long,
                // or its quoting is broken (a stray quote, one never closed),
                // which the decoder's own check tells, as it would have.
                let kind = match self.splitter.check_quotes(window) {
                    Err(ErrorKind::MalformedQuote) => ErrorKind::MalformedQuote,
                    Err(ErrorKind::UnterminatedQuote) if eof && in_quotes => ErrorKind::UnterminatedQuote,
                    _ => ErrorKind::RecordTooLarge { limit },
                };
                let value = Some(crate::error::show_value(crate::decode::first_line(window)));
                let loc = Location { line: self.line, byte: self.offset, record: 0, column: None, value };
                return Err(Error::new(kind).at(loc));
            }
        };
        let (data, map) = self.take(n);
        let chunk = Chunk { seq: self.seq, offset: self.offset, line: self.line, data, map };
        self.seq += 1;
        self.offset += chunk.data.len() as u64;
        self.line += bytecount::count(&chunk.data, b'\n') as u64;
        Ok(Some(chunk))
    }

    fn take(&mut self, n: usize) -> (Bytes, Option<Arc<Mmap>>) {
        self.bytes_read += n as u64;
        match &mut self.input {
            Input::Mapped { data, map } => (data.split_to(n), map.clone()),
            Input::Stream { buf, .. } => {
                let rest = buf[n..].to_vec();
                let mut head = std::mem::replace(buf, rest);
                head.truncate(n);
                (Bytes::from(head), None)
            }
        }
    }
}

/// The bytes available from the current position, and whether they run to
/// the end of the input. A stream is buffered to `limit + 1` bytes (or its
/// end), which is all a boundary search needs to decide.
fn fill_window(input: &mut Input, limit: usize) -> Result<(&[u8], bool)> {
    match input {
        Input::Mapped { data, .. } => Ok((&data[..], true)),
        Input::Stream { reader, buf, eof } => {
            // One byte past the limit tells "fits exactly" from "too large".
            let want = limit.saturating_add(1);
            if buf.len() < want && !*eof {
                fill(reader.as_mut(), buf, want, eof)?;
            }
            Ok((&buf[..], *eof))
        }
    }
}

/// Reads until `buf` holds `want` bytes or the reader ends.
fn fill(reader: &mut dyn Read, buf: &mut Vec<u8>, want: usize, eof: &mut bool) -> Result<()> {
    if buf.capacity() < want {
        buf.reserve_exact(want - buf.len());
    }
    let mut len = buf.len();
    // Zeroing touches the same pages the read is about to fill.
    buf.resize(want, 0);
    while len < want {
        match reader.read(&mut buf[len..]) {
            Ok(0) => {
                *eof = true;
                break;
            }
            Ok(k) => len += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf.truncate(len);
                return Err(Error::io("reading input", e));
            }
        }
    }
    buf.truncate(len);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::CsvOptions;

    fn chunks(source: Source, chunk_bytes: usize, header: bool) -> Result<Vec<(u64, u64, String)>> {
        let mut c = Chunker::new(source, CsvSplitter::new(&CsvOptions::default(), chunk_bytes));
        let mut out = Vec::new();
        if header {
            let h = c.header()?.unwrap();
            out.push((h.offset, h.line, String::from_utf8(h.data.to_vec()).unwrap()));
        }
        while let Some(ch) = c.next()? {
            out.push((ch.offset, ch.line, String::from_utf8(ch.data.to_vec()).unwrap()));
        }
        Ok(out)
    }

    #[test]
    fn mapped_and_stream_cut_alike() {
        let text = "\u{feff}h1,h2\na,\"x\ny\"\nb,c\nd,e\n";
        for size in [9, 10, 16, 100] {
            let m = chunks(Source::from_bytes("m", text.as_bytes().to_vec()), size, true).unwrap();
            let s =
                chunks(Source::from_reader("s", std::io::Cursor::new(text.as_bytes().to_vec())).unwrap(), size, true)
                    .unwrap();
            assert_eq!(m, s, "chunk size {size}");
            assert_eq!(m[0], (3, 1, "h1,h2\n".to_string()), "BOM skipped, offsets count it");
            assert_eq!(m[1].0, 9);
            assert_eq!(m[1].1, 2);
            let joined: String = m.iter().map(|c| c.2.as_str()).collect();
            assert_eq!(joined, &text[3..]);
        }
    }

    #[test]
    fn a_record_over_the_limit_is_an_error_with_its_place() {
        let text = "a,b\n1,2\n333333333,4\n";
        for source in [
            Source::from_bytes("m", text.as_bytes().to_vec()),
            Source::from_reader("s", std::io::Cursor::new(text.as_bytes().to_vec())).unwrap(),
        ] {
            let err = chunks(source, 8, true).unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::RecordTooLarge { limit: 8 });
            let loc = err.location().unwrap();
            assert_eq!((loc.line, loc.byte), (3, 8));
        }
    }

    #[test]
    fn a_long_header_is_judged_alone() {
        // Regression (fuzz): the next record's stray quote was blamed on the
        // header that did not fit the chunk.
        let err = chunks(Source::from_bytes("m", b"ab,c\n1,x\"y\n".to_vec()), 3, true).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::RecordTooLarge { limit: 3 });
        assert_eq!(err.location().unwrap().line, 1);
    }

    #[test]
    fn an_unclosed_quote_at_the_end_is_reported_as_such() {
        let text = "a,b\n1,\"open\n2,3\n4,5\n6,7\n";
        let err = chunks(Source::from_bytes("m", text.as_bytes().to_vec()), 8, true).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::UnterminatedQuote);
        assert_eq!(err.location().unwrap().line, 2);
    }
}
