//! The rejects output: one NDJSON line per rejected record, written under a
//! temporary name and renamed when the run succeeds, like the Parquet. The
//! file exists only when something was rejected.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Serialize;

use super::{temp_path_for, TempPath};
use crate::error::{Error, Reject, Result};

/// Rejected records on their way to `<output>.rejects.ndjson` (or another path).
pub struct RejectSink {
    target: PathBuf,
    source: String,
    file: Option<(BufWriter<File>, TempPath)>,
    line: Vec<u8>,
}

#[derive(Serialize)]
struct Line<'a> {
    source: &'a str,
    line: u64,
    byte_offset: u64,
    record: u64,
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

impl RejectSink {
    /// A sink for rejects of `source` (its name as the records give it);
    /// nothing is created until the first reject.
    pub fn new(target: &Path, source: &str) -> Self {
        RejectSink { target: target.to_path_buf(), source: source.to_string(), file: None, line: Vec::new() }
    }

    pub fn path(&self) -> &Path {
        &self.target
    }

    /// Appends one reject (its record index already absolute).
    pub fn append(&mut self, reject: &Reject) -> Result<()> {
        if self.file.is_none() {
            let temp = temp_path_for(&self.target)?;
            let f = File::create(&temp).map_err(|e| Error::io(format!("creating {}", temp.display()), e))?;
            self.file = Some((BufWriter::new(f), TempPath(Some(temp))));
        }
        let raw = std::str::from_utf8(&reject.raw).ok();
        let line = Line {
            source: &self.source,
            line: reject.location.line,
            byte_offset: reject.location.byte,
            record: reject.location.record,
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
        };
        self.line.clear();
        serde_json::to_writer(&mut self.line, &line).map_err(|e| Error::encode(format!("reject record: {e}")))?;
        self.line.push(b'\n');
        let (w, _) = self.file.as_mut().expect("opened above");
        w.write_all(&self.line).map_err(|e| Error::io("writing rejects", e))
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
