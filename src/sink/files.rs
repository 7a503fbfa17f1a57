//! Directory outputs: a directory per route, Hive-style partition
//! directories, files rolled at a target size, and `_manifest.json`.
//!
//! File names come from the input's identity and a part number
//! (`part-<input id>-00000.parquet`), so running the same input again
//! replaces the same files; parts an earlier run of the same input left
//! and this one did not write are removed. Every file stays under a
//! temporary name until the run succeeds; the manifest is written last.
//! Several inputs may share one output directory: the manifest lists every
//! input converted into it (`inputs`) and all their files, so a run keeps
//! what an earlier manifest says about the other inputs and replaces what
//! it says about its own.
//!
//! Partitioned routes buffer whole chunks (each a batch grouped by
//! partition, with each partition's rows as a range of it) and write every
//! partition out when the buffered chunks pass their budget; at most a
//! budgeted number of partition files are open, and past it the one used
//! longest ago is closed (a later row for it starts a new part).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use serde::Serialize;

use super::{ParquetSink, Pending, Streams};
use crate::encode::{EncodedRowGroup, Encoder};
use crate::error::{Error, Result};
use crate::spec::ParquetOptions;

/// Buffer between a partition's Parquet writer and its file (bytes): small,
/// since many may be open.
const PARTITION_WRITE_BUFFER: usize = 16 << 10;
/// Buffer for a route's (one) open file.
const ROUTE_WRITE_BUFFER: usize = 1 << 20;
/// The manifest's name at the output root.
pub const MANIFEST: &str = "_manifest.json";

/// How one route's files are laid out.
#[derive(Debug, Clone)]
pub struct RouteLayout {
    /// The route's directory under the root; empty: the root itself.
    pub name: String,
    /// The files' schema (the partition columns left out).
    pub schema: SchemaRef,
    /// The partition columns' names, outermost first.
    pub partition_by: Vec<String>,
    pub max_file_bytes: Option<u64>,
}

/// A file the run wrote, as the manifest lists it.
#[derive(Debug, Clone, Serialize)]
pub struct FileWritten {
    /// Relative to the output root, `/`-separated.
    pub path: String,
    pub route: String,
    /// Partition column and value (as written in the path, unescaped).
    pub partition: Vec<(String, Option<String>)>,
    pub rows: u64,
    pub bytes: u64,
    pub row_groups: usize,
}

/// The files of one run under an output directory.
pub struct Files {
    root: PathBuf,
    input_id: String,
    options: ParquetOptions,
    routes: Vec<RouteFiles>,
    /// Finished files, renamed at the end.
    pending: Vec<(Pending, FileWritten)>,
    /// Bytes buffered in all partitions; past `buffer_cap` they are written.
    buffered: usize,
    buffer_cap: usize,
    /// Partition files open now, and the most allowed.
    open: usize,
    open_cap: usize,
    clock: u64,
    /// Where unpartitioned files stream to, when not to local files.
    streams: Option<Arc<dyn Streams>>,
}

struct RouteFiles {
    layout: RouteLayout,
    dir: PathBuf,
    /// The file being written (not partitioned).
    current: Option<ParquetSink>,
    next_part: u32,
    /// Partitioned: by the values' path.
    partitions: HashMap<String, Partition>,
    /// Partitioned: the chunks buffered, each grouped by partition.
    chunks: Vec<RecordBatch>,
    encoder: Option<Encoder>,
}

struct Partition {
    values: Vec<(String, Option<String>)>,
    /// Rows buffered: (chunk, offset, length) in the route's chunks.
    buffered: Vec<(u32, u32, u32)>,
    sink: Option<ParquetSink>,
    next_part: u32,
    last_used: u64,
}

impl Files {
    /// Prepares `root` (created when missing) for the files of the input
    /// named `source`.
    pub fn create(
        root: &Path,
        source: &str,
        options: &ParquetOptions,
        row_group_rows: usize,
        routes: Vec<RouteLayout>,
        buffer_cap: usize,
        open_cap: usize,
    ) -> Result<Files> {
        if root.is_file() {
            return Err(Error::spec(format!(
                "output {} is a file; a pipeline with routes, partitions or max_file_mb writes a directory",
                root.display()
            )));
        }
        std::fs::create_dir_all(root).map_err(|e| Error::io(format!("creating {}", root.display()), e))?;
        let routes = routes
            .into_iter()
            .map(|layout| {
                let dir = if layout.name.is_empty() { root.to_path_buf() } else { root.join(&layout.name) };
                let encoder = (!layout.partition_by.is_empty())
                    .then(|| Encoder::new(Arc::clone(&layout.schema), options.clone(), row_group_rows));
                RouteFiles {
                    layout,
                    dir,
                    current: None,
                    next_part: 0,
                    partitions: HashMap::new(),
                    chunks: Vec::new(),
                    encoder,
                }
            })
            .collect();
        Ok(Files {
            root: root.to_path_buf(),
            input_id: input_id(source),
            options: options.clone(),
            routes,
            pending: Vec::new(),
            buffered: 0,
            buffer_cap: buffer_cap.max(1),
            open: 0,
            open_cap: open_cap.max(1),
            clock: 0,
            streams: None,
        })
    }

    /// Streams the files of routes without partitions to `streams`.
    pub fn with_streams(mut self, streams: Option<Arc<dyn Streams>>) -> Self {
        self.streams = streams;
        self
    }

    /// Appends row groups to route `r`'s current file, rolling to a new
    /// one past the size limit.
    pub fn append_groups(&mut self, r: usize, groups: Vec<EncodedRowGroup>) -> Result<()> {
        for group in groups {
            if self.routes[r].current.is_none() {
                let name = self.file_name(self.routes[r].next_part);
                let route = &mut self.routes[r];
                create_dir(&route.dir)?;
                let schema = Arc::clone(&route.layout.schema);
                let streams = self.streams.as_deref();
                route.current =
                    Some(ParquetSink::open(&route.dir.join(name), schema, &self.options, ROUTE_WRITE_BUFFER, streams)?);
                route.next_part += 1;
            }
            let route = &mut self.routes[r];
            let sink = route.current.as_mut().expect("opened above");
            sink.append(group)?;
            if route.layout.max_file_bytes.is_some_and(|max| sink.bytes_written() >= max) {
                let sink = route.current.take().expect("open");
                self.pending.push(close(sink, &self.root, &route.layout.name, Vec::new(), true)?);
            }
        }
        Ok(())
    }

    /// Buffers a chunk of route `r` whose rows are grouped by partition:
    /// each group's partition values (null as `None`), first row and length.
    pub fn append_partitions(
        &mut self,
        r: usize,
        batch: RecordBatch,
        groups: Vec<(Vec<Option<String>>, usize, usize)>,
    ) -> Result<()> {
        let route = &mut self.routes[r];
        let chunk = route.chunks.len() as u32;
        for (values, offset, len) in groups {
            let key = partition_path(&route.layout.partition_by, &values);
            let p = route.partitions.entry(key).or_insert_with(|| Partition {
                values: route.layout.partition_by.iter().cloned().zip(values).collect(),
                buffered: Vec::new(),
                sink: None,
                next_part: 0,
                last_used: 0,
            });
            p.buffered.push((chunk, offset as u32, len as u32));
        }
        self.buffered += batch.get_array_memory_size();
        route.chunks.push(batch);
        if self.buffered > self.buffer_cap {
            self.flush_partitions()?;
        }
        Ok(())
    }

    /// Writes every partition's buffered rows.
    fn flush_partitions(&mut self) -> Result<()> {
        for r in 0..self.routes.len() {
            let mut keys: Vec<String> = self.routes[r]
                .partitions
                .iter()
                .filter(|(_, p)| !p.buffered.is_empty())
                .map(|(k, _)| k.clone())
                .collect();
            keys.sort_unstable();
            for key in keys {
                self.flush_partition(r, &key)?;
            }
            self.routes[r].chunks.clear();
        }
        self.buffered = 0;
        Ok(())
    }

    fn flush_partition(&mut self, r: usize, key: &str) -> Result<()> {
        self.clock += 1;
        let clock = self.clock;
        let ranges = std::mem::take(&mut self.routes[r].partitions.get_mut(key).expect("known key").buffered);
        let schema = Arc::clone(&self.routes[r].layout.schema);
        let chunks = &self.routes[r].chunks;
        let slices: Vec<RecordBatch> =
            ranges.iter().map(|&(c, offset, len)| chunks[c as usize].slice(offset as usize, len as usize)).collect();
        let batch = arrow_select::concat::concat_batches(&schema, &slices).map_err(Error::encode)?;
        drop(slices);
        let groups = self.routes[r].encoder.as_ref().expect("partitioned routes have an encoder").encode(&batch)?;
        drop(batch);
        if self.routes[r].partitions[key].sink.is_none() {
            if self.open >= self.open_cap {
                self.close_least_recent()?;
            }
            let next_part = self.routes[r].partitions[key].next_part;
            let name = self.file_name(next_part);
            let route = &mut self.routes[r];
            let dir = route.dir.join(key);
            create_dir(&dir)?;
            // Local: a stream holds a part in memory, too much for each of
            // many open partitions; the publisher uploads these files.
            let sink = ParquetSink::open(&dir.join(name), schema, &self.options, PARTITION_WRITE_BUFFER, None)?;
            let p = route.partitions.get_mut(key).expect("known key");
            p.sink = Some(sink);
            p.next_part += 1;
            self.open += 1;
        }
        let route = &mut self.routes[r];
        let p = route.partitions.get_mut(key).expect("known key");
        p.last_used = clock;
        let sink = p.sink.as_mut().expect("opened above");
        for g in groups {
            sink.append(g)?;
        }
        if route.layout.max_file_bytes.is_some_and(|max| sink.bytes_written() >= max) {
            let sink = p.sink.take().expect("open");
            let done = close(sink, &self.root, &route.layout.name, p.values.clone(), false)?;
            self.pending.push(done);
            self.open -= 1;
        }
        Ok(())
    }

    /// Closes the partition file used longest ago.
    fn close_least_recent(&mut self) -> Result<()> {
        let oldest = self
            .routes
            .iter()
            .enumerate()
            .flat_map(|(r, route)| {
                route.partitions.iter().filter(|(_, p)| p.sink.is_some()).map(move |(k, p)| (p.last_used, r, k))
            })
            .min()
            .map(|(_, r, k)| (r, k.clone()));
        if let Some((r, key)) = oldest {
            let route = &mut self.routes[r];
            let p = route.partitions.get_mut(&key).expect("known key");
            let sink = p.sink.take().expect("open");
            let done = close(sink, &self.root, &route.layout.name, p.values.clone(), false)?;
            self.pending.push(done);
            self.open -= 1;
        }
        Ok(())
    }

    fn file_name(&self, part: u32) -> String {
        format!("part-{}-{part:05}.parquet", self.input_id)
    }

    /// Writes what is buffered, closes every file, renames them all to
    /// their names, removes the parts an earlier run of this input left,
    /// and writes the manifest last (the earlier manifest's other inputs
    /// and their files kept). Returns the files written.
    pub fn finish(mut self, source: &str) -> Result<Vec<FileWritten>> {
        self.flush_partitions()?;
        for r in 0..self.routes.len() {
            let route = &mut self.routes[r];
            if let Some(sink) = route.current.take() {
                self.pending.push(close(sink, &self.root, &route.layout.name, Vec::new(), true)?);
            }
            let mut keys: Vec<String> = route.partitions.keys().cloned().collect();
            keys.sort_unstable();
            for key in keys {
                let p = route.partitions.get_mut(&key).expect("known key");
                if let Some(sink) = p.sink.take() {
                    self.pending.push(close(sink, &self.root, &route.layout.name, p.values.clone(), false)?);
                }
            }
        }
        let mut written = Vec::with_capacity(self.pending.len());
        let mut names = HashSet::new();
        for (pending, file) in self.pending.drain(..) {
            names.insert(pending.target().to_path_buf());
            pending.commit()?;
            written.push(file);
        }
        written.sort_by(|a, b| a.path.cmp(&b.path));
        remove_stale(&self.root, &format!("part-{}-", self.input_id), &names)?;
        let path = self.root.join(MANIFEST);
        let files = written.iter().map(|f| serde_json::json!({
            "path": f.path,
            "route": f.route,
            "partition": f.partition.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
            "rows": f.rows,
            "bytes": f.bytes,
        }));
        let this = Input {
            source: source.to_string(),
            input_id: self.input_id.clone(),
            rows: written.iter().map(|f| f.rows).sum(),
            bytes: written.iter().map(|f| f.bytes).sum(),
        };
        let manifest = merge_manifest(read_manifest(&path)?, this, files.collect());
        let temp = self.root.join(format!(".{MANIFEST}.{}.sluicegate-tmp", std::process::id()));
        let text = serde_json::to_string_pretty(&manifest).map_err(Error::encode)? + "\n";
        std::fs::write(&temp, text).map_err(|e| Error::io(format!("writing {}", temp.display()), e))?;
        std::fs::rename(&temp, &path).map_err(|e| Error::io(format!("renaming to {}", path.display()), e))?;
        Ok(written)
    }
}

/// One input as the manifest lists it: its name, identity (the one in its
/// part names), and the rows and bytes of its files.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Input {
    pub source: String,
    pub input_id: String,
    pub rows: u64,
    pub bytes: u64,
}

/// The manifest at `path`, when there is one.
pub fn read_manifest(path: &Path) -> Result<Option<serde_json::Value>> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| Error::spec(format!("{} is not a manifest this program can read: {e}", path.display())))
}

/// The inputs a manifest lists (for one written before manifests listed
/// their inputs: the one input it names).
pub fn manifest_inputs(manifest: &serde_json::Value) -> Vec<Input> {
    match manifest.get("inputs") {
        Some(inputs) => serde_json::from_value(inputs.clone()).unwrap_or_default(),
        None => serde_json::from_value(manifest.clone()).map(|i| vec![i]).unwrap_or_default(),
    }
}

/// The manifest after a run of `this` input wrote `files`: what `before`
/// lists of other inputs, and this input's files in place of its old ones.
/// `source` and `input_id` name the latest run; `rows` and `bytes` count
/// every file listed.
fn merge_manifest(before: Option<serde_json::Value>, this: Input, files: Vec<serde_json::Value>) -> serde_json::Value {
    let own = format!("part-{}-", this.input_id);
    let is_own = |f: &serde_json::Value| {
        let path = f.get("path").and_then(serde_json::Value::as_str).unwrap_or("");
        path.rsplit('/').next().unwrap_or(path).starts_with(&own)
    };
    let mut all: Vec<serde_json::Value> = before
        .as_ref()
        .and_then(|b| b.get("files"))
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter(|f| !is_own(f))
        .cloned()
        .collect();
    all.extend(files);
    let path_of = |f: &serde_json::Value| f.get("path").and_then(serde_json::Value::as_str).unwrap_or("").to_string();
    all.sort_by_key(path_of);
    let mut inputs: Vec<Input> = before.as_ref().map(manifest_inputs).unwrap_or_default();
    inputs.retain(|i| i.input_id != this.input_id);
    let (source, input_id) = (this.source.clone(), this.input_id.clone());
    inputs.push(this);
    inputs.sort_by(|a, b| a.source.cmp(&b.source));
    let count = |name: &str| all.iter().filter_map(|f| f.get(name).and_then(serde_json::Value::as_u64)).sum::<u64>();
    serde_json::json!({
        "source": source,
        "input_id": input_id,
        "rows": count("rows"),
        "bytes": count("bytes"),
        "inputs": inputs,
        "files": all,
    })
}

/// Closes a file, leaving it pending under its temporary name.
fn close(
    sink: ParquetSink,
    root: &Path,
    route: &str,
    partition: Vec<(String, Option<String>)>,
    sync: bool,
) -> Result<(Pending, FileWritten)> {
    let (w, pending) = sink.finish_pending(sync)?;
    let path = slash_path(pending.target().strip_prefix(root).unwrap_or(pending.target()));
    let file = FileWritten {
        path,
        route: route.to_string(),
        partition,
        rows: w.rows,
        bytes: w.bytes,
        row_groups: w.row_groups,
    };
    Ok((pending, file))
}

/// A relative path written with `/` between its parts, as the manifest
/// and object keys have it.
pub(super) fn slash_path(relative: &Path) -> String {
    relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))
}

/// Removes files under `root` whose names start with `prefix` and end in
/// `.parquet` that are not in `keep`.
fn remove_stale(root: &Path, prefix: &str, keep: &HashSet<PathBuf>) -> Result<()> {
    for path in files_under(root)? {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with(prefix) && name.ends_with(".parquet") && !keep.contains(&path) {
            std::fs::remove_file(&path).map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
        }
    }
    Ok(())
}

/// Every file in the tree under `root`.
pub(crate) fn files_under(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
            let kind = entry.file_type().map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    Ok(files)
}

/// A stable short name for an input: 16 hex digits of its name's SHA-256.
pub fn input_id(source: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(source.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The directory path of a partition: `col=value/col=value`.
fn partition_path(columns: &[String], values: &[Option<String>]) -> String {
    let parts: Vec<String> = columns
        .iter()
        .zip(values)
        .map(|(c, v)| {
            let v = match v.as_deref() {
                None | Some("") => "__HIVE_DEFAULT_PARTITION__".to_string(),
                Some(v) => hive_escape(v),
            };
            format!("{}={v}", hive_escape(c))
        })
        .collect();
    parts.join("/")
}

/// Escapes a partition column or value as Hive does in paths: control
/// characters and `"#%'*/:=?\{[]^` and DEL become `%XX`.
pub fn hive_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_control() || "\"#%'*/:=?\\{[]^".contains(c) {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_hive() {
        assert_eq!(hive_escape("a/b=c:d"), "a%2Fb%3Dc%3Ad");
        assert_eq!(hive_escape("2024-05-12 10:00"), "2024-05-12 10%3A00");
        assert_eq!(hive_escape("Zürich"), "Zürich");
        assert_eq!(hive_escape("tab\there"), "tab%09here");
        assert_eq!(
            partition_path(&["c".into(), "d".into()], &[None, Some("x%".into())]),
            "c=__HIVE_DEFAULT_PARTITION__/d=x%25"
        );
    }

    #[test]
    fn a_manifest_keeps_the_other_inputs_and_replaces_its_own() {
        let input = |s: &str, rows| Input { source: s.into(), input_id: input_id(s), rows, bytes: rows * 10 };
        let file = |s: &str, part, rows: u64| serde_json::json!({"path": format!("country=FR/part-{}-{part:05}.parquet", input_id(s)), "rows": rows, "bytes": rows * 10});
        // A manifest from before inputs were listed: its one input.
        let old = serde_json::json!({"source": "a.csv", "input_id": input_id("a.csv"), "rows": 3, "bytes": 30,
                                     "files": [file("a.csv", 0, 3)]});
        let m = merge_manifest(Some(old), input("b.csv", 5), vec![file("b.csv", 0, 5)]);
        let sources: Vec<_> = manifest_inputs(&m).into_iter().map(|i| i.source).collect();
        assert_eq!(sources, ["a.csv", "b.csv"]);
        assert_eq!((m["rows"].as_u64(), m["files"].as_array().unwrap().len()), (Some(8), 2));
        // a.csv again, now in two parts: its old part is replaced, b.csv's kept.
        let m = merge_manifest(Some(m), input("a.csv", 4), vec![file("a.csv", 0, 2), file("a.csv", 1, 2)]);
        assert_eq!(manifest_inputs(&m).len(), 2);
        assert_eq!((m["rows"].as_u64(), m["files"].as_array().unwrap().len()), (Some(9), 3));
        assert_eq!(m["source"], "a.csv");
    }

    #[test]
    fn input_ids_are_stable() {
        assert_eq!(input_id("orders.csv"), input_id("orders.csv"));
        assert_ne!(input_id("orders.csv"), input_id("orders2.csv"));
        assert_eq!(input_id("x").len(), 16);
    }
}
