//! Wires the stages: a reader splits the source into chunks and feeds a
//! bounded queue; rayon workers decode and encode each chunk; the calling
//! thread writes the encoded row groups in input order.
//!
//! Memory is bounded by tokens: the reader takes one before it cuts a chunk
//! and the writer gives it back once that chunk is written, so no more than
//! [`Plan::chunks_in_flight`] chunks exist at once, wherever they wait.
//! Errors surface in input order, so the first bad record of the file is the
//! one reported, whatever the chunk size and thread count.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, UInt32Array};
use arrow_schema::{Schema as ArrowSchema, SchemaRef};
use arrow_select::nullif::nullif;
use crossbeam_channel::{bounded, unbounded};

use crate::budget::Plan;
use crate::decode::{keep_rows, trim_line_end, CsvDecoder, Decoded, Framing, JsonDecoder, LineCursor, Scratch};
use crate::encode::{EncodedRowGroup, Encoder};
use crate::error::{Error, ErrorKind, Problem, Reject, Result};
use crate::report::{peak_rss_bytes, Report};
use crate::sink::{Files, Packed, ParquetSink, RejectSink, RouteLayout, Streams};
use crate::source::Source;
use crate::spec::{describe, Finding, Format, MaxRejects, OnError, Schema, Spec};
use crate::split::{Chunk, Chunker, CsvSplitter, JsonArraySplitter, Splitter};
use crate::transform::{Outcome, Router, Transforms};
use crate::validate::Validator;

/// A spec and a plan, ready to run on sources.
pub struct Pipeline {
    spec: Spec,
    plan: Plan,
    progress: Option<Arc<AtomicU64>>,
    rejects_path: Option<PathBuf>,
    deadline: Option<Instant>,
    streams: Option<Arc<dyn Streams>>,
}

/// A chunk's outcome on its way to the writer.
struct Done {
    seq: u64,
    bytes: u64,
    result: Result<Encoded>,
}

/// Where rejected records go: a file, or (validation) the first `limit`
/// in memory, the counts going on past them.
enum Rejects {
    File(RejectSink),
    Keep { kept: Vec<Reject>, limit: usize },
}

/// A chunk decoded and encoded: its row groups and its rejects.
struct Encoded {
    /// Per route, what goes to its files.
    outputs: Vec<RouteOut>,
    /// Rows in the groups (or that would be, when only validating).
    rows: u64,
    /// The rejects, packed for the rejects file, or (validation) the
    /// first of them as they are.
    rejects: SetAside,
    records: u64,
    nulled: u64,
    filtered: u64,
    unrouted: u64,
}

/// One route's share of a chunk, on its way to the writer.
enum RouteOut {
    Groups(Vec<EncodedRowGroup>),
    /// Rows grouped by partition, not yet encoded: each partition's
    /// values, first row and length.
    Partitions(RecordBatch, Vec<(Vec<Option<String>>, usize, usize)>),
}

/// A chunk's rejects on their way to the writer.
struct SetAside {
    count: u64,
    by_code: Vec<(&'static str, u64)>,
    packed: Option<Packed>,
    kept: Vec<Reject>,
}

impl SetAside {
    /// Counts `rejects` and packs them (`pack`: the source's name) or keeps
    /// the first `keep`.
    fn new(mut rejects: Vec<Reject>, pack: Option<&str>, keep: usize) -> Result<Self> {
        let mut by_code: Vec<(&'static str, u64)> = Vec::new();
        for p in rejects.iter().flat_map(|r| &r.problems) {
            let code = p.kind.code();
            match by_code.iter_mut().find(|(c, _)| *c == code) {
                Some((_, n)) => *n += 1,
                None => by_code.push((code, 1)),
            }
        }
        let count = rejects.len() as u64;
        let packed = match pack {
            Some(source) if !rejects.is_empty() => Some(Packed::new(source, &rejects)?),
            _ => None,
        };
        rejects.truncate(if pack.is_some() { 0 } else { keep });
        Ok(SetAside { count, by_code, packed, kept: rejects })
    }
}

/// What the writer counted.
#[derive(Default)]
struct Tally {
    read: u64,
    written: u64,
    rejected: u64,
    by_code: BTreeMap<String, u64>,
    nulled: u64,
    filtered: u64,
    unrouted: u64,
}

/// Where a run's rows go.
enum Output {
    /// One Parquet file.
    File(ParquetSink),
    /// A directory of routes, partitions and parts.
    Files(Files),
}

impl Pipeline {
    pub fn new(spec: Spec, plan: Plan) -> Self {
        Pipeline { spec, plan, progress: None, rejects_path: None, deadline: None, streams: None }
    }

    /// When the run must stop (default: never). The reader checks it
    /// between chunks, and the run checks it once more before it commits
    /// its output; past it, the run ends with [`ErrorKind::Deadline`] and
    /// leaves nothing under the output's name.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Streams the Parquet output to `streams` (an object store) instead
    /// of local files, where they take it; see [`Streams`].
    pub fn with_streams(mut self, streams: Arc<dyn Streams>) -> Self {
        self.streams = Some(streams);
        self
    }

    /// The deadline error when the deadline has passed.
    fn check_deadline(&self) -> Result<()> {
        match self.deadline {
            Some(d) if Instant::now() >= d => Err(Error::new(ErrorKind::Deadline)),
            _ => Ok(()),
        }
    }

    /// Where rejected records go (default: beside the output,
    /// `<output>.rejects.ndjson`).
    pub fn with_rejects_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.rejects_path = Some(path.into());
        self
    }

    /// The rejects file a run into `output` writes when it rejects records.
    pub fn rejects_path(&self, output: &Path) -> PathBuf {
        self.rejects_path.clone().unwrap_or_else(|| {
            let mut name = output.as_os_str().to_owned();
            name.push(".rejects.ndjson");
            PathBuf::from(name)
        })
    }

    /// A counter the pipeline adds each written chunk's input bytes to.
    pub fn with_progress(mut self, counter: Arc<AtomicU64>) -> Self {
        self.progress = Some(counter);
        self
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Converts `source` into the Parquet file `output`. On error nothing is
    /// left under `output`'s name.
    pub fn run(&self, source: Source, output: &Path) -> Result<Report> {
        let started = Instant::now();
        let name = source.name().to_string();
        let (report, _) = self.run_inner(source, Ok(output), started).map_err(|e| e.in_source(name))?;
        Ok(report)
    }

    /// Reads and checks `source` as [`Pipeline::run`] would convert it,
    /// under the reject policy, without writing anything. The report counts
    /// every bad row; the first `keep` of them are returned in input order.
    pub fn validate(&self, source: Source, keep: usize) -> Result<(Report, Vec<Reject>)> {
        let started = Instant::now();
        let name = source.name().to_string();
        let mut spec = self.spec.clone();
        spec.on_error = OnError::Reject;
        spec.max_rejects = None;
        let checker = Pipeline {
            spec,
            plan: self.plan.clone(),
            progress: self.progress.clone(),
            rejects_path: None,
            deadline: self.deadline,
            streams: None,
        };
        checker.run_inner(source, Err(keep), started).map_err(|e| e.in_source(name))
    }

    /// Runs the stages into the file `Ok(output)`, or, given `Err(keep)`,
    /// only decodes, keeping the first `keep` rejects (see [`Pipeline::validate`]).
    fn run_inner(
        &self,
        source: Source,
        target: std::result::Result<&Path, usize>,
        started: Instant,
    ) -> Result<(Report, Vec<Reject>)> {
        crate::budget::tune_allocator(&self.plan);
        let output = target.ok();
        let name = source.name().to_string();
        // The schema's constraints, when it has any.
        let validator = self.spec.schema.as_ref().map(Validator::new).transpose()?.filter(|v| !v.is_empty());
        let check = validator.is_some();
        let transforms = !self.spec.steps.is_empty() || !self.spec.routes.is_empty();
        let staged = transforms || self.spec.layout.is_directory();
        // With checks after decoding, the decoder sets bad records aside
        // under every policy, so that the first bad record in input order
        // is the one a failing run reports, whichever check finds it.
        let decoder_policy = match self.spec.on_error {
            OnError::Fail if check || transforms => OnError::Reject,
            policy => policy,
        };
        let origins = check || transforms;
        let (mut chunker, decoder) = match self.spec.format {
            Format::Csv => {
                let csv = &self.spec.csv;
                csv.validate()?;
                let mut chunker =
                    Chunker::new(source, CsvSplitter::new(csv, self.plan.chunk_bytes)).taper_for(self.plan.threads);
                let header = match csv.has_header {
                    true => chunker.header()?.map(|h| CsvDecoder::header_names(csv, &h)).transpose()?,
                    false => None,
                };
                let schema = match (&self.spec.schema, &header) {
                    (Some(s), _) => s.clone(),
                    (None, Some(names)) => Schema::all_strings(names)?,
                    (None, None) => {
                        return Err(Error::spec("a schema is needed: the input has no header to name the columns"))
                    }
                };
                let decoder = CsvDecoder::new(&schema, csv, header.as_deref())?
                    .with_on_error(decoder_policy)
                    .with_origins(origins);
                (chunker, Decoder::Csv(decoder))
            }
            Format::Ndjson | Format::JsonArray => {
                let schema = self.spec.schema.as_ref().ok_or_else(|| Error::spec("JSON input needs a schema"))?;
                let chunk_bytes = self.plan.chunk_bytes;
                let (splitter, framing) = match self.spec.format {
                    Format::Ndjson => (Splitter::Lines { chunk_bytes }, Framing::Lines),
                    _ => (Splitter::JsonArray(JsonArraySplitter::new(chunk_bytes)), Framing::Array),
                };
                let decoder = JsonDecoder::new(schema, &self.spec.json, framing)?
                    .with_on_error(decoder_policy)
                    .with_origins(origins);
                (Chunker::new(source, splitter).taper_for(self.plan.threads), Decoder::Json(decoder))
            }
        };
        let stage = match staged {
            true => {
                Some(Stage::compile(&self.spec, decoder.arrow_schema()).map_err(|f| Error::spec(describe(None, &f)))?)
            }
            false => None,
        };
        let (mut sink, encoders) = match (output, &stage) {
            (Some(output), Some(stage)) if stage.directory => {
                let files = Files::create(
                    output,
                    &name,
                    &self.spec.output,
                    self.plan.row_group_rows,
                    stage.layouts.clone(),
                    self.plan.partition_buffer_bytes,
                    self.plan.open_files,
                )?
                .with_streams(self.streams.clone());
                let encoders = stage
                    .layouts
                    .iter()
                    .map(|l| {
                        l.partition_by.is_empty().then(|| {
                            Encoder::new(Arc::clone(&l.schema), self.spec.output.clone(), self.plan.row_group_rows)
                        })
                    })
                    .collect();
                (Some(Output::Files(files)), encoders)
            }
            (Some(output), _) => {
                let schema = stage
                    .as_ref()
                    .map_or_else(|| Arc::clone(decoder.arrow_schema()), |s| Arc::clone(s.router.schema(0)));
                let (sink, encoder) = ParquetSink::create(
                    output,
                    schema,
                    &self.spec.output,
                    self.plan.row_group_rows,
                    self.streams.as_deref(),
                )?;
                (Some(Output::File(sink)), vec![Some(encoder)])
            }
            (None, _) => (None, Vec::new()),
        };
        let mut rejects = match target {
            Ok(output) => Rejects::File(RejectSink::new(&self.rejects_path(output))),
            Err(limit) => Rejects::Keep { kept: Vec::new(), limit },
        };

        let in_flight = self.plan.chunks_in_flight();
        let (work_tx, work_rx) = bounded::<Chunk>(self.plan.queue_depth);
        let (done_tx, done_rx) = unbounded::<Done>();
        let (token_tx, token_rx) = bounded::<()>(in_flight);
        for _ in 0..in_flight {
            token_tx.send(()).expect("the token channel has room for every token");
        }
        let cancel = AtomicBool::new(false);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.plan.threads)
            .thread_name(|i| format!("sluicegate-worker-{i}"))
            .build()
            .map_err(|e| Error::spec(format!("cannot start {} worker threads: {e}", self.plan.threads)))?;

        let constraints = validator.as_ref().zip(self.spec.schema.as_ref()).map(|(validator, schema)| Constraints {
            validator,
            schema,
            // A later stage's failures may come earlier in the input: the
            // stage decides which bad row stops a failing run.
            on_error: match self.spec.on_error {
                OnError::Fail if stage.is_some() => OnError::Reject,
                policy => policy,
            },
        });
        let (tally, bytes_read) = std::thread::scope(|s| {
            let reader_done = done_tx.clone();
            let cancel = &cancel;
            let reader = s.spawn(move || {
                while token_rx.recv().is_ok() && !cancel.load(Ordering::Relaxed) {
                    if let Err(e) = self.check_deadline() {
                        let _ = reader_done.send(Done { seq: chunker.seq(), bytes: 0, result: Err(e) });
                        break;
                    }
                    match chunker.next() {
                        Ok(Some(chunk)) => {
                            if work_tx.send(chunk).is_err() {
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let _ = reader_done.send(Done { seq: chunker.seq(), bytes: 0, result: Err(e) });
                            break;
                        }
                    }
                }
                chunker.bytes_read()
            });
            let (decoder, encoders, stage) = (&decoder, &encoders, stage.as_ref());
            let constraints = constraints.as_ref();
            let set_aside = match target {
                Ok(_) => (Some(name.as_str()), 0),
                Err(keep) => (None, keep),
            };
            s.spawn(move || {
                pool.scope(|ps| {
                    for _ in 0..self.plan.threads {
                        let (work_rx, done_tx) = (work_rx.clone(), done_tx.clone());
                        ps.spawn(move |_| {
                            let stages = Stages { decoder, constraints, stage, encoders };
                            work(&stages, set_aside, &work_rx, &done_tx, cancel)
                        });
                    }
                });
            });
            let written = self.write_in_order(&done_rx, &token_tx, &mut sink, &mut rejects);
            if written.is_err() {
                cancel.store(true, Ordering::Relaxed);
            }
            drop(done_rx);
            drop(token_tx);
            let bytes_read = reader.join().expect("the reader thread does not panic");
            written.map(|tally| (tally, bytes_read))
        })?;

        if let Some(limit) = &self.spec.max_rejects {
            if limit.exceeded(tally.rejected, tally.read) {
                let (rejected, read, limit) = (tally.rejected, tally.read, limit.to_string());
                return Err(Error::new(ErrorKind::TooManyRejects { rejected, read, limit }));
            }
        }
        // The sink commits below: the last moment to stop.
        self.check_deadline()?;
        let (bytes_written, row_groups, files) = match sink {
            Some(Output::File(sink)) => {
                let w = sink.finish()?;
                (w.bytes, w.row_groups, 1)
            }
            Some(Output::Files(files)) => {
                let written = files.finish(&name)?;
                let row_groups = written.iter().map(|f| f.row_groups).sum();
                (written.iter().map(|f| f.bytes).sum(), row_groups, written.len())
            }
            None => (0, 0, 0),
        };
        let (rejects_file, kept) = match rejects {
            Rejects::File(r) => (r.finish()?, Vec::new()),
            Rejects::Keep { kept, .. } => (None, kept),
        };
        debug_assert_eq!(tally.read, tally.written + tally.rejected + tally.filtered + tally.unrouted);
        let report = Report {
            source: name,
            output: output.map_or_else(String::new, |o| o.display().to_string()),
            rows_read: tally.read,
            rows_written: tally.written,
            rows_rejected: tally.rejected,
            rejects_by_code: tally.by_code,
            rejects_file: rejects_file.map(|p| p.display().to_string()),
            values_nulled: tally.nulled,
            rows_filtered: tally.filtered,
            rows_unrouted: tally.unrouted,
            bytes_read,
            bytes_written,
            row_groups,
            files,
            seconds: started.elapsed().as_secs_f64(),
            peak_rss_bytes: peak_rss_bytes(),
            plan: self.plan.clone(),
        };
        Ok((report, kept))
    }

    /// Receives outcomes, restores input order, appends row groups and
    /// rejects; the first error in input order ends the run, as does a
    /// count of rejects past the limit.
    fn write_in_order(
        &self,
        done_rx: &crossbeam_channel::Receiver<Done>,
        token_tx: &crossbeam_channel::Sender<()>,
        sink: &mut Option<Output>,
        rejects: &mut Rejects,
    ) -> Result<Tally> {
        let mut next = 0u64;
        let mut waiting = BTreeMap::new();
        let mut tally = Tally::default();
        for done in done_rx.iter() {
            waiting.insert(done.seq, done);
            while let Some(done) = waiting.remove(&next) {
                let encoded = done.result.map_err(|mut e| {
                    if let Some(loc) = e.location_mut() {
                        loc.record += tally.read;
                    }
                    e
                })?;
                tally.written += encoded.rows;
                for (route, out) in encoded.outputs.into_iter().enumerate() {
                    match (sink.as_mut(), out) {
                        (Some(Output::File(sink)), RouteOut::Groups(groups)) => {
                            for g in groups {
                                sink.append(g)?;
                            }
                        }
                        (Some(Output::Files(files)), RouteOut::Groups(groups)) => files.append_groups(route, groups)?,
                        (Some(Output::Files(files)), RouteOut::Partitions(batch, groups)) => {
                            files.append_partitions(route, batch, groups)?
                        }
                        (_, _) => {}
                    }
                }
                let set_aside = encoded.rejects;
                for (code, n) in set_aside.by_code {
                    *tally.by_code.entry(code.to_string()).or_default() += n;
                }
                match rejects {
                    Rejects::File(file) => {
                        if let Some(packed) = &set_aside.packed {
                            file.append_packed(packed, tally.read)?;
                        }
                    }
                    Rejects::Keep { kept, limit } => {
                        for mut r in set_aside.kept.into_iter().take(limit.saturating_sub(kept.len())) {
                            r.location.record += tally.read;
                            kept.push(r);
                        }
                    }
                }
                tally.rejected += set_aside.count;
                tally.read += encoded.records;
                tally.nulled += encoded.nulled;
                tally.filtered += encoded.filtered;
                tally.unrouted += encoded.unrouted;
                if let Some(limit @ MaxRejects::Rows(_)) = &self.spec.max_rejects {
                    if limit.exceeded(tally.rejected, tally.read) {
                        let (rejected, read, limit) = (tally.rejected, tally.read, limit.to_string());
                        return Err(Error::new(ErrorKind::TooManyRejects { rejected, read, limit }));
                    }
                }
                if let Some(p) = &self.progress {
                    p.fetch_add(done.bytes, Ordering::Relaxed);
                }
                next += 1;
                let _ = token_tx.send(());
            }
        }
        if let Some((seq, _)) = waiting.into_iter().next() {
            return Err(Error::encode(format!("chunk {seq} finished but chunk {next} never did")));
        }
        Ok(tally)
    }
}

/// The decoder for the input format.
enum Decoder {
    Csv(CsvDecoder),
    Json(JsonDecoder),
}

impl Decoder {
    fn arrow_schema(&self) -> &arrow_schema::SchemaRef {
        match self {
            Decoder::Csv(d) => d.arrow_schema(),
            Decoder::Json(d) => d.arrow_schema(),
        }
    }

    fn decode(&self, chunk: &Chunk, scratch: &mut Scratch) -> Result<Decoded> {
        match self {
            Decoder::Csv(d) => d.decode(chunk, scratch),
            Decoder::Json(d) => d.decode(chunk),
        }
    }
}

/// What a worker runs each chunk through.
struct Stages<'a> {
    decoder: &'a Decoder,
    constraints: Option<&'a Constraints<'a>>,
    stage: Option<&'a Stage>,
    /// Per route, its encoder (none for a partitioned route, whose rows
    /// the writer encodes by partition; none at all when validating).
    encoders: &'a [Option<Encoder>],
}

impl Stages<'_> {
    /// Decodes, checks, transforms and encodes one chunk.
    fn run(&self, chunk: &Chunk, scratch: &mut Scratch, set_aside: (Option<&str>, usize)) -> Result<Encoded> {
        let mut d = self.decoder.decode(chunk, scratch)?;
        if let Some(c) = self.constraints {
            d = c.apply(chunk, d)?;
        }
        let (parts, filtered, unrouted) = match self.stage {
            Some(stage) => stage.apply(chunk, &mut d)?,
            None => (vec![take_batch(&mut d.batch)], 0, 0),
        };
        chunk.release();
        let mut outputs = Vec::with_capacity(parts.len());
        let mut rows = 0;
        for (route, batch) in parts.into_iter().enumerate() {
            rows += batch.num_rows() as u64;
            let Some(encoders) = self.encoders.get(route) else { continue };
            match (encoders, self.stage) {
                (Some(encoder), _) => outputs.push(RouteOut::Groups(encoder.encode(&batch)?)),
                (None, Some(stage)) => {
                    let (batch, groups) = stage.partition(route, &batch)?;
                    outputs.push(RouteOut::Partitions(batch, groups));
                }
                (None, None) => {}
            }
        }
        let rejects = SetAside::new(d.rejects, set_aside.0, set_aside.1)?;
        Ok(Encoded { outputs, rows, rejects, records: d.records, nulled: d.nulled, filtered, unrouted })
    }
}

/// A worker: decode, check, transform, release the input pages, encode,
/// hand to the writer.
fn work(
    stages: &Stages<'_>,
    set_aside: (Option<&str>, usize),
    work_rx: &crossbeam_channel::Receiver<Chunk>,
    done_tx: &crossbeam_channel::Sender<Done>,
    cancel: &AtomicBool,
) {
    let mut scratch = Scratch::default();
    for chunk in work_rx.iter() {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let result = stages.run(&chunk, &mut scratch, set_aside);
        let done = Done { seq: chunk.seq, bytes: chunk.data.len() as u64, result };
        if done_tx.send(done).is_err() {
            break;
        }
    }
}

/// The batch, leaving an empty one of its schema.
fn take_batch(batch: &mut RecordBatch) -> RecordBatch {
    let empty = RecordBatch::new_empty(batch.schema());
    std::mem::replace(batch, empty)
}

/// The transform stage: the pipeline's steps, its routes and their layouts.
#[derive(Debug)]
pub struct Stage {
    steps: Transforms,
    router: Router,
    /// Per route: its files' layout.
    layouts: Vec<RouteLayout>,
    /// Per route: the partition columns' indexes in its batches.
    partition_columns: Vec<Vec<usize>>,
    /// Whether the output is a directory (routes, partitions or parts).
    directory: bool,
    on_error: OnError,
}

impl Stage {
    /// Compiles the spec's steps and routes against the decoded schema.
    /// Returns every mistake found.
    pub fn compile(spec: &Spec, input: &SchemaRef) -> std::result::Result<Stage, Vec<Finding>> {
        let steps = Transforms::compile(&spec.steps, Arc::clone(input), spec.on_error)?;
        let router = Router::compile(&spec.routes, Arc::clone(steps.schema()), spec.on_error)?;
        let mut found = Vec::new();
        let mut layouts = Vec::new();
        let mut partition_columns = Vec::new();
        for (r, name) in router.names().enumerate() {
            let schema = router.schema(r);
            let (layout, place) = match spec.routes.get(r) {
                Some(route) => (route.layout.as_ref().unwrap_or(&spec.layout), route.place),
                None => (&spec.layout, None),
            };
            let mut indexes = Vec::new();
            for c in &layout.partition_by {
                match schema.index_of(c) {
                    Ok(i) if indexes.contains(&i) => {
                        found.push(Finding::new(place, format!("partition_by names {c:?} twice")))
                    }
                    Ok(i) => indexes.push(i),
                    Err(_) => found.push(Finding::new(
                        place,
                        format!(
                            "partition_by: no column {c:?} in the output{} (columns: {})",
                            if name.is_empty() { String::new() } else { format!(" of route {name:?}") },
                            crate::transform::column_names(schema)
                        ),
                    )),
                }
            }
            if !indexes.is_empty() && indexes.len() == schema.fields().len() {
                found.push(Finding::new(place, "partition_by takes every column; no column is left for the files"));
            }
            let fields: Vec<_> = (0..schema.fields().len())
                .filter(|i| !indexes.contains(i))
                .map(|i| Arc::clone(&schema.fields()[i]))
                .collect();
            layouts.push(RouteLayout {
                name: name.to_string(),
                schema: Arc::new(ArrowSchema::new(fields)),
                partition_by: layout.partition_by.clone(),
                max_file_bytes: layout.max_file_bytes,
            });
            partition_columns.push(indexes);
        }
        if !found.is_empty() {
            return Err(found);
        }
        Ok(Stage {
            steps,
            router,
            layouts,
            partition_columns,
            directory: spec.writes_directory(),
            on_error: spec.on_error,
        })
    }

    /// Each route's files: name, schema, partitions.
    pub fn layouts(&self) -> &[RouteLayout] {
        &self.layouts
    }

    /// Transforms and routes the decoded batch. Rows an expression failed on
    /// join `d`'s rejects (under the fail policy, the first bad row in input
    /// order is the error). Returns each route's batch, and the rows
    /// filtered out and routed nowhere.
    fn apply(&self, chunk: &Chunk, d: &mut Decoded) -> Result<(Vec<RecordBatch>, u64, u64)> {
        let batch = take_batch(&mut d.batch);
        let Outcome { batch, rows, failures, filtered, nulled } = self.steps.apply(batch)?;
        let routed = self.router.route(batch)?;
        let mut bad: Vec<(u32, crate::Problem)> = failures.into_iter().map(|f| (f.row, f.problem)).collect();
        bad.extend(routed.failures.into_iter().map(|f| (rows[f.row as usize], f.problem)));
        d.nulled += nulled;
        let mut filtered = filtered;
        let mut parts = Vec::with_capacity(routed.parts.len());
        for part in routed.parts {
            bad.extend(part.failures.into_iter().map(|f| (rows[f.row as usize], f.problem)));
            filtered += part.filtered;
            d.nulled += part.nulled;
            parts.push(part.batch);
        }
        if !bad.is_empty() {
            bad.sort_by_key(|(row, _)| *row);
            let mut lines = LineCursor::new(chunk);
            for (row, problem) in bad {
                let o = d.origins[row as usize];
                d.rejects.push(Reject {
                    location: lines.at(o.start as usize, u64::from(o.record)),
                    problems: vec![problem],
                    raw: trim_line_end(&chunk.data[o.start as usize..o.end as usize]).to_vec(),
                });
            }
            d.rejects.sort_by_key(|r| r.location.record);
        }
        if self.on_error == OnError::Fail {
            if let Some(first) = d.rejects.drain(..).next() {
                return Err(first.into_error());
            }
        }
        Ok((parts, filtered, routed.unrouted))
    }

    /// Route `r`'s rows grouped by partition, the partition columns taken
    /// out; with each partition's values, first row and length, in the
    /// order each partition first appears.
    #[allow(clippy::type_complexity, reason = "a batch and its groups")]
    fn partition(
        &self,
        r: usize,
        batch: &RecordBatch,
    ) -> Result<(RecordBatch, Vec<(Vec<Option<String>>, usize, usize)>)> {
        let columns = &self.partition_columns[r];
        let options = arrow_cast::display::FormatOptions::default();
        let formatters = columns
            .iter()
            .map(|&c| arrow_cast::display::ArrayFormatter::try_new(batch.column(c).as_ref(), &options))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(Error::encode)?;
        let mut groups: Vec<(Vec<Option<String>>, Vec<u32>)> = Vec::new();
        let mut index: std::collections::HashMap<Vec<Option<String>>, usize> = std::collections::HashMap::new();
        for row in 0..batch.num_rows() {
            let key: Vec<Option<String>> = columns
                .iter()
                .zip(&formatters)
                .map(|(&c, f)| batch.column(c).is_valid(row).then(|| f.value(row).to_string()))
                .collect();
            match index.get(&key) {
                Some(&g) => groups[g].1.push(row as u32),
                None => {
                    index.insert(key.clone(), groups.len());
                    groups.push((key, vec![row as u32]));
                }
            }
        }
        let mut order = Vec::with_capacity(batch.num_rows());
        let mut ranges = Vec::with_capacity(groups.len());
        for (key, rows) in groups {
            ranges.push((key, order.len(), rows.len()));
            order.extend(rows);
        }
        let indices = UInt32Array::from(order);
        let taken = (0..batch.num_columns())
            .filter(|i| !columns.contains(i))
            .map(|i| arrow_select::take::take(batch.column(i).as_ref(), &indices, None).map_err(Error::encode))
            .collect::<Result<Vec<_>>>()?;
        let grouped = RecordBatch::try_new(Arc::clone(&self.layouts[r].schema), taken).map_err(Error::encode)?;
        Ok((grouped, ranges))
    }
}

/// The schema's constraints, checked on each decoded batch.
struct Constraints<'a> {
    validator: &'a Validator,
    schema: &'a Schema,
    on_error: OnError,
}

impl Constraints<'_> {
    /// Checks the batch: a row that breaks a constraint joins the rejects
    /// (under the null policy a nullable value is made null instead, unless
    /// the broken constraint is `required`). Under the fail policy the first
    /// bad record in input order, from decoding or from here, is the error.
    fn apply(&self, chunk: &Chunk, mut d: Decoded) -> Result<Decoded> {
        if let Some(rejected) = d.rejected.take() {
            self.add_to_rejects(&rejected, &mut d.rejects);
        }
        let mut found = Vec::new();
        self.validator.check(&d.batch, &mut found);
        if found.is_empty() && (self.on_error != OnError::Fail || d.rejects.is_empty()) {
            return Ok(d);
        }
        let rows = d.batch.num_rows();
        let mut keep = vec![true; rows];
        let mut nulls: BTreeMap<usize, Vec<bool>> = BTreeMap::new();
        let mut lines = LineCursor::new(chunk);
        let mut rejects = Vec::new();
        let mut found = found.into_iter().peekable();
        while let Some(first) = found.next() {
            let row = first.row;
            let mut problems = Vec::new();
            for v in std::iter::once(first).chain(std::iter::from_fn(|| found.next_if(|v| v.row == row))) {
                let column = &self.schema.columns[v.column];
                let required = matches!(&v.kind, ErrorKind::Constraint { constraint } if constraint == "required");
                if self.on_error == OnError::Null && column.nullable && !required {
                    nulls.entry(v.column).or_insert_with(|| vec![false; rows])[row] = true;
                    d.nulled += 1;
                    continue;
                }
                problems.push(Problem { kind: v.kind, column: Some(column.name.clone()), value: Some(v.value) });
            }
            if problems.is_empty() {
                continue;
            }
            let o = d.origins[row];
            keep[row] = false;
            rejects.push(Reject {
                location: lines.at(o.start as usize, u64::from(o.record)),
                problems,
                raw: trim_line_end(&chunk.data[o.start as usize..o.end as usize]).to_vec(),
            });
        }
        d.rejects.extend(rejects);
        d.rejects.sort_by_key(|r| r.location.record);
        if self.on_error == OnError::Fail {
            if let Some(first) = d.rejects.drain(..).next() {
                return Err(first.into_error());
            }
        }
        let mut columns: Vec<ArrayRef> = d.batch.columns().to_vec();
        for (c, mask) in nulls {
            columns[c] = nullif(&columns[c], &BooleanArray::from(mask)).map_err(Error::encode)?;
        }
        if d.origins.len() == rows {
            d.origins = d.origins.iter().zip(&keep).filter(|(_, k)| **k).map(|(o, _)| *o).collect();
        }
        let columns = keep_rows(columns, keep)?;
        d.batch = RecordBatch::try_new(d.batch.schema(), columns).map_err(Error::encode)?;
        Ok(d)
    }

    /// Adds to the decoder's rejects (one per row of `rejected`) the
    /// constraints their other values break, so that a reject lists all
    /// that is wrong with its row. A record that could not be cut into its
    /// fields, a value that did not parse and a value the null policy
    /// would mend add nothing. Problems then follow the schema's column
    /// order.
    fn add_to_rejects(&self, rejected: &RecordBatch, rejects: &mut [Reject]) {
        let mut found = Vec::new();
        self.validator.check(rejected, &mut found);
        let mut touched = Vec::new();
        for v in found {
            let Some(reject) = rejects.get_mut(v.row) else { continue };
            let column = &self.schema.columns[v.column];
            let required = matches!(&v.kind, ErrorKind::Constraint { constraint } if constraint == "required");
            let mended = self.on_error == OnError::Null && column.nullable && !required;
            let unparsed = reject.problems.iter().any(|p| p.column.is_none());
            let bad_already = reject.problems.iter().any(|p| p.column.as_deref() == Some(column.name.as_str()));
            if mended || unparsed || bad_already {
                continue;
            }
            reject.problems.push(Problem { kind: v.kind, column: Some(column.name.clone()), value: Some(v.value) });
            touched.push(v.row);
        }
        let position =
            |p: &Problem| p.column.as_deref().and_then(|name| self.schema.columns.iter().position(|c| c.name == name));
        for row in touched {
            rejects[row].problems.sort_by_key(position);
        }
    }
}
