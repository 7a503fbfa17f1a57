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

use arrow_array::{ArrayRef, BooleanArray, RecordBatch};
use arrow_select::nullif::nullif;
use crossbeam_channel::{bounded, unbounded};

use crate::budget::Plan;
use crate::decode::{keep_rows, trim_line_end, CsvDecoder, Decoded, Framing, JsonDecoder, LineCursor, Scratch};
use crate::encode::{EncodedRowGroup, Encoder};
use crate::error::{Error, ErrorKind, Problem, Reject, Result};
use crate::report::{peak_rss_bytes, Report};
use crate::sink::{Packed, ParquetSink, RejectSink};
use crate::source::Source;
use crate::spec::{Format, MaxRejects, OnError, Schema, Spec};
use crate::split::{Chunk, Chunker, CsvSplitter, JsonArraySplitter, Splitter};
use crate::validate::Validator;

/// A spec and a plan, ready to run on sources.
pub struct Pipeline {
    spec: Spec,
    plan: Plan,
    progress: Option<Arc<AtomicU64>>,
    rejects_path: Option<PathBuf>,
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
    groups: Vec<EncodedRowGroup>,
    /// Rows in the groups (or that would be, when only validating).
    rows: u64,
    /// The rejects, packed for the rejects file, or (validation) the
    /// first of them as they are.
    rejects: SetAside,
    records: u64,
    nulled: u64,
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
}

impl Pipeline {
    pub fn new(spec: Spec, plan: Plan) -> Self {
        Pipeline { spec, plan, progress: None, rejects_path: None }
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
        let checker = Pipeline { spec, plan: self.plan.clone(), progress: self.progress.clone(), rejects_path: None };
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
        let output = target.ok();
        let name = source.name().to_string();
        // The schema's constraints, when it has any.
        let validator = self.spec.schema.as_ref().map(Validator::new).transpose()?.filter(|v| !v.is_empty());
        let check = validator.is_some();
        // With constraints to check after decoding, the decoder sets bad
        // records aside under every policy, so that the first bad record in
        // input order is the one a failing run reports, whichever check
        // finds it.
        let decoder_policy = match self.spec.on_error {
            OnError::Fail if check => OnError::Reject,
            policy => policy,
        };
        let (mut chunker, decoder) = match self.spec.format {
            Format::Csv => {
                let csv = &self.spec.csv;
                csv.validate()?;
                let mut chunker = Chunker::new(source, CsvSplitter::new(csv, self.plan.chunk_bytes));
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
                let decoder =
                    CsvDecoder::new(&schema, csv, header.as_deref())?.with_on_error(decoder_policy).with_origins(check);
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
                    .with_origins(check);
                (Chunker::new(source, splitter), Decoder::Json(decoder))
            }
        };
        let (mut sink, encoder) = match output {
            Some(output) => {
                let (sink, encoder) = ParquetSink::create(
                    output,
                    Arc::clone(decoder.arrow_schema()),
                    &self.spec.output,
                    self.plan.row_group_rows,
                )?;
                (Some(sink), Some(encoder))
            }
            None => (None, None),
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
            on_error: self.spec.on_error,
        });
        let (tally, bytes_read) = std::thread::scope(|s| {
            let reader_done = done_tx.clone();
            let cancel = &cancel;
            let reader = s.spawn(move || {
                while token_rx.recv().is_ok() && !cancel.load(Ordering::Relaxed) {
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
            let (decoder, encoder) = (&decoder, encoder.as_ref());
            let constraints = constraints.as_ref();
            let set_aside = match target {
                Ok(_) => (Some(name.as_str()), 0),
                Err(keep) => (None, keep),
            };
            s.spawn(move || {
                pool.scope(|ps| {
                    for _ in 0..self.plan.threads {
                        let (work_rx, done_tx) = (work_rx.clone(), done_tx.clone());
                        ps.spawn(move |_| work(decoder, constraints, encoder, set_aside, &work_rx, &done_tx, cancel));
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
        let out = sink.map(ParquetSink::finish).transpose()?;
        let (rejects_file, kept) = match rejects {
            Rejects::File(r) => (r.finish()?, Vec::new()),
            Rejects::Keep { kept, .. } => (None, kept),
        };
        debug_assert_eq!(tally.read, tally.written + tally.rejected);
        let report = Report {
            source: name,
            output: output.map_or_else(String::new, |o| o.display().to_string()),
            rows_read: tally.read,
            rows_written: tally.written,
            rows_rejected: tally.rejected,
            rejects_by_code: tally.by_code,
            rejects_file: rejects_file.map(|p| p.display().to_string()),
            values_nulled: tally.nulled,
            bytes_read,
            bytes_written: out.map_or(0, |o| o.bytes),
            row_groups: out.map_or(0, |o| o.row_groups),
            files: usize::from(out.is_some()),
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
        sink: &mut Option<ParquetSink>,
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
                if let Some(sink) = sink {
                    for g in encoded.groups {
                        sink.append(g)?;
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

/// A worker: decode, release the input pages, encode, hand to the writer.
#[allow(clippy::too_many_arguments, reason = "the worker's whole context")]
fn work(
    decoder: &Decoder,
    constraints: Option<&Constraints<'_>>,
    encoder: Option<&Encoder>,
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
        let decoded = decoder.decode(&chunk, &mut scratch);
        let decoded = match constraints {
            Some(c) => decoded.and_then(|d| c.apply(&chunk, d)),
            None => decoded,
        };
        chunk.release();
        let result = decoded.and_then(|d| {
            let groups = encoder.map(|e| e.encode(&d.batch)).transpose()?.unwrap_or_default();
            let rows = d.batch.num_rows() as u64;
            let rejects = SetAside::new(d.rejects, set_aside.0, set_aside.1)?;
            Ok(Encoded { groups, rows, rejects, records: d.records, nulled: d.nulled })
        });
        let done = Done { seq: chunk.seq, bytes: chunk.data.len() as u64, result };
        if done_tx.send(done).is_err() {
            break;
        }
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
        let columns = keep_rows(columns, keep)?;
        d.batch = RecordBatch::try_new(d.batch.schema(), columns).map_err(Error::encode)?;
        Ok(d)
    }
}
