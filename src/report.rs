//! What a run did: rows in, written and rejected, bytes, time, peak memory.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::budget::Plan;

/// The outcome of a run. The keys are stable: scripts and Lambda handlers
/// read them.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub source: String,
    pub output: String,
    /// Data records read (the header excluded).
    pub rows_read: u64,
    pub rows_written: u64,
    /// Rows set aside as bad. `rows_read` is always `rows_written +
    /// rows_rejected + rows_filtered + rows_unrouted`.
    pub rows_rejected: u64,
    /// Problems of the rejected rows, by code (a row may have several).
    pub rejects_by_code: BTreeMap<String, u64>,
    /// The rejects file, when something was rejected.
    pub rejects_file: Option<String>,
    /// Values made null under the null policy (the rows were kept).
    pub values_nulled: u64,
    /// Rows a transform's filter removed (good rows, not written).
    pub rows_filtered: u64,
    /// Rows no route took.
    pub rows_unrouted: u64,
    /// Input bytes consumed (after decompression).
    pub bytes_read: u64,
    /// Size of the Parquet output.
    pub bytes_written: u64,
    pub row_groups: usize,
    pub files: usize,
    pub seconds: f64,
    /// The process's peak resident set, as the operating system counts it.
    pub peak_rss_bytes: u64,
    pub plan: Plan,
}

impl Report {
    /// Input megabytes (10^6 bytes) per second.
    pub fn throughput_mb_s(&self) -> f64 {
        if self.seconds > 0.0 {
            self.bytes_read as f64 / 1e6 / self.seconds
        } else {
            0.0
        }
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} -> {}: {} rows read, {} written, {} rejected; {:.1} MB in, {:.1} MB out, {} row groups, \
             {:.2} s ({:.0} MB/s), peak RSS {:.1} MB",
            self.source,
            self.output,
            self.rows_read,
            self.rows_written,
            self.rows_rejected,
            self.bytes_read as f64 / 1e6,
            self.bytes_written as f64 / 1e6,
            self.row_groups,
            self.seconds,
            self.throughput_mb_s(),
            self.peak_rss_bytes as f64 / 1e6,
        )?;
        if self.rows_filtered > 0 || self.rows_unrouted > 0 {
            write!(f, "\n{} rows filtered out, {} matched no route", self.rows_filtered, self.rows_unrouted)?;
        }
        if self.files > 1 {
            write!(f, "\n{} files written under {}", self.files, self.output)?;
        }
        if let Some(file) = &self.rejects_file {
            let codes: Vec<String> = self.rejects_by_code.iter().map(|(c, n)| format!("{c} {n}")).collect();
            write!(f, "\nrejected rows in {file} ({})", codes.join(", "))?;
        }
        if self.values_nulled > 0 {
            write!(f, "\nwarning: {} values that did not fit their column were made null", self.values_nulled)?;
        }
        Ok(())
    }
}

/// The peak resident set size of this process in bytes (Linux `VmHWM`), or 0
/// where the platform does not say.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
