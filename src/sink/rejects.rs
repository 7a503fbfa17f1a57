//! The rejects output: one NDJSON line per rejected record, written under a
//! temporary name and renamed when the run succeeds, like the Parquet. The
//! file exists only when something was rejected.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Serialize;

use super::{temp_path_for, TempPath};
use crate::error::{Error, Reject, Result};

/// Rejected records on their way to `<output>.rejects.ndjson` (or another path).
pub struct RejectSink {
    target: PathBuf,
    file: Option<(BufWriter<File>, TempPath)>,
    line: Vec<u8>,
}

#[derive(Serialize)]
struct Line<'a> {
    source: &'a str,
    line: u64,
    byte_offset: u64,
    problems: Vec<ProblemLine<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_base64: Option<String>,
}

#[derive(Serialize)]
struct ProblemLine<'a> {
    code: &'static str,
    column: Option<&'a str>,
    message: String,
    value: Option<&'a str>,
}

/// A chunk's rejects as their NDJSON lines, compressed: a worker packs them
/// so that a chunk of bad rows waits for the writer in a fraction of its
/// size. Each line ends with `"record":`, the writer adding the index.
pub struct Packed {
    /// Per reject: its record index within the chunk.
    records: Vec<u32>,
    /// Per reject: where its text ends in the unpacked text.
    ends: Vec<u64>,
    data: Vec<u8>,
}

impl Packed {
    /// Packs `rejects` (record indexes relative to their chunk) of `source`.
    pub fn new(source: &str, rejects: &[Reject]) -> Result<Packed> {
        // Written straight through the compressor: the text is never whole.
        let mut z = zstd::stream::Encoder::new(Vec::new(), 1).map_err(|e| Error::io("packing rejects", e))?;
        let mut records = Vec::with_capacity(rejects.len());
        let mut ends = Vec::with_capacity(rejects.len());
        let mut text = Vec::new();
        let mut len = 0usize;
        for r in rejects {
            text.clear();
            serde_json::to_writer(&mut text, &line(source, r)).map_err(|e| Error::encode(format!("reject: {e}")))?;
            text.pop(); // the closing brace: the record index and the brace follow
            text.extend_from_slice(b",\"record\":");
            z.write_all(&text).map_err(|e| Error::io("packing rejects", e))?;
            len += text.len();
            records.push(r.location.record as u32);
            ends.push(len as u64);
        }
        let data = z.finish().map_err(|e| Error::io("packing rejects", e))?;
        Ok(Packed { records, ends, data })
    }
}

fn line<'a>(source: &'a str, reject: &'a Reject) -> Line<'a> {
    let raw = std::str::from_utf8(&reject.raw).ok();
    Line {
        source,
        line: reject.location.line,
        byte_offset: reject.location.byte,
        problems: reject
            .problems
            .iter()
            .map(|p| ProblemLine {
                code: p.kind.code(),
                column: p.column.as_deref(),
                message: p.kind.to_string(),
                value: p.value.as_deref(),
            })
            .collect(),
        raw,
        raw_base64: raw.is_none().then(|| base64::engine::general_purpose::STANDARD.encode(&reject.raw)),
    }
}

impl RejectSink {
    /// A sink for rejects; nothing is created until the first reject.
    pub fn new(target: &Path) -> Self {
        RejectSink { target: target.to_path_buf(), file: None, line: Vec::new() }
    }

    pub fn path(&self) -> &Path {
        &self.target
    }

    /// Appends a chunk's packed rejects, their record indexes counted
    /// from `base`.
    pub fn append_packed(&mut self, packed: &Packed, base: u64) -> Result<()> {
        if packed.records.is_empty() {
            return Ok(());
        }
        if self.file.is_none() {
            let temp = temp_path_for(&self.target)?;
            let f = File::create(&temp).map_err(|e| Error::io(format!("creating {}", temp.display()), e))?;
            self.file = Some((BufWriter::new(f), TempPath(Some(temp))));
        }
        let unpack = |e| Error::io("unpacking rejects", e);
        let mut text = zstd::stream::Decoder::new(&packed.data[..]).map_err(unpack)?;
        let (w, _) = self.file.as_mut().expect("opened above");
        let mut from = 0;
        for (&rel, &end) in packed.records.iter().zip(&packed.ends) {
            self.line.resize((end - from) as usize, 0);
            text.read_exact(&mut self.line).map_err(unpack)?;
            self.line.extend_from_slice(format!("{}}}\n", base + u64::from(rel)).as_bytes());
            w.write_all(&self.line).map_err(|e| Error::io("writing rejects", e))?;
            from = end;
        }
        Ok(())
    }

    /// Syncs and renames the rejects file to its final name; with no
    /// rejects, removes a stale file of an earlier run there. Returns the
    /// path when a file was written.
    pub fn finish(mut self) -> Result<Option<PathBuf>> {
        let Some((w, mut temp)) = self.file.take() else {
            match std::fs::remove_file(&self.target) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(format!("removing stale {}", self.target.display()), e))
                }
                _ => return Ok(None),
            }
        };
        let file = w.into_inner().map_err(|e| Error::io("writing rejects", e.into_error()))?;
        file.sync_all().map_err(|e| Error::io("syncing rejects", e))?;
        let from = temp.0.take().expect("temp path present until finish");
        std::fs::rename(&from, &self.target).map_err(|e| {
            let _ = std::fs::remove_file(&from);
            Error::io(format!("renaming {} to {}", from.display(), self.target.display()), e)
        })?;
        Ok(Some(self.target.clone()))
    }
}
