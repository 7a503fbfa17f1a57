//! Record-aligned chunks: each ends on a record boundary and is at most the
//! budget's chunk size, and knows its sequence number, byte offset and first
//! line, so that every error can point at its origin.
//!
//! The boundary search ([`CsvSplitter`], lines, [`JsonArraySplitter`]) is a
//! pure function of the bytes; the [`Chunker`] drives it over a mapped file
//! (no copies) or a stream (bounded buffers), and consumes what lies outside
//! every record: a BOM, and a JSON array's brackets.

mod csv;
mod json;

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use memmap2::Mmap;

pub use self::csv::{check_first_record_quotes, check_quotes, CsvSplitter};
pub(crate) use self::json::{first_value, is_space, leading_space, MISSING_COMMA};
pub use self::json::{first_value_end, next_delimiter, Delimiter, JsonArraySplitter};

/// Where a chunk ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// The first `n` bytes are whole records.
    Cut(usize),
    /// The first `end` bytes are whole records, with `lines` line feeds
    /// among them (counted while finding the boundary).
    Counted { end: usize, lines: u64 },
    /// The first `n` bytes are the input's last records: a JSON array's
    /// closing `]` (or the end of input, where the decoder finds it missing).
    /// Only whitespace may follow.
    Last(usize),
    /// No record ends within the limit. `in_quotes` says the limit fell
    /// inside a quoted field (at the end of input: a quote never closed).
    TooLarge { in_quotes: bool },
}

/// Finds record boundaries for one input format.
#[derive(Debug, Clone)]
pub enum Splitter {
    /// Quote-aware CSV records.
    Csv(CsvSplitter),
    /// Lines (NDJSON): a JSON text holds no raw newline, so every newline
    /// ends a record.
    Lines { chunk_bytes: usize },
    /// The elements of one top-level JSON array, cut after top-level commas.
    JsonArray(JsonArraySplitter),
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
            Splitter::JsonArray(s) => s.chunk_bytes(),
        }
    }

    /// The longest prefix of at most the chunk size that ends on a record
    /// boundary (see [`CsvSplitter::boundary`], [`JsonArraySplitter::boundary`]).
    pub fn boundary(&self, data: &[u8], eof: bool) -> Boundary {
        match self {
            Splitter::Csv(s) => s.boundary(data, eof),
            Splitter::JsonArray(s) => s.boundary(data, eof),
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
            Splitter::Lines { .. } | Splitter::JsonArray(_) => self.boundary(data, eof),
        }
    }

    /// The CSV quoting rules over the first record of `window` (only CSV
    /// has quotes).
    fn check_quotes(&self, window: &[u8]) -> std::result::Result<(), ErrorKind> {
        match self {
            Splitter::Csv(s) => check_first_record_quotes(window, s.options()),
            // Only within the chunk size, which is all a stream's window
            // holds: the verdict is the same however the input is read.
            Splitter::JsonArray(s) => json::check_first_element(&window[..window.len().min(s.chunk_bytes())]),
            Splitter::Lines { .. } => Ok(()),
        }
    }

    /// Where the record that `window` begins with has its first byte: a
    /// JSON array element after the whitespace that follows its comma.
    fn record_start(&self, window: &[u8]) -> usize {
        match self {
            Splitter::JsonArray(_) => leading_space(window),
            Splitter::Csv(_) | Splitter::Lines { .. } => 0,
        }
    }
}
use crate::error::{Error, ErrorKind, Location, Result};
use crate::source::{MappedInput, Source, StreamInput};

/// The UTF-8 byte order mark, skipped at the start of the input.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What is wrong with the outside of a JSON array (the insides are the
/// decoder's to judge).
pub(crate) const NOT_AN_ARRAY: &str = "the input is not a JSON array: it does not start with `[`";
pub(crate) const EMPTY_ARRAY_INPUT: &str = "the input is empty; a JSON array was expected";
pub(crate) const DATA_AFTER_ARRAY: &str = "data after the array's closing `]`";

/// A record-aligned piece of the input.
pub struct Chunk {
    /// Position in the input, from 0; the writer restores this order.
    pub seq: u64,
    /// Byte offset of `data[0]` in the source.
    pub offset: u64,
    /// 1-based line number of the first record in the chunk.
    pub line: u64,
    pub data: Bytes,
    /// The line feeds in `data`, where the chunker counted them (it does
    /// for every chunk it cuts), so that a decoder need not count again.
    pub lines: Option<u64>,
    map: Option<Arc<Mmap>>,
}

impl Chunk {
    /// A chunk over bytes that are not part of a mapping (tests, fuzzing).
    pub fn new(seq: u64, offset: u64, line: u64, data: Bytes) -> Self {
        Chunk { seq, offset, line, data, lines: None, map: None }
    }

    /// The line feeds in `data`: the chunker's count, else counted now.
    pub fn line_feeds(&self) -> usize {
        self.lines.map_or_else(|| bytecount::count(&self.data, b'\n'), |n| n as usize)
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
    /// The splitter has cut the last records (a JSON array's `]`): what
    /// follows may only be whitespace.
    ended: bool,
    /// Workers the chunks are shared among (see [`Chunker::taper_for`]).
    workers: usize,
}

/// The smallest chunk the tail of an input is cut into (bytes).
const MIN_TAIL_CHUNK: usize = 256 << 10;

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
        Chunker { input, splitter, seq: 0, offset: 0, line: 1, bytes_read: 0, started: false, ended: false, workers: 1 }
    }

    /// Cuts the end of an input of known length (a mapped file) into
    /// smaller chunks for `workers` workers: once less than two chunks per
    /// worker remain, each chunk takes a share of what is left, down to
    /// [`MIN_TAIL_CHUNK`]. The workers then run out of input within a small
    /// chunk's time of each other, instead of one decoding a last whole
    /// chunk while the others wait.
    pub fn taper_for(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
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
        self.start()?;
        // Blank lines before the header, like a BOM, belong to no record:
        // skipped, they count towards no chunk size.
        let window = loop {
            let (window, _) = fill_window(&mut self.input, self.splitter.chunk_bytes())?;
            let n = blank_lines(window);
            if n == 0 {
                break window;
            }
            self.skip(n);
        };
        // A record ends at LF (or CRLF). A CR that no LF follows before the
        // header's LF means old Mac line breaks, which would make the whole
        // file one record: refuse them, whatever the chunk size.
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
        let workers = match self.input {
            Input::Mapped { .. } if self.workers > 1 => self.workers,
            _ => return self.next_with(|s, data, eof| s.boundary(data, eof)),
        };
        self.next_with(|s, data, eof| {
            // A mapped input's window is the rest of it.
            let share = (data.len() / (2 * workers)).max(MIN_TAIL_CHUNK);
            if eof && share < s.chunk_bytes() && share < data.len() {
                // Records are cut within the share as they would be at the
                // end of a window that long; a record longer than it is cut
                // at the full size instead.
                match s.boundary(&data[..share], false) {
                    Boundary::TooLarge { .. } => {}
                    b => return b,
                }
            }
            s.boundary(data, eof)
        })
    }

    fn next_with(&mut self, cut: impl Fn(&Splitter, &[u8], bool) -> Boundary) -> Result<Option<Chunk>> {
        let limit = self.splitter.chunk_bytes();
        self.start()?;
        if self.ended {
            self.skip_trailing_space()?;
            return Ok(None);
        }
        let (window, eof) = fill_window(&mut self.input, limit)?;
        // A JSON array's records end with its `]`: even an empty rest is
        // cut, and the decoder finds the `]` missing.
        if window.is_empty() && eof && !matches!(self.splitter, Splitter::JsonArray(_)) {
            return Ok(None);
        }
        let mut lines = None;
        let n = match cut(&self.splitter, window, eof) {
            Boundary::Cut(n) => n,
            Boundary::Counted { end, lines: l } => {
                lines = Some(l);
                end
            }
            Boundary::Last(n) => {
                self.ended = true;
                n
            }
            Boundary::TooLarge { in_quotes } => {
                // No record ends within the limit: either the record is long,
                // or its quoting is broken (a stray quote, one never closed),
                // which the decoder's own check tells, as it would have.
                let kind = match self.splitter.check_quotes(window) {
                    Err(ErrorKind::MalformedQuote) => ErrorKind::MalformedQuote,
                    Err(ErrorKind::UnterminatedQuote) if eof && in_quotes => ErrorKind::UnterminatedQuote,
                    Err(kind @ ErrorKind::JsonSyntax(_)) => kind,
                    _ => ErrorKind::RecordTooLarge { limit },
                };
                // Shown up to the limit: a stream's window holds no more.
                let lead = self.splitter.record_start(window);
                let shown = match &kind {
                    ErrorKind::JsonSyntax(m) if m == MISSING_COMMA => first_value(&window[lead..]),
                    _ => &window[lead.min(limit)..window.len().min(limit)],
                };
                let value = Some(crate::error::show_value(crate::decode::first_line(shown)));
                let line = self.line + bytecount::count(&window[..lead], b'\n') as u64;
                let loc = Location { line, byte: self.offset + lead as u64, record: 0, column: None, value };
                return Err(Error::new(kind).at(loc));
            }
        };
        let (data, map) = self.take(n);
        let lines = lines.unwrap_or_else(|| bytecount::count(&data, b'\n') as u64);
        let chunk = Chunk { seq: self.seq, offset: self.offset, line: self.line, data, lines: Some(lines), map };
        self.seq += 1;
        self.offset += chunk.data.len() as u64;
        self.line += lines;
        Ok(Some(chunk))
    }

    /// Consumes what comes before the first record, once: a BOM, and a
    /// JSON array's opening `[`.
    fn start(&mut self) -> Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        // However small the chunk, a stream's window must hold a BOM to see it.
        let limit = self.splitter.chunk_bytes();
        if fill_window(&mut self.input, limit.max(BOM.len()))?.0.starts_with(BOM) {
            self.skip(BOM.len());
        }
        if let Splitter::JsonArray(_) = self.splitter {
            self.open_array()?;
        }
        Ok(())
    }

    /// Consumes a JSON array's opening `[` and the whitespace before it.
    fn open_array(&mut self) -> Result<()> {
        loop {
            let (window, eof) = fill_window(&mut self.input, self.splitter.chunk_bytes())?;
            let n = leading_space(window);
            let found = window.get(n).copied();
            let value = matches!(found, Some(b) if b != b'[').then(|| show_line(&window[n..]));
            self.skip(n);
            match found {
                Some(b'[') => {
                    self.skip(1);
                    return Ok(());
                }
                Some(_) => return Err(self.error_here(NOT_AN_ARRAY, value)),
                None if eof => return Err(self.error_here(EMPTY_ARRAY_INPUT, None)),
                None => {}
            }
        }
    }

    /// Consumes what follows a JSON array's `]`, which may be whitespace only.
    fn skip_trailing_space(&mut self) -> Result<()> {
        loop {
            let (window, eof) = fill_window(&mut self.input, self.splitter.chunk_bytes())?;
            let n = leading_space(window);
            let value = (n < window.len()).then(|| show_line(&window[n..]));
            self.skip(n);
            if value.is_some() {
                return Err(self.error_here(DATA_AFTER_ARRAY, value));
            }
            if eof {
                return Ok(());
            }
        }
    }

    /// A JSON syntax error at the current position.
    fn error_here(&self, message: &str, value: Option<String>) -> Error {
        let loc = Location { line: self.line, byte: self.offset, record: 0, column: None, value };
        Error::new(ErrorKind::JsonSyntax(message.to_string())).at(loc)
    }

    /// Consumes `n` bytes that belong to no chunk.
    fn skip(&mut self, n: usize) {
        let (skipped, _) = self.take(n);
        self.offset += n as u64;
        self.line += bytecount::count(&skipped, b'\n') as u64;
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

/// The bytes of the whole blank lines (LF or CRLF) `window` starts with.
fn blank_lines(window: &[u8]) -> usize {
    let mut n = 0;
    loop {
        match &window[n..] {
            [b'\n', ..] => n += 1,
            [b'\r', b'\n', ..] => n += 2,
            _ => return n,
        }
    }
}

/// The first line of `bytes` as an error shows it, looking no further than
/// it shows: a mapped input's pages are not touched (and made resident) for
/// a message.
fn show_line(bytes: &[u8]) -> String {
    const LOOKED_AT: usize = 256; // bytes; more than show_value shows, so it still marks a cut
    crate::error::show_value(crate::decode::first_line(&bytes[..bytes.len().min(LOOKED_AT)]))
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
        chunks_of(source, CsvSplitter::new(&CsvOptions::default(), chunk_bytes).into(), header)
    }

    fn chunks_of(source: Source, splitter: Splitter, header: bool) -> Result<Vec<(u64, u64, String)>> {
        let mut c = Chunker::new(source, splitter);
        let mut out = Vec::new();
        if header {
            let h = c.header()?.unwrap();
            out.push((h.offset, h.line, String::from_utf8(h.data.to_vec()).unwrap()));
        }
        while let Some(ch) = c.next()? {
            assert_eq!(ch.lines, Some(bytecount::count(&ch.data, b'\n') as u64));
            out.push((ch.offset, ch.line, String::from_utf8(ch.data.to_vec()).unwrap()));
        }
        Ok(out)
    }

    #[test]
    fn blank_lines_before_the_header_count_towards_no_chunk() {
        for text in ["\n\r\n\nh\n1\n", "\u{feff}\n\n\nh\n1\n"] {
            let mapped = chunks(Source::from_bytes("m", text.as_bytes().to_vec()), 2, true).unwrap();
            let stream = Source::from_reader("s", std::io::Cursor::new(text.as_bytes().to_vec())).unwrap();
            assert_eq!(mapped, chunks(stream, 2, true).unwrap());
            let skipped = text.len() as u64 - 4;
            assert_eq!(mapped, [(skipped, 4, "h\n".to_string()), (skipped + 2, 5, "1\n".to_string())], "{text:?}");
        }
        // Nothing but blank lines: no header, and no error.
        let splitter = CsvSplitter::new(&CsvOptions::default(), 2);
        let mut c = Chunker::new(Source::from_bytes("m", b"\n\n\n".to_vec()), splitter);
        assert!(c.header().unwrap().is_none());
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

    fn both_sources(text: &str) -> [Source; 2] {
        [
            Source::from_bytes("m", text.as_bytes().to_vec()),
            Source::from_reader("s", std::io::Cursor::new(text.as_bytes().to_vec())).unwrap(),
        ]
    }

    fn array_chunks(source: Source, size: usize) -> Result<Vec<(u64, u64, String)>> {
        chunks_of(source, Splitter::JsonArray(JsonArraySplitter::new(size)), false)
    }

    #[test]
    fn json_array_chunks_alike_mapped_and_streamed_at_every_size() {
        let text = "\u{feff} \n[{\"a\": \"x,]\"},\n {\"b\": [1, {\"c\": \"\\\"]\"}]} , {}\n] \n";
        let inside = &text[text.find('[').unwrap() + 1..text.rfind(']').unwrap() + 1];
        let mut fitted = 0;
        for size in 1..text.len() + 2 {
            let [m, s] = both_sources(text).map(|src| array_chunks(src, size));
            assert_eq!(m, s, "chunk size {size}");
            let Ok(m) = m else { continue };
            fitted += 1;
            assert_eq!(m[0].0, 6, "BOM, whitespace and `[` are consumed, and counted");
            assert_eq!(m[0].1, 2);
            let joined: String = m.iter().map(|c| c.2.as_str()).collect();
            assert_eq!(joined, inside, "chunk size {size}");
            for (offset, line, data) in &m {
                assert_eq!(&text[*offset as usize..][..data.len()], data);
                assert_eq!(*line, 1 + text[..*offset as usize].matches('\n').count() as u64);
            }
        }
        assert!(fitted > 10);
    }

    #[test]
    fn json_array_outside_errors_have_their_place() {
        for (text, message, line, byte) in [
            ("", EMPTY_ARRAY_INPUT, 1, 0),
            ("\u{feff}\n  ", EMPTY_ARRAY_INPUT, 2, 6),
            (" {}", NOT_AN_ARRAY, 1, 1),
            ("[{}]\n\n  x ", DATA_AFTER_ARRAY, 3, 8),
        ] {
            for size in [3, 4, 100] {
                for source in both_sources(text) {
                    let err = array_chunks(source, size).unwrap_err();
                    assert_eq!(err.kind(), &ErrorKind::JsonSyntax(message.into()), "{text:?} at {size}");
                    let loc = err.location().unwrap();
                    assert_eq!((loc.line, loc.byte), (line, byte), "{text:?} at {size}");
                }
            }
        }
        let long_space = format!("[{{}}]{}", " ".repeat(1000));
        for source in both_sources(&long_space) {
            assert_eq!(array_chunks(source, 8).unwrap(), vec![(1, 1, "{}]".to_string())]);
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
    fn blank_lines_before_the_header_belong_to_no_chunk() {
        for size in [6, 9, 10, 100] {
            let c = chunks(Source::from_bytes("m", b"\n\r\nh1,h2\na,b\n".to_vec()), size, true).unwrap();
            assert_eq!(c[0], (3, 3, "h1,h2\n".to_string()), "chunk size {size}");
            assert_eq!((c[1].0, c[1].1), (9, 4), "chunk size {size}");
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

#[cfg(test)]
mod taper_tests {
    use super::*;
    use crate::spec::CsvOptions;

    /// Each chunk's (offset, line, length), checking that the chunks
    /// tile the input and that each one's line number counts the line
    /// feeds before it.
    fn cut(text: &[u8], skip: usize, splitter: Splitter, workers: usize) -> Vec<(u64, u64, usize)> {
        let mut c = Chunker::new(Source::from_bytes("m", text.to_vec()), splitter).taper_for(workers);
        let mut out = Vec::new();
        let mut joined = Vec::new();
        while let Some(ch) = c.next().unwrap() {
            let before = skip + joined.len();
            assert_eq!(ch.offset as usize, before);
            assert_eq!(ch.line, 1 + bytecount::count(&text[..before], b'\n') as u64);
            assert_eq!(ch.lines, Some(bytecount::count(&ch.data, b'\n') as u64));
            joined.extend_from_slice(&ch.data);
            out.push((ch.offset, ch.line, ch.data.len()));
        }
        assert_eq!(&joined[..], &text[skip..skip + joined.len()]);
        out
    }

    fn csv_text() -> Vec<u8> {
        let mut text = Vec::new();
        for i in 0..200_000 {
            text.extend_from_slice(format!("{i},\"a note, with\n\"\"a line\"\" break\",x\n").as_bytes());
        }
        text
    }

    #[test]
    fn the_tail_is_cut_smaller_for_several_workers() {
        let text = csv_text();
        let chunk = 1 << 20;
        let splitter = || Splitter::from(CsvSplitter::new(&CsvOptions::default(), chunk));
        let one = cut(&text, 0, splitter(), 1);
        let two = cut(&text, 0, splitter(), 2);
        assert_eq!(one.iter().map(|c| c.2).sum::<usize>(), text.len());
        assert_eq!(two.iter().map(|c| c.2).sum::<usize>(), text.len());
        // One worker: every chunk but the last is (nearly) full.
        assert!(one[..one.len() - 1].iter().all(|c| c.2 > chunk - 100));
        // Two: the same start, then shrinking chunks down to the floor.
        assert!(two.len() > one.len());
        assert!(two.iter().all(|c| c.2 <= chunk));
        let last_full = two.iter().rposition(|c| c.2 > chunk - 100).unwrap();
        let tail: Vec<usize> = two[last_full + 1..].iter().map(|c| c.2).collect();
        assert!(tail.windows(2).all(|w| w[1] <= w[0] + 100), "{tail:?}");
        assert!(tail[tail.len() - 2] < MIN_TAIL_CHUNK + 100, "{tail:?}");
        // What remains after the full chunks is under two per worker.
        let rest: usize = tail.iter().sum();
        assert!(rest < 4 * chunk, "{rest}");
    }

    #[test]
    fn a_record_longer_than_the_tail_share_is_cut_whole() {
        let mut text = csv_text();
        let long = format!("1,\"{}\",x\n", "y".repeat(900 << 10));
        let at = text.len() - 200_000;
        let at = at + text[at..].iter().position(|&b| b == b'\n').unwrap() + 1;
        let at = at + text[at..].iter().position(|&b| b == b'\n').unwrap() + 1; // past the quoted break
        text.splice(at..at, long.bytes());
        let chunks = cut(&text, 0, CsvSplitter::new(&CsvOptions::default(), 1 << 20).into(), 2);
        assert!(chunks.iter().any(|c| c.2 > 900 << 10));
    }

    #[test]
    fn json_lines_and_arrays_taper_too() {
        let mut lines = Vec::new();
        for i in 0..60_000 {
            lines.extend_from_slice(format!("{{\"id\": {i}, \"note\": \"text, more text\"}}\n").as_bytes());
        }
        let chunks = cut(&lines, 0, Splitter::Lines { chunk_bytes: 1 << 20 }, 4);
        assert!(chunks.iter().filter(|c| c.2 < 1 << 19).count() > 2);
        let mut array = b"[".to_vec();
        for i in 0..60_000 {
            array.extend_from_slice(format!("{{\"id\": {i}, \"note\": \"text ] more\"}},\n").as_bytes());
        }
        array.extend_from_slice(b"{}]\n");
        let chunks = cut(&array, 1, Splitter::JsonArray(JsonArraySplitter::new(1 << 20)), 4);
        assert!(chunks.iter().filter(|c| c.2 < 1 << 19).count() > 2);
        assert_eq!(chunks.iter().map(|c| c.2).sum::<usize>(), array.len() - 1 - 1, "all but `[` and the last LF");
    }
}
