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
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{bounded, unbounded};

use crate::budget::Plan;
use crate::decode::{CsvDecoder, Framing, JsonDecoder, Scratch};
use crate::encode::{EncodedRowGroup, Encoder};
use crate::error::{Error, Result};
use crate::report::{peak_rss_bytes, Report};
use crate::sink::ParquetSink;
use crate::source::Source;
use crate::spec::{Format, Schema, Spec};
use crate::split::{Chunk, Chunker, CsvSplitter, JsonArraySplitter, Splitter};

/// A spec and a plan, ready to run on sources.
pub struct Pipeline {
    spec: Spec,
    plan: Plan,
    progress: Option<Arc<AtomicU64>>,
}

/// A chunk's outcome on its way to the writer.
struct Done {
    seq: u64,
    bytes: u64,
    result: Result<Vec<EncodedRowGroup>>,
}

impl Pipeline {
    pub fn new(spec: Spec, plan: Plan) -> Self {
        Pipeline { spec, plan, progress: None }
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
        self.run_inner(source, output, started).map_err(|e| e.in_source(name))
    }

    fn run_inner(&self, source: Source, output: &Path, started: Instant) -> Result<Report> {
        let name = source.name().to_string();
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
                (chunker, Decoder::Csv(CsvDecoder::new(&schema, csv, header.as_deref())?))
            }
            Format::Ndjson | Format::JsonArray => {
                let schema = self.spec.schema.as_ref().ok_or_else(|| Error::spec("JSON input needs a schema"))?;
                let chunk_bytes = self.plan.chunk_bytes;
                let (splitter, framing) = match self.spec.format {
                    Format::Ndjson => (Splitter::Lines { chunk_bytes }, Framing::Lines),
                    _ => (Splitter::JsonArray(JsonArraySplitter::new(chunk_bytes)), Framing::Array),
                };
                let decoder = JsonDecoder::new(schema, &self.spec.json, framing)?;
                (Chunker::new(source, splitter), Decoder::Json(decoder))
            }
        };
        let (mut sink, encoder) = ParquetSink::create(
            output,
            Arc::clone(decoder.arrow_schema()),
            &self.spec.output,
            self.plan.row_group_rows,
        )?;

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

        let (written_rows, bytes_read) = std::thread::scope(|s| {
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
            let (decoder, encoder) = (&decoder, &encoder);
            s.spawn(move || {
                pool.scope(|ps| {
                    for _ in 0..self.plan.threads {
                        let (work_rx, done_tx) = (work_rx.clone(), done_tx.clone());
                        ps.spawn(move |_| work(decoder, encoder, &work_rx, &done_tx, cancel));
                    }
                });
            });
            let written = self.write_in_order(&done_rx, &token_tx, &mut sink);
            if written.is_err() {
                cancel.store(true, Ordering::Relaxed);
            }
            drop(done_rx);
            drop(token_tx);
            let bytes_read = reader.join().expect("the reader thread does not panic");
            written.map(|rows| (rows, bytes_read))
        })?;

        let out = sink.finish()?;
        debug_assert_eq!(out.rows, written_rows);
        Ok(Report {
            source: name,
            output: output.display().to_string(),
            rows_read: written_rows,
            rows_written: out.rows,
            rows_rejected: 0,
            bytes_read,
            bytes_written: out.bytes,
            row_groups: out.row_groups,
            files: 1,
            seconds: started.elapsed().as_secs_f64(),
            peak_rss_bytes: peak_rss_bytes(),
            plan: self.plan.clone(),
        })
    }

    /// Receives outcomes, restores input order and appends row groups; the
    /// first error in input order ends the run. Returns the rows written.
    fn write_in_order(
        &self,
        done_rx: &crossbeam_channel::Receiver<Done>,
        token_tx: &crossbeam_channel::Sender<()>,
        sink: &mut ParquetSink,
    ) -> Result<u64> {
        let mut next = 0u64;
        let mut waiting = BTreeMap::new();
        let mut rows = 0u64;
        for done in done_rx.iter() {
            waiting.insert(done.seq, done);
            while let Some(done) = waiting.remove(&next) {
                match done.result {
                    Err(mut e) => {
                        if let Some(loc) = e.location_mut() {
                            loc.record += rows;
                        }
                        return Err(e);
                    }
                    Ok(groups) => {
                        for g in groups {
                            rows += g.rows as u64;
                            sink.append(g)?;
                        }
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
        Ok(rows)
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

    fn decode(&self, chunk: &Chunk, scratch: &mut Scratch) -> Result<arrow_array::RecordBatch> {
        match self {
            Decoder::Csv(d) => d.decode(chunk, scratch),
            Decoder::Json(d) => d.decode(chunk),
        }
    }
}

/// A worker: decode, release the input pages, encode, hand to the writer.
fn work(
    decoder: &Decoder,
    encoder: &Encoder,
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
        chunk.release();
        let result = decoded.and_then(|batch| encoder.encode(&batch));
        let done = Done { seq: chunk.seq, bytes: chunk.data.len() as u64, result };
        if done_tx.send(done).is_err() {
            break;
        }
    }
}
