//! One memory size in, every derived size out.
//!
//! The budget is the Lambda memory setting in MB (128 to 10,240). From it
//! [`Budget::plan`] derives the worker threads, the chunk size, how many
//! chunks may be alive at once (queued, decoding, waiting to be written), and
//! the largest record accepted. Each derived number can be overridden; the
//! plan is what the pipeline runs with and what `--explain` prints.
//!
//! The model behind the numbers (measured on the orders benchmark data): a
//! chunk of `C` input bytes costs about `C` while it waits in the queue, and
//! about `WORKING_SET_PER_CHUNK * C` while a worker decodes it into Arrow
//! arrays and encodes those into Parquet pages. An encoded chunk waiting in the
//! reorder window holds roughly half its input size.

use std::fmt;

/// Lambda grants one vCPU per this many MB of memory (up to six vCPUs).
pub const MB_PER_VCPU: u64 = 1769;
/// The most vCPUs a Lambda function gets (at 10,240 MB).
pub const LAMBDA_MAX_VCPUS: usize = 6;
/// Memory the process needs whatever the data: code, allocator, thread stacks (MB).
pub const FIXED_OVERHEAD_MB: u64 = 20;
/// Share of the budget left unplanned as headroom for allocator slack (percent).
pub const HEADROOM_PERCENT: u64 = 25;
/// Peak bytes a worker holds per input byte while decoding and encoding a
/// chunk. Measured: about 3 on the orders data, 4 on narrow integer columns
/// (`1,2,3` becomes 8-byte values), and about 6 when every row of the chunk
/// is rejected (each reject holds its record, its problems and their
/// texts until the worker packs them); 7 leaves room for the allocator.
pub const WORKING_SET_PER_CHUNK: u64 = 7;
/// Smallest chunk the plan derives (bytes); smaller chunks spend more time on overhead.
pub const MIN_CHUNK_BYTES: usize = 256 << 10; // 256 KiB
/// Largest chunk the plan derives (bytes). Measured on the orders data: a
/// worker touches about four times its chunk, and past 8 MiB that working set
/// spills out of a 32 MiB L3 and throughput per core drops by a fifth.
pub const MAX_CHUNK_BYTES: usize = 8 << 20; // 8 MiB
/// Default memory when neither the caller nor the Lambda environment says (MB).
pub const DEFAULT_MEMORY_MB: u64 = 1024;
/// Bytes of one ranged GET of an object input, at budgets under and from
/// [`LARGE_READS_FROM_MB`].
pub const OBJECT_RANGE_BYTES: [usize; 2] = [4 << 20, 8 << 20];
/// The budget (MB) from which object ranges are [`OBJECT_RANGE_BYTES`]'s
/// larger size.
pub const LARGE_READS_FROM_MB: u64 = 512;
/// Ranged GETs in flight: two, and four from a second vCPU's budget on.
pub const OBJECT_READS: [usize; 2] = [2, 4];
/// One upload part of a file streamed to an object store (S3's minimum).
pub const UPLOAD_PART_BYTES: usize = 5 << 20;
/// The share of the usable budget partitioned output takes (percent).
pub const PARTITION_SHARE_PERCENT: u64 = 30;
/// What one open partition file costs: its write buffer, the writer and
/// the footer it accumulates (bytes).
pub const OPEN_FILE_BYTES: u64 = 64 << 10;
/// Open partition files at most, whatever the budget (file descriptors).
pub const MAX_OPEN_FILES: u64 = 512;
/// The Lambda environment variable holding the function's memory size in MB.
pub const LAMBDA_MEMORY_ENV: &str = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";

/// Tunes the system allocator for a pipeline with `plan`: each chunk
/// allocates and frees buffers of a few MiB (builders, pages). By default
/// glibc serves those from fresh mappings or trims them back to the OS, and
/// the kernel zeroes and faults the same pages in again for the next chunk;
/// measured on the orders data, that was 5% of the run and half its system
/// time. Kept, they are reused.
///
/// Each thread's arena may keep this much free, so it is the plan's chunk
/// size (up to [`MAX_CHUNK_BYTES`]): what one chunk's buffers need, and a
/// slack that shrinks as threads are added, inside the budget's headroom.
/// A fixed 8 MiB kept by each of 16 threads' arenas took a 128 MB budget to
/// 158 MB. The setting is process-wide: the last pipeline started sets it.
/// Elsewhere than Linux with glibc it does nothing.
pub fn tune_allocator(plan: &Plan) {
    let keep = plan.chunk_bytes.clamp(MIN_CHUNK_BYTES, MAX_CHUNK_BYTES) as i32;
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets two of the allocator's parameters; it takes
    // the allocator's own lock and has no other precondition.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, keep);
        libc::mallopt(libc::M_TRIM_THRESHOLD, keep);
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = keep;
}

/// The inputs to a plan: a memory size and optional overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    memory_mb: u64,
    threads: Option<usize>,
    chunk_bytes: Option<usize>,
    queue_depth: Option<usize>,
    reorder_window: Option<usize>,
    row_group_rows: Option<usize>,
    cores: usize,
    partitioned: bool,
    objects: bool,
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new(DEFAULT_MEMORY_MB)
    }
}

impl Budget {
    /// A budget of `memory_mb` MB with every size derived.
    pub fn new(memory_mb: u64) -> Self {
        Budget {
            memory_mb,
            threads: None,
            chunk_bytes: None,
            queue_depth: None,
            reorder_window: None,
            row_group_rows: None,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            partitioned: false,
            objects: false,
        }
    }

    /// The budget from `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` when it is set and
    /// valid, else [`DEFAULT_MEMORY_MB`].
    pub fn from_env() -> Self {
        let mb = std::env::var(LAMBDA_MEMORY_ENV).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(DEFAULT_MEMORY_MB);
        Budget::new(mb)
    }

    pub fn memory_mb(&self) -> u64 {
        self.memory_mb
    }

    /// Worker threads. Default: one per 1,769 MB (Lambda's vCPU grant), at
    /// least one, never more than the cores present.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n);
        self
    }

    /// Largest chunk in bytes, which is also the largest record accepted.
    /// Default: derived from the memory left after threads and queues.
    pub fn chunk_bytes(mut self, n: usize) -> Self {
        self.chunk_bytes = Some(n);
        self
    }

    /// Chunks split and waiting for a worker. Default: one per thread.
    pub fn queue_depth(mut self, n: usize) -> Self {
        self.queue_depth = Some(n);
        self
    }

    /// Encoded chunks that may wait for an earlier one to be written. Default:
    /// one per thread.
    pub fn reorder_window(mut self, n: usize) -> Self {
        self.reorder_window = Some(n);
        self
    }

    /// Most rows in one Parquet row group. Default: 1,048,576 (parquet's own
    /// default); a chunk always ends a row group, so groups are usually smaller.
    pub fn row_group_rows(mut self, n: usize) -> Self {
        self.row_group_rows = Some(n);
        self
    }

    /// Pretends the machine has `n` cores (for tests and planning elsewhere).
    /// Sets a share of the budget aside for partitioned output: rows
    /// buffered per partition, and the partition files open at once.
    /// Default: off (the whole budget goes to chunks).
    pub fn partitioned(mut self, on: bool) -> Self {
        self.partitioned = on;
        self
    }

    /// Sets room aside for an object store: ranged GETs in flight (when
    /// the input is an object) and an upload part for the streamed file
    /// (when the output is). Default: off.
    pub fn objects(mut self, on: bool) -> Self {
        self.objects = on;
        self
    }

    pub fn cores(mut self, n: usize) -> Self {
        self.cores = n.max(1);
        self
    }

    /// Derives every size.
    pub fn plan(&self) -> crate::Result<Plan> {
        if self.memory_mb < 64 {
            return Err(crate::Error::spec(format!(
                "memory budget of {} MB is too small; sluicegate needs at least 64 MB",
                self.memory_mb
            )));
        }
        let lambda_vcpus = self.memory_mb.div_ceil(MB_PER_VCPU) as usize;
        let threads = self.threads.unwrap_or_else(|| lambda_vcpus.clamp(1, LAMBDA_MAX_VCPUS).min(self.cores)).max(1);
        let queue_depth = self.queue_depth.unwrap_or(threads).max(1);
        let reorder_window = self.reorder_window.unwrap_or(threads).max(1);

        let mut usable = (self.memory_mb * (100 - HEADROOM_PERCENT) / 100).saturating_sub(FIXED_OVERHEAD_MB) << 20;
        // Partitioned output buffers rows by partition in the writer; its
        // share comes off the chunks'. Each open partition file holds a
        // small write buffer and its footer so far.
        let (partition_buffer_bytes, open_files) = if self.partitioned {
            let share = usable * PARTITION_SHARE_PERCENT / 100;
            usable -= share;
            let open = (share / 4 / OPEN_FILE_BYTES).clamp(16, MAX_OPEN_FILES);
            ((share - open * OPEN_FILE_BYTES) as usize, open as usize)
        } else {
            (0, 0)
        };
        // Object I/O: the ranges read ahead, and a part being uploaded.
        let object_reads = OBJECT_READS[usize::from(self.memory_mb >= MB_PER_VCPU)];
        let object_range_bytes = OBJECT_RANGE_BYTES[usize::from(self.memory_mb >= LARGE_READS_FROM_MB)];
        if self.objects {
            usable = usable.saturating_sub((object_reads * object_range_bytes + UPLOAD_PART_BYTES) as u64);
        }
        // Chunks alive at once: in the queue (C each), in workers
        // (WORKING_SET_PER_CHUNK * C each), in the reorder window (C / 2 each).
        let units = 2 * (queue_depth as u64 + WORKING_SET_PER_CHUNK * threads as u64) + reorder_window as u64;
        let derived = ((2 * usable / units) as usize).clamp(MIN_CHUNK_BYTES, MAX_CHUNK_BYTES);
        let chunk_bytes = self.chunk_bytes.unwrap_or(derived).max(1);
        Ok(Plan {
            memory_mb: self.memory_mb,
            threads,
            chunk_bytes,
            queue_depth,
            reorder_window,
            row_group_rows: self.row_group_rows.unwrap_or(1 << 20).max(1),
            partition_buffer_bytes,
            open_files,
            object_reads,
            object_range_bytes,
            objects: self.objects,
        })
    }
}

/// The sizes a pipeline runs with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    pub memory_mb: u64,
    pub threads: usize,
    /// Largest chunk, and so the largest record, in bytes.
    pub chunk_bytes: usize,
    pub queue_depth: usize,
    pub reorder_window: usize,
    pub row_group_rows: usize,
    /// Rows buffered by partition before they are written (bytes; 0 when
    /// the output is not partitioned).
    pub partition_buffer_bytes: usize,
    /// Partition files open at once, at most (0 when not partitioned).
    pub open_files: usize,
    /// Ranged GETs of an object input in flight, and the bytes of each
    /// (the budget holds room for them when it was told of objects).
    pub object_reads: usize,
    pub object_range_bytes: usize,
    /// Whether the budget holds room for object I/O: the input or the
    /// output is an object.
    pub objects: bool,
}

impl Plan {
    /// Chunks that may be alive at once, from split to written.
    pub fn chunks_in_flight(&self) -> usize {
        self.queue_depth + self.threads + self.reorder_window
    }

    /// Bytes of one ranged GET of an object input: never more than a chunk.
    pub fn object_range(&self) -> usize {
        self.object_range_bytes.min(self.chunk_bytes)
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "memory budget     {} MB", self.memory_mb)?;
        writeln!(f, "worker threads    {}", self.threads)?;
        writeln!(f, "chunk size        {} KiB (also the largest record)", self.chunk_bytes >> 10)?;
        writeln!(f, "queue depth       {} chunks", self.queue_depth)?;
        writeln!(f, "reorder window    {} chunks", self.reorder_window)?;
        writeln!(f, "chunks in flight  {} at most", self.chunks_in_flight())?;
        write!(f, "row group         {} rows at most (one chunk ends a group)", self.row_group_rows)?;
        if self.open_files > 0 {
            write!(
                f,
                "\npartitions       {} KiB buffered, {} files open at most",
                self.partition_buffer_bytes >> 10,
                self.open_files
            )?;
        }
        if self.objects {
            write!(
                f,
                "\nobject reads      {} ranged GETs of {} KiB in flight (an s3:// input)",
                self.object_reads,
                self.object_range() >> 10
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_vcpu_grant_decides_threads() {
        assert_eq!(Budget::new(128).cores(16).plan().unwrap().threads, 1);
        assert_eq!(Budget::new(1769).cores(16).plan().unwrap().threads, 1);
        assert_eq!(Budget::new(1770).cores(16).plan().unwrap().threads, 2);
        assert_eq!(Budget::new(3008).cores(16).plan().unwrap().threads, 2);
        assert_eq!(Budget::new(10240).cores(16).plan().unwrap().threads, 6);
        assert_eq!(Budget::new(10240).cores(2).plan().unwrap().threads, 2);
    }

    #[test]
    fn chunk_shrinks_with_threads_and_stays_in_bounds() {
        let one = Budget::new(128).threads(1).plan().unwrap();
        let two = Budget::new(128).threads(2).plan().unwrap();
        assert!(two.chunk_bytes < one.chunk_bytes);
        let huge = Budget::new(10240).plan().unwrap();
        assert_eq!(huge.chunk_bytes, MAX_CHUNK_BYTES);
        let tiny = Budget::new(64).threads(64).plan().unwrap();
        assert_eq!(tiny.chunk_bytes, MIN_CHUNK_BYTES);
    }

    #[test]
    fn object_io_takes_its_room_from_the_chunks() {
        let local = Budget::new(128).cores(16).plan().unwrap();
        let s3 = Budget::new(128).cores(16).objects(true).plan().unwrap();
        assert!(s3.chunk_bytes < local.chunk_bytes, "{} < {}", s3.chunk_bytes, local.chunk_bytes);
        assert_eq!((s3.object_reads, s3.object_range()), (2, 4 << 20));
        let big = Budget::new(3008).cores(16).objects(true).plan().unwrap();
        assert_eq!((big.object_reads, big.object_range()), (4, 8 << 20));
        // A range never holds more than a chunk.
        let small_chunks = Budget::new(512).chunk_bytes(1 << 20).objects(true).plan().unwrap();
        assert_eq!(small_chunks.object_range(), 1 << 20);
        // The plan names the object reads only when it holds room for them.
        assert!(s3.to_string().ends_with("\nobject reads      2 ranged GETs of 4096 KiB in flight (an s3:// input)"));
        assert!(!local.to_string().contains("object reads"), "{local}");
    }

    #[test]
    fn overrides_win() {
        let p = Budget::new(512).threads(3).chunk_bytes(1000).queue_depth(5).reorder_window(7).plan().unwrap();
        assert_eq!((p.threads, p.chunk_bytes, p.queue_depth, p.reorder_window), (3, 1000, 5, 7));
    }

    #[test]
    fn too_small_budget_is_a_spec_error() {
        let err = Budget::new(32).plan().unwrap_err();
        assert_eq!(err.kind().code(), "spec-error");
    }
}
