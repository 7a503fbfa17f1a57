//! Where the sample comes from: windows at the start, in the middle and at
//! the end of a file, or the first bytes of a stream. Each later window
//! starts anywhere; the format's driver aligns it to a record start.

use std::io::Read;

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::source::{MappedInput, Source, StreamInput};

/// The UTF-8 byte order mark, skipped at the start of the input.
const BOM: &[u8] = b"\xEF\xBB\xBF";
/// Places sampled in a file larger than the sample: the start, a quarter,
/// the middle, three quarters, and the end.
const PLACES: usize = 5;
/// The smallest window, so that each holds whole records: 64 KiB.
pub(crate) const MIN_WINDOW_BYTES: usize = 64 << 10;

/// A stretch of the (decompressed) input.
pub(crate) struct Window {
    /// Byte offset of `data[0]` in the input (a BOM counts).
    pub offset: u64,
    pub data: Bytes,
    /// The window starts where the input's first record does.
    pub at_start: bool,
    /// The window runs to the end of the input.
    pub at_end: bool,
}

/// The windows read, in input order.
pub(crate) struct Sample {
    pub windows: Vec<Window>,
    /// The windows are the whole input, nothing left out.
    pub whole_input: bool,
}

impl Sample {
    pub fn bytes(&self) -> u64 {
        self.windows.iter().map(|w| w.data.len() as u64).sum()
    }
}

/// Reads about `sample_bytes` of `source`: a mapped file whole when it is no
/// larger, else in [`PLACES`] windows; a stream's first bytes.
pub(crate) fn sample(source: Source, sample_bytes: usize) -> Result<Sample> {
    let want = sample_bytes.max(MIN_WINDOW_BYTES);
    match source {
        Source::Mapped(MappedInput { data, .. }) => {
            let skip = if data.starts_with(BOM) { BOM.len() } else { 0 };
            let len = data.len() - skip;
            let window = (want / PLACES).max(MIN_WINDOW_BYTES);
            if len <= want || window * PLACES >= len {
                let whole = Window { offset: skip as u64, data: data.slice(skip..), at_start: true, at_end: true };
                return Ok(Sample { windows: vec![whole], whole_input: true });
            }
            let starts = [0, len / 4, len / 2, len / 4 * 3, len - window];
            let windows = starts
                .iter()
                .map(|&s| Window {
                    offset: (skip + s) as u64,
                    data: data.slice(skip + s..skip + s + window),
                    at_start: s == 0,
                    at_end: s + window == len,
                })
                .collect();
            Ok(Sample { windows, whole_input: false })
        }
        Source::Stream(StreamInput { name, mut reader, .. }) => {
            // One byte past the sample tells a stream that fits from one that goes on.
            let mut buf = Vec::with_capacity(want + 1);
            (&mut reader)
                .take(want as u64 + 1)
                .read_to_end(&mut buf)
                .map_err(|e| Error::io(format!("reading {name}"), e))?;
            let at_end = buf.len() <= want;
            buf.truncate(want);
            let skip = if buf.starts_with(BOM) { BOM.len() } else { 0 };
            let data = Bytes::from(buf).slice(skip..);
            let window = Window { offset: skip as u64, data, at_start: true, at_end };
            Ok(Sample { windows: vec![window], whole_input: at_end })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_file_is_read_whole() {
        let s = sample(Source::from_bytes("x", &b"\xEF\xBB\xBFa,b\n1,2\n"[..]), 1 << 20).unwrap();
        assert!(s.whole_input);
        assert_eq!(s.windows.len(), 1);
        assert_eq!((s.windows[0].offset, &s.windows[0].data[..]), (3, &b"a,b\n1,2\n"[..]));
    }

    #[test]
    fn a_large_file_is_read_in_five_places() {
        let data = vec![b'x'; 10 * MIN_WINDOW_BYTES];
        let s = sample(Source::from_bytes("x", data.clone()), 2 * MIN_WINDOW_BYTES).unwrap();
        assert!(!s.whole_input);
        let offsets: Vec<u64> = s.windows.iter().map(|w| w.offset).collect();
        let len = data.len() as u64;
        assert_eq!(offsets, [0, len / 4, len / 2, len / 4 * 3, len - MIN_WINDOW_BYTES as u64]);
        assert!(s.windows[0].at_start && s.windows[4].at_end && !s.windows[2].at_end);
    }

    #[test]
    fn a_stream_gives_its_first_bytes() {
        let data = vec![b'x'; 2 * MIN_WINDOW_BYTES];
        let source = Source::from_reader("s", std::io::Cursor::new(data)).unwrap();
        let s = sample(source, 1).unwrap();
        assert!(!s.whole_input && !s.windows[0].at_end);
        assert_eq!(s.windows[0].data.len(), MIN_WINDOW_BYTES);
    }
}
