//! Where bytes come from: a memory-mapped file, or a stream (stdin, gzip,
//! zstd) read into bounded buffers. The only place that reads input.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use memmap2::Mmap;

use crate::error::{Error, Result};

#[cfg(feature = "aws")]
pub mod object;

/// The first bytes of a gzip stream (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The first bytes of a zstd frame (RFC 8878).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// How the input is compressed, read from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn detect(head: &[u8]) -> Self {
        if head.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else if head.starts_with(&ZSTD_MAGIC) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// An input, opened.
pub enum Source {
    /// A whole file or buffer, addressable without copying.
    Mapped(MappedInput),
    /// Bytes that arrive in order and are read into bounded buffers.
    Stream(StreamInput),
}

/// A memory-mapped file (or an in-memory buffer), sliced without copying.
pub struct MappedInput {
    pub(crate) name: String,
    pub(crate) data: Bytes,
    /// The mapping, so that consumed pages can be released from the RSS.
    pub(crate) map: Option<Arc<Mmap>>,
}

/// A reader whose bytes are consumed once, in order.
pub struct StreamInput {
    pub(crate) name: String,
    pub(crate) reader: Box<dyn Read + Send>,
    pub(crate) compression: Compression,
}

struct MapOwner(Arc<Mmap>);

impl AsRef<[u8]> for MapOwner {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Source {
    /// Opens a path; `-` is standard input. gzip and zstd are detected from
    /// their magic bytes and decompressed as a stream; a plain file is mapped.
    pub fn open(path: &Path) -> Result<Source> {
        if path.as_os_str() == "-" {
            return Source::from_reader("-", std::io::stdin());
        }
        let name = path.display().to_string();
        let mut file = File::open(path).map_err(|e| Error::io(format!("opening {name}"), e))?;
        let meta = file.metadata().map_err(|e| Error::io(format!("reading {name}"), e))?;
        if !meta.is_file() {
            return Source::from_reader(&name, file);
        }
        let mut head = [0u8; 4];
        let n = read_head(&mut file, &mut head).map_err(|e| Error::io(format!("reading {name}"), e))?;
        if Compression::detect(&head[..n]) != Compression::None {
            let file = File::open(path).map_err(|e| Error::io(format!("opening {name}"), e))?;
            return Source::from_reader(&name, file);
        }
        if meta.len() == 0 {
            return Ok(Source::Mapped(MappedInput { name, data: Bytes::new(), map: None }));
        }
        // SAFETY: the mapping is read-only; like every tool that maps its
        // input (ripgrep, DuckDB), we rely on the file not being truncated
        // while it is converted.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(format!("mapping {name}"), e))?;
        // Chunks are cut front to back: ask for aggressive read-ahead.
        let _ = map.advise(memmap2::Advice::Sequential);
        let map = Arc::new(map);
        let data = Bytes::from_owner(MapOwner(Arc::clone(&map)));
        Ok(Source::Mapped(MappedInput { name, data, map: Some(map) }))
    }

    /// A stream, decompressed when its first bytes say gzip or zstd.
    pub fn from_reader(name: &str, reader: impl Read + Send + 'static) -> Result<Source> {
        let mut reader = BufReader::with_capacity(64 << 10, reader);
        let head = reader.fill_buf().map_err(|e| Error::io(format!("reading {name}"), e))?;
        let compression = Compression::detect(head);
        let reader: Box<dyn Read + Send> = match compression {
            Compression::None => Box::new(reader),
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
            Compression::Zstd => Box::new(
                zstd::stream::read::Decoder::with_buffer(reader)
                    .map_err(|e| Error::io(format!("starting zstd on {name}"), e))?,
            ),
        };
        Ok(Source::Stream(StreamInput { name: name.to_string(), reader, compression }))
    }

    /// Reads the object at `url` (`s3://bucket/key`) in ranged GETs of up to
    /// `range_bytes`, `reads` in flight (the plan's
    /// [`object_range`](crate::Plan::object_range) and
    /// [`object_reads`](crate::Plan::object_reads)); `endpoint` overrides
    /// `AWS_ENDPOINT_URL`.
    #[cfg(feature = "aws")]
    pub fn open_object(
        url: &object::ObjectUrl,
        endpoint: Option<&str>,
        range_bytes: usize,
        reads: usize,
    ) -> Result<Source> {
        Source::open_object_at(url, endpoint, range_bytes, reads, None)
    }

    /// As [`Source::open_object`], at the version `etag` names (an object
    /// that changed since is an error).
    #[cfg(feature = "aws")]
    pub fn open_object_at(
        url: &object::ObjectUrl,
        endpoint: Option<&str>,
        range_bytes: usize,
        reads: usize,
        etag: Option<String>,
    ) -> Result<Source> {
        let reader = object::ObjectReader::open(url, endpoint, range_bytes, reads, etag)?;
        Source::from_reader(&url.to_string(), reader)
    }

    /// As [`Source::open_object_at`], through a client already built for
    /// `url`'s bucket.
    #[cfg(feature = "aws")]
    pub fn open_object_in(
        store: std::sync::Arc<object_store::aws::AmazonS3>,
        url: &object::ObjectUrl,
        range_bytes: usize,
        reads: usize,
        etag: Option<String>,
    ) -> Result<Source> {
        let reader = object::ObjectReader::open_in(store, url, range_bytes, reads, etag)?;
        Source::from_reader(&url.to_string(), reader)
    }

    /// Bytes already in memory (tests, API request bodies).
    pub fn from_bytes(name: &str, data: impl Into<Bytes>) -> Source {
        Source::Mapped(MappedInput { name: name.to_string(), data: data.into(), map: None })
    }

    pub fn name(&self) -> &str {
        match self {
            Source::Mapped(m) => &m.name,
            Source::Stream(s) => &s.name,
        }
    }

    /// Size in bytes when known up front (not for streams).
    pub fn size(&self) -> Option<u64> {
        match self {
            Source::Mapped(m) => Some(m.data.len() as u64),
            Source::Stream(_) => None,
        }
    }

    pub fn compression(&self) -> Compression {
        match self {
            Source::Mapped(_) => Compression::None,
            Source::Stream(s) => s.compression,
        }
    }
}

fn read_head(file: &mut File, head: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Gives the pages under `data` back to the operating system when they are
/// part of a read-only file mapping, so that consumed input does not stay in
/// the resident set.
///
/// The range is widened to whole [`FAULT_AROUND_BYTES`] blocks. A page
/// fault on a file mapping also maps the cached pages around it in that
/// aligned block, so a touch at the start of the next chunk maps the end
/// of this one again, after it was released, and nothing would release it
/// later: at 256 KiB chunks that kept a tenth of a 1,000 MB input resident.
/// Whichever of two neighbouring chunks is released last drops their
/// shared block after both are done with it. Dropping pages a neighbour
/// still reads is safe: the mapping is read-only, so a later touch only
/// faults them in again.
pub(crate) fn release(map: &Mmap, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let base = map.as_ptr() as usize;
    let start = data.as_ptr() as usize - base;
    let block = FAULT_AROUND_BYTES;
    let from = start / block * block;
    let to = (start + data.len()).div_ceil(block) * block;
    let to = to.min(map.len().div_ceil(page_size()) * page_size());
    // SAFETY: the mapping is private and read-only, so dropping its pages
    // loses nothing: a later read faults them in again from the file.
    let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, from, to - from) };
}

/// The block a page fault maps around the faulting page (Linux's default
/// `fault_around_bytes`).
const FAULT_AROUND_BYTES: usize = 64 << 10;

fn page_size() -> usize {
    4096 // bytes; the smallest page size of every platform Lambda runs on (x86_64, arm64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn detects_compression_by_magic() {
        assert_eq!(Compression::detect(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd]), Compression::Zstd);
        assert_eq!(Compression::detect(b"a,b"), Compression::None);
        assert_eq!(Compression::detect(b""), Compression::None);
    }

    #[test]
    fn opens_gzip_as_a_stream() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"a,b\n1,2\n").unwrap();
        let gz = enc.finish().unwrap();
        let mut s = match Source::from_reader("x", std::io::Cursor::new(gz)).unwrap() {
            Source::Stream(s) => s,
            Source::Mapped(_) => panic!("gzip must be a stream"),
        };
        assert_eq!(s.compression, Compression::Gzip);
        let mut out = String::new();
        s.reader.read_to_string(&mut out).unwrap();
        assert_eq!(out, "a,b\n1,2\n");
    }
}
