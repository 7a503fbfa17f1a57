//! The Lambda handler's logic (feature `lambda`): one [`Handler`], built
//! once per execution environment from the environment, turns each event
//! into conversions. `src/bin/sluicegate-lambda.rs` only wires it to the
//! Lambda runtime.
//!
//! - S3 event notifications: each `ObjectCreated` record's object (its key
//!   decoded as S3 encodes it: `+` is a space, then percent-decoding; read
//!   at the ETag the event names) is converted into the output location
//!   under a name derived from its key, so a redelivered event rewrites the
//!   same objects. Test events, `ObjectRemoved` and empty record lists are
//!   acknowledged. One bad record does not stop the others; the invocation
//!   fails, naming the records, when any could not be processed.
//! - API Gateway HTTP API (payload 2.0) and REST (1.0) requests whose body
//!   (base64 or not) is CSV or NDJSON: converted into the output location;
//!   the response is the report as JSON, 400 with the reject summary when
//!   the fail policy stops the run, 413 past the 6 MB request limit.
//! - EventBridge schedules (`"detail-type": "Scheduled Event"`): a backfill
//!   that resumes. Every object under the input prefix (`SLUICEGATE_INPUT`,
//!   or `"input"` in the event's `detail`) that has no output yet is
//!   converted, oldest first; what the invocation's time does not reach is
//!   left for the next schedule. See [`Handler::schedule`].
//!
//! Every event has the invocation's deadline less a safety margin to work
//! in: a conversion that cannot finish by then stops, publishes nothing and
//! fails with the retryable [`ErrorKind::Deadline`](crate::ErrorKind::Deadline).
//!
//! Each processed object logs one JSON line (tracing), and one CloudWatch Embedded
//! Metric Format line (rows read, written and rejected, bytes, seconds,
//! peak memory, dimensioned by pipeline name).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_lambda_events::event::s3::S3EventRecord;
use base64::Engine;
use object_store::{ObjectStore, ObjectStoreExt};
use serde_json::{json, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::sink::object::Publisher;
use crate::sink::{manifest_inputs, MANIFEST};
use crate::source::object::{object_error, object_path, runtime, ObjectUrl, Stores};
use crate::spec::PipelineFile;
use crate::{Budget, Pipeline, Report, Source};

/// API Gateway's request payload limit (bytes).
pub const MAX_REQUEST_BYTES: usize = 6 * 1024 * 1024;

/// The safety margin kept before the invocation's deadline, unless
/// `SLUICEGATE_DEADLINE_MARGIN_MS` sets one: this, or a tenth of the time
/// the invocation has, whichever is smaller. 5 s covers publishing a
/// function's largest output (10 GB of memory, a few hundred MB of
/// Parquet) at S3's usual upload rates, and the shutdown of the threads.
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_millis(5000);

/// What the handler needs, read once per execution environment.
#[derive(Debug, Clone)]
pub struct Handler {
    pub file: PipelineFile,
    /// Where outputs go: a prefix (`s3://curated/orders/`).
    pub output: ObjectUrl,
    /// The prefix a schedule converts objects from, unless the event names
    /// one (`s3://raw/orders/`).
    pub input: Option<ObjectUrl>,
    /// The time kept free before the invocation's deadline; `None`: see
    /// [`DEFAULT_DEADLINE_MARGIN`].
    pub margin: Option<Duration>,
    /// The S3 clients (an S3-compatible endpoint in place of AWS's, when
    /// given), built on first use and kept for the next events.
    pub stores: Stores,
    pub memory_mb: u64,
}

impl Handler {
    /// From `SLUICEGATE_PIPELINE` (the pipeline file's path in the
    /// package), `SLUICEGATE_OUTPUT` (an `s3://` prefix), `SLUICEGATE_INPUT`
    /// (an `s3://` prefix, optional), `SLUICEGATE_DEADLINE_MARGIN_MS`
    /// (optional), `AWS_ENDPOINT_URL` and `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
    /// Only reads and parses: clients are built when an event needs them.
    pub fn from_env() -> Result<Handler> {
        let var = |name: &str| {
            std::env::var(name).map_err(|_| Error::spec(format!("the environment variable {name} is not set")))
        };
        let file = PipelineFile::from_path(&PathBuf::from(var("SLUICEGATE_PIPELINE")?))?;
        let output = prefix("SLUICEGATE_OUTPUT", &var("SLUICEGATE_OUTPUT")?)?;
        let input = std::env::var("SLUICEGATE_INPUT").ok().map(|i| prefix("SLUICEGATE_INPUT", &i)).transpose()?;
        let margin = std::env::var("SLUICEGATE_DEADLINE_MARGIN_MS").ok().map(|m| parse_margin(&m)).transpose()?;
        Ok(Handler {
            file,
            output,
            input,
            margin,
            stores: Stores::new(std::env::var("AWS_ENDPOINT_URL").ok()),
            memory_mb: Budget::from_env().memory_mb(),
        })
    }

    /// Handles one event of any shape this handler knows, with the
    /// invocation's `deadline` (none: no limit).
    pub fn handle(&self, event: Value, deadline: Option<Instant>) -> Result<Value> {
        let stop = self.stop(deadline);
        if event.get("Records").is_some() || event.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
            return self.s3_event(&event, stop);
        }
        if event.get("requestContext").is_some() {
            return Ok(self.api_request(&event, stop));
        }
        if event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
            return self.schedule(&event, stop);
        }
        Err(Error::spec(format!(
            "an event of a shape this handler does not take (keys: {})",
            event.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>().join(", ")).unwrap_or_default()
        )))
    }

    /// An S3 event notification: every record processed, then the
    /// invocation fails if any record failed.
    fn s3_event(&self, event: &Value, stop: Option<Instant>) -> Result<Value> {
        let records = event.get("Records").and_then(Value::as_array).cloned().unwrap_or_default();
        if records.is_empty() {
            let event = event.get("Event").map(Value::to_string);
            tracing::info!(event = event.as_deref(), "event with no records acknowledged");
            return Ok(json!({"processed": 0}));
        }
        let mut done = Vec::new();
        let mut failed = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let raw_key = r.pointer("/s3/object/key").and_then(Value::as_str).unwrap_or("").to_string();
            let r: S3EventRecord = match serde_json::from_value(r.clone()) {
                Ok(r) => r,
                Err(e) => {
                    failed.push(format!("record {i} ({raw_key:?}): not an S3 event record: {e}"));
                    continue;
                }
            };
            let name = r.event_name.as_deref().unwrap_or("");
            let bucket = r.s3.bucket.name.as_deref().unwrap_or("");
            if !name.starts_with("ObjectCreated") {
                tracing::info!(event_name = %name, bucket = %bucket, key = %raw_key, "record acknowledged");
                continue;
            }
            let key = match decode_key(&raw_key) {
                Ok(k) => k,
                Err(e) => {
                    failed.push(format!("record {i} ({raw_key:?}): {e}"));
                    continue;
                }
            };
            // Events give the ETag bare; If-Match wants it quoted.
            let etag = r.s3.object.e_tag.clone().filter(|e| !e.is_empty()).map(|e| match e.starts_with('"') {
                true => e,
                false => format!("\"{e}\""),
            });
            let input = match ObjectUrl::new(bucket, &key) {
                Ok(input) => input,
                Err(e) => {
                    tracing::error!(bucket = %bucket, key = %key, error = %e, "record failed");
                    failed.push(format!("record {i} (s3://{bucket}/{key}): {e}"));
                    continue;
                }
            };
            match self.convert_object(&input, etag, stop) {
                Ok(report) => done.push(report_json(&report)),
                Err(e) => {
                    tracing::error!(input = %input, error = %e, "record failed");
                    failed.push(format!("record {i} ({input}): {e}"));
                }
            }
        }
        if !failed.is_empty() {
            return Err(Error::new(crate::ErrorKind::Io(format!(
                "{} of {} records failed: {}",
                failed.len(),
                records.len(),
                failed.join("; ")
            ))));
        }
        Ok(json!({"processed": done.len(), "reports": done}))
    }

    /// An EventBridge schedule: a backfill that resumes. Lists the input
    /// prefix (`"input"` in the event's `detail`, else
    /// [`Handler::input`]), leaves out what is not data (empty objects, as
    /// directory markers are; names starting with `_` or `.`; Parquet and
    /// rejects files; everything under the output prefix) and what already
    /// has its output (the output object for a single-file output; for a
    /// directory output, the input listed in the manifest), and converts the rest oldest
    /// first (last modified, then key), each at the version listed. Before
    /// `stop` it stops: an object whose conversion the deadline cut short,
    /// and those after it, count as remaining, for the next schedule. One
    /// object failing does not stop the others; the invocation fails at
    /// the end, naming every object that failed.
    pub fn schedule(&self, event: &Value, stop: Option<Instant>) -> Result<Value> {
        let input = match event.pointer("/detail/input") {
            None | Some(Value::Null) => self.input.clone().ok_or_else(|| {
                Error::spec("a scheduled event needs an input prefix: set SLUICEGATE_INPUT or give \"input\" in the event's detail")
            })?,
            Some(Value::String(s)) => prefix("the event's detail.input", s)?,
            Some(other) => return Err(Error::spec(format!("the event's detail.input {other} is not a string"))),
        };
        let (todo, skipped) = self.pending(&input)?;
        let done = backfill(&todo, stop, |object, etag| {
            self.convert_object(object, etag, stop).map(|report| report_json(&report))
        });
        let mut summary = json!({
            "input": input.to_string(),
            "processed": done.reports.len(),
            "skipped": skipped,
            "remaining": done.remaining,
            "failed": done.failed.len(),
            "next": done.next,
        });
        tracing::info!(
            input = %input,
            processed = done.reports.len(),
            skipped,
            remaining = done.remaining,
            failed = done.failed.len(),
            next = done.next.as_deref(),
            "schedule"
        );
        if !done.failed.is_empty() {
            return Err(Error::new(ErrorKind::Io(format!(
                "{} of {} objects failed (processed {}, skipped {skipped}, remaining {}): {}",
                done.failed.len(),
                todo.len(),
                done.reports.len(),
                done.remaining,
                done.failed.join("; ")
            ))));
        }
        summary["reports"] = Value::Array(done.reports);
        Ok(summary)
    }

    /// The objects under `input` to convert, oldest first, each with its
    /// ETag; and how many were left out because their output exists.
    fn pending(&self, input: &ObjectUrl) -> Result<(Listed, usize)> {
        use futures_util::TryStreamExt;
        let rt = runtime()?;
        let store = self.stores.get(&input.bucket)?;
        let at = object_path(&input.key);
        let listed = rt
            .block_on(store.list((!at.as_ref().is_empty()).then_some(&at)).try_collect::<Vec<_>>())
            .map_err(|e| object_error(format!("listing {input}"), e))?;
        let output_root = format!("{}/", self.output.key.trim_end_matches('/'));
        let mut objects: Vec<_> = listed
            .into_iter()
            .filter(|meta| {
                let key = meta.location.as_ref();
                let name = key.rsplit('/').next().unwrap_or(key);
                let under_output = input.bucket == self.output.bucket
                    && (output_root == "/" || format!("{key}/").starts_with(&output_root));
                // Directory markers are empty objects whose keys end in
                // `/` (the listing drops the `/`).
                !(meta.size == 0
                    || name.starts_with(['_', '.'])
                    || name.ends_with(".parquet")
                    || name.ends_with(".rejects.ndjson")
                    || under_output)
            })
            .collect();
        objects.sort_by(|a, b| (a.last_modified, a.location.as_ref()).cmp(&(b.last_modified, b.location.as_ref())));

        // What the output already holds: for a directory output, the
        // inputs its manifest lists; else the output objects' keys.
        let out_store = self.stores.get(&self.output.bucket)?;
        let done: std::collections::HashSet<String> = match self.file.spec.writes_directory() {
            true => {
                let at = object_path(&format!("{output_root}{MANIFEST}"));
                let what = format!("reading s3://{}/{at}", self.output.bucket);
                let text = rt.block_on(async { out_store.get(&at).await?.bytes().await });
                let manifest = match text {
                    Ok(text) => serde_json::from_slice(&text)
                        .map_err(|e| Error::spec(format!("{what}: not a manifest this program can read: {e}")))?,
                    Err(object_store::Error::NotFound { .. }) => Value::Null,
                    Err(e) => return Err(object_error(what, e)),
                };
                manifest_inputs(&manifest).into_iter().map(|i| i.source).collect()
            }
            false => {
                let at = object_path(&self.output.key);
                rt.block_on(out_store.list((!at.as_ref().is_empty()).then_some(&at)).try_collect::<Vec<_>>())
                    .map_err(|e| object_error(format!("listing {}", self.output), e))?
                    .into_iter()
                    .map(|meta| format!("s3://{}/{}", self.output.bucket, meta.location))
                    .collect()
            }
        };
        let mut todo = Vec::new();
        let mut skipped = 0;
        for meta in objects {
            let object = ObjectUrl { bucket: input.bucket.clone(), key: meta.location.to_string() };
            let converted = match self.file.spec.writes_directory() {
                true => done.contains(&object.to_string()),
                false => done.contains(&self.output_for(&object).to_string()),
            };
            match converted {
                true => skipped += 1,
                false => todo.push((object, meta.e_tag)),
            }
        }
        Ok((todo, skipped))
    }

    /// Where an input's output goes: the prefix itself for a directory
    /// output (part names carry the input's identity), else a file named
    /// after the input's key, under the prefix.
    pub fn output_for(&self, input: &ObjectUrl) -> ObjectUrl {
        let prefix = self.output.key.trim_end_matches('/');
        if self.file.spec.writes_directory() {
            return ObjectUrl { bucket: self.output.bucket.clone(), key: format!("{prefix}/") };
        }
        let stem = input.key.trim_end_matches(".gz").trim_end_matches(".zst");
        let stem = stem.rsplit_once('.').map_or(stem, |(s, ext)| if ext.contains('/') { stem } else { s });
        let key = if prefix.is_empty() { format!("{stem}.parquet") } else { format!("{prefix}/{stem}.parquet") };
        ObjectUrl { bucket: self.output.bucket.clone(), key }
    }

    /// When work must stop: the deadline less the margin (see
    /// [`DEFAULT_DEADLINE_MARGIN`]).
    pub fn stop(&self, deadline: Option<Instant>) -> Option<Instant> {
        let deadline = deadline?;
        let now = Instant::now();
        let margin =
            self.margin.unwrap_or_else(|| DEFAULT_DEADLINE_MARGIN.min(deadline.saturating_duration_since(now) / 10));
        Some(deadline.checked_sub(margin).unwrap_or(now))
    }

    /// Converts one object into its output, stopping at `stop`; logs and
    /// emits its metrics.
    pub fn convert_object(&self, input: &ObjectUrl, etag: Option<String>, stop: Option<Instant>) -> Result<Report> {
        past(stop).map_err(|e| e.in_source(input.to_string()))?;
        let plan = self.plan()?;
        let store = self.stores.get(&input.bucket)?;
        let source = Source::open_object_in(store, input, plan.object_range(), plan.object_reads, etag)?;
        let out = self.output_for(input);
        self.run(source, out, plan, stop)
    }

    /// The plan the function's memory gives this pipeline.
    fn plan(&self) -> Result<crate::Plan> {
        Budget::new(self.memory_mb).partitioned(self.file.spec.is_partitioned()).objects(true).plan()
    }

    /// Runs into the output (streamed, or staged where it cannot be) and
    /// publishes it, unless `stop` comes first (then the uploads are
    /// aborted and the staged output goes, unpublished).
    fn run(&self, source: Source, out: ObjectUrl, plan: crate::Plan, stop: Option<Instant>) -> Result<Report> {
        let store = self.stores.get(&out.bucket)?;
        let publisher = Publisher::in_store(store, out.clone(), self.file.spec.writes_directory())?;
        let name = source.name().to_string();
        let spec = self.file.spec_for(std::path::Path::new(&name));
        let mut pipeline = Pipeline::new(spec, plan).with_streams(publisher.streams());
        if let Some(stop) = stop {
            pipeline = pipeline.with_deadline(stop);
        }
        let mut report = pipeline.run(source, &publisher.staged_output())?;
        past(stop).map_err(|e| e.in_source(name.clone()))?;
        let rejects = report.rejects_file.as_ref().map(PathBuf::from);
        let objects = publisher.publish(rejects.as_deref())?;
        report.output = out.to_string();
        if rejects.is_some() {
            report.rejects_file = objects.last().cloned();
        }
        tracing::info!(
            input = %name,
            output = %report.output,
            rows_read = report.rows_read,
            rows_written = report.rows_written,
            rows_rejected = report.rows_rejected,
            bytes_read = report.bytes_read,
            bytes_written = report.bytes_written,
            seconds = report.seconds,
            "converted"
        );
        println!("{}", metrics(&self.file.name, &report));
        Ok(report)
    }

    /// An API Gateway request (HTTP API 2.0 or REST 1.0) with a CSV or
    /// NDJSON body: the response the gateway returns.
    fn api_request(&self, event: &Value, stop: Option<Instant>) -> Value {
        let body = event.get("body").and_then(Value::as_str).unwrap_or("");
        let encoded = event.get("isBase64Encoded").and_then(Value::as_bool).unwrap_or(false);
        let bytes = match encoded {
            true => match base64::engine::general_purpose::STANDARD.decode(body) {
                Ok(b) => b,
                Err(e) => return response(400, json!({"error": format!("the body is not valid base64: {e}")})),
            },
            false => body.as_bytes().to_vec(),
        };
        if bytes.len() > MAX_REQUEST_BYTES {
            return response(
                413,
                json!({"error": format!("the body is {} bytes; the limit is {MAX_REQUEST_BYTES}", bytes.len())}),
            );
        }
        let id = event
            .pointer("/requestContext/requestId")
            .and_then(Value::as_str)
            .unwrap_or("request")
            .replace(|c: char| !(c.is_ascii_alphanumeric() || c == '-'), "_");
        let header = |name: &str| {
            event.get("headers").and_then(Value::as_object).and_then(|h| {
                h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.as_str()).map(str::to_string)
            })
        };
        let mut file = self.file.clone();
        if let Some(t) = header("content-type") {
            if t.contains("ndjson") || t.contains("jsonl") {
                file.spec.format = crate::spec::Format::Ndjson;
                file.format_given = true;
            } else if t.contains("csv") {
                file.spec.format = crate::spec::Format::Csv;
                file.format_given = true;
            }
        }
        let handler = Handler { file, ..self.clone() };
        let ext = if handler.file.spec.format == crate::spec::Format::Csv { "csv" } else { "ndjson" };
        let input = ObjectUrl { bucket: String::new(), key: format!("api/{id}.{ext}") };
        let out = handler.output_for(&input);
        let plan = match handler.plan() {
            Ok(p) => p,
            Err(e) => return response(500, json!({"error": e.to_string()})),
        };
        match handler.run(Source::from_bytes(&input.key, bytes), out, plan, stop) {
            Ok(report) => response(200, report_json(&report)),
            Err(e) if matches!(e.kind(), ErrorKind::Deadline) => {
                response(503, json!({"error": e.to_string(), "code": e.kind().code()}))
            }
            Err(e) if e.kind().is_record_level() || matches!(e.kind(), crate::ErrorKind::TooManyRejects { .. }) => {
                let location = e
                    .location()
                    .map(|l| json!({"line": l.line, "byte_offset": l.byte, "record": l.record, "column": l.column}));
                response(400, json!({"error": e.to_string(), "code": e.kind().code(), "location": location}))
            }
            Err(e) => response(500, json!({"error": e.to_string()})),
        }
    }
}

/// Objects to convert, each with the ETag the listing gave.
type Listed = Vec<(ObjectUrl, Option<String>)>;

/// What a schedule did with the objects it had to convert.
#[derive(Debug, Default)]
struct Backfill {
    /// The reports of the objects converted, in order.
    reports: Vec<Value>,
    /// Each object that failed, with the reason.
    failed: Vec<String>,
    /// Objects not reached, or cut short, before the deadline.
    remaining: usize,
    /// The first of those: where the next schedule starts.
    next: Option<String>,
}

/// Converts `todo` in order with `convert` until `stop`: an object whose
/// conversion stops at the deadline, and every one after it, remain; one
/// that fails otherwise is set down and the next one tried.
fn backfill(
    todo: &[(ObjectUrl, Option<String>)],
    stop: Option<Instant>,
    convert: impl Fn(&ObjectUrl, Option<String>) -> Result<Value>,
) -> Backfill {
    let mut done = Backfill::default();
    for (i, (object, etag)) in todo.iter().enumerate() {
        match past(stop).and_then(|()| convert(object, etag.clone())) {
            Ok(report) => done.reports.push(report),
            Err(e) if matches!(e.kind(), ErrorKind::Deadline) => {
                done.remaining = todo.len() - i;
                done.next = Some(object.to_string());
                break;
            }
            Err(e) => {
                tracing::error!(input = %object, error = %e, "object failed");
                done.failed.push(format!("{object}: {e}"));
            }
        }
    }
    done
}

/// The deadline error when `stop` has passed.
fn past(stop: Option<Instant>) -> Result<()> {
    match stop {
        Some(stop) if Instant::now() >= stop => Err(Error::new(ErrorKind::Deadline)),
        _ => Ok(()),
    }
}

/// An `s3://` prefix from the setting `name`.
fn prefix(name: &str, value: &str) -> Result<ObjectUrl> {
    ObjectUrl::parse(value).ok_or_else(|| Error::spec(format!("{name} {value:?} is not an s3:// address")))?
}

/// `SLUICEGATE_DEADLINE_MARGIN_MS`: milliseconds.
fn parse_margin(ms: &str) -> Result<Duration> {
    ms.trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| Error::spec(format!("SLUICEGATE_DEADLINE_MARGIN_MS {ms:?} is not a whole number of milliseconds")))
}

/// An S3 event's object key as written: `+` is a space, then
/// percent-decoding (UTF-8).
pub fn decode_key(key: &str) -> Result<String> {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => return Err(Error::spec(format!("key {key:?} has a bad percent escape at byte {i}"))),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| Error::spec(format!("key {key:?} does not decode to UTF-8")))
}

fn response(status: u16, body: Value) -> Value {
    json!({
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "isBase64Encoded": false,
        "body": body.to_string(),
    })
}

fn report_json(report: &Report) -> Value {
    serde_json::to_value(report).unwrap_or(Value::Null)
}

/// The CloudWatch Embedded Metric Format line for one processed object.
pub fn metrics(pipeline: &str, r: &Report) -> Value {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let metric = |name: &str, unit: &str| json!({"Name": name, "Unit": unit});
    json!({
        "_aws": {
            "Timestamp": now,
            "CloudWatchMetrics": [{
                "Namespace": "sluicegate",
                "Dimensions": [["pipeline"]],
                "Metrics": [
                    metric("RowsRead", "Count"), metric("RowsWritten", "Count"), metric("RowsRejected", "Count"),
                    metric("BytesRead", "Bytes"), metric("BytesWritten", "Bytes"), metric("Duration", "Seconds"),
                    metric("PeakMemory", "Bytes"),
                ],
            }],
        },
        "pipeline": pipeline,
        "input": r.source,
        "RowsRead": r.rows_read,
        "RowsWritten": r.rows_written,
        "RowsRejected": r.rows_rejected,
        "BytesRead": r.bytes_read,
        "BytesWritten": r.bytes_written,
        "Duration": r.seconds,
        "PeakMemory": r.peak_rss_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_decode_as_s3_encodes_them() {
        assert_eq!(decode_key("in/with+space%2Bplus+%C3%BCn%C3%AF.csv").unwrap(), "in/with space+plus ünï.csv");
        assert_eq!(decode_key("plain/key.csv").unwrap(), "plain/key.csv");
        assert!(decode_key("bad%zz").is_err());
        assert!(decode_key("bad%ff").is_err());
    }

    fn handler(pipeline: &str) -> Handler {
        // Keys for the unreachable endpoint below, so that the client never
        // looks for an instance's credentials.
        static KEYS: std::sync::Once = std::sync::Once::new();
        KEYS.call_once(|| {
            std::env::set_var("AWS_ACCESS_KEY_ID", "test");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        });
        Handler {
            file: PipelineFile::parse(pipeline, "orders", std::path::Path::new("")).unwrap(),
            output: ObjectUrl::parse("s3://curated/orders/").unwrap().unwrap(),
            input: None,
            margin: None,
            stores: Stores::new(Some("http://127.0.0.1:9".into())),
            memory_mb: 256,
        }
    }

    #[test]
    fn outputs_are_named_after_their_input() {
        let h = handler("");
        let input = ObjectUrl { bucket: "raw".into(), key: "in/2024/orders.csv.gz".into() };
        assert_eq!(h.output_for(&input).to_string(), "s3://curated/orders/in/2024/orders.parquet");
        let h = handler("[output]\npartition_by = [\"country\"]\n");
        assert_eq!(h.output_for(&input).to_string(), "s3://curated/orders/");
    }

    #[test]
    fn test_events_and_removals_are_acknowledged() {
        let h = handler("");
        let test_event = json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "raw"});
        assert_eq!(h.handle(test_event, None).unwrap()["processed"], 0);
        assert_eq!(h.handle(record("ObjectRemoved:Delete", "x.csv"), None).unwrap()["processed"], 0);
        assert_eq!(h.handle(json!({"Records": []}), None).unwrap()["processed"], 0);
    }

    #[test]
    fn a_record_that_fails_fails_the_invocation_naming_it() {
        // aws_lambda_events' own example event (one ObjectCreated:Put record,
        // its key percent-encoded), against an endpoint that refuses
        // connections: the record cannot be read. One more bad record.
        let h = handler("");
        let mut two: Value = serde_json::from_str(FIXTURE_S3).unwrap();
        let bad_key = record("ObjectCreated:Put", "bad%zz")["Records"][0].clone();
        two["Records"].as_array_mut().unwrap().push(bad_key);
        let err = h.handle(two, None).unwrap_err().to_string();
        assert!(err.starts_with("2 of 2 records failed: record 0 (s3://sourcebucket/Happy Face.jpg)"), "{err}");
        assert!(
            err.contains("; record 1 (\"bad%zz\"): invalid spec: key \"bad%zz\" has a bad percent escape"),
            "{err}"
        );
    }

    #[test]
    fn a_key_the_client_cannot_address_exactly_fails_its_record_by_name() {
        // `a//b` would otherwise be read as `a/b`, another object.
        let err = handler("").handle(record("ObjectCreated:Put", "in//orders.csv"), None).unwrap_err().to_string();
        assert!(err.starts_with("1 of 1 records failed: record 0 (s3://sourcebucket/in//orders.csv)"), "{err}");
        assert!(err.contains("empty segment"), "{err}");
    }

    /// The fixture event with one record of this name and key.
    fn record(name: &str, key: &str) -> Value {
        let mut event: Value = serde_json::from_str(FIXTURE_S3).unwrap();
        let r = &mut event["Records"][0];
        r["eventName"] = json!(name);
        r["s3"]["object"]["key"] = json!(key);
        event
    }

    const FIXTURE_S3: &str = include_str!("../testdata/lambda/s3-event.json");

    #[test]
    fn oversized_and_bad_bodies_get_their_status() {
        let h = handler("");
        let big = "x".repeat(MAX_REQUEST_BYTES + 1);
        let r = h.handle(json!({"requestContext": {"requestId": "r1"}, "body": big}), None).unwrap();
        assert_eq!(r["statusCode"], 413);
        let r = h.handle(json!({"requestContext": {}, "body": "%%%", "isBase64Encoded": true}), None).unwrap();
        assert_eq!(r["statusCode"], 400);
        assert!(h.handle(json!({"detail-type": "nothing"}), None).is_err());
    }

    #[test]
    fn a_request_out_of_time_is_a_503_with_the_deadline_code() {
        // The fixture API Gateway requests (payload 1.0 and 2.0) with a CSV
        // body, arriving with their deadline already past.
        for fixture in [FIXTURE_APIGW_V1, FIXTURE_APIGW_V2] {
            let mut event: Value = serde_json::from_str(fixture).unwrap();
            event["body"] = json!("id,country\n1,FR\n");
            event["isBase64Encoded"] = json!(false);
            let r = handler("").handle(event, Some(Instant::now())).unwrap();
            assert_eq!(r["statusCode"], 503, "{r}");
            let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
            assert_eq!(body["code"], "deadline", "{body}");
            assert!(body["error"].as_str().unwrap().contains("retryable"), "{body}");
        }
    }

    const FIXTURE_APIGW_V1: &str = include_str!("../testdata/lambda/apigw-v1-request.json");
    const FIXTURE_APIGW_V2: &str = include_str!("../testdata/lambda/apigw-v2-request.json");
    const FIXTURE_SCHEDULE: &str = include_str!("../testdata/lambda/eventbridge-schedule.json");

    /// The fixture scheduled event, with this `detail`.
    fn scheduled(detail: Value) -> Value {
        let mut event: Value = serde_json::from_str(FIXTURE_SCHEDULE).unwrap();
        event["detail"] = detail;
        event
    }

    #[test]
    fn a_schedule_needs_an_input_prefix() {
        let h = handler("");
        let err = h.handle(scheduled(json!({})), None).unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid spec: a scheduled event needs an input prefix: set SLUICEGATE_INPUT or give \"input\" in the \
             event's detail"
        );
        let err = h.handle(scheduled(json!({"input": "raw/orders/"})), None).unwrap_err().to_string();
        assert_eq!(err, "invalid spec: the event's detail.input \"raw/orders/\" is not an s3:// address");
        let err = h.handle(scheduled(json!({"input": "s3:///orders/"})), None).unwrap_err().to_string();
        assert_eq!(err, "invalid spec: \"s3:///orders/\" names no bucket (expected s3://bucket/key)");
        let err = h.handle(scheduled(json!({"input": 7})), None).unwrap_err().to_string();
        assert_eq!(err, "invalid spec: the event's detail.input 7 is not a string");
    }

    #[test]
    fn a_schedule_lists_its_input_and_fails_when_it_cannot() {
        // The endpoint refuses connections. The event's input wins over the
        // configured one.
        let mut h = handler("");
        h.input = Some(ObjectUrl::parse("s3://raw/orders/").unwrap().unwrap());
        let err = h.handle(scheduled(json!({})), None).unwrap_err().to_string();
        assert!(err.starts_with("listing s3://raw/orders/: "), "{err}");
        let err = h.handle(scheduled(json!({"input": "s3://other/x/"})), None).unwrap_err().to_string();
        assert!(err.starts_with("listing s3://other/x/: "), "{err}");
    }

    fn objects(keys: &[&str]) -> Vec<(ObjectUrl, Option<String>)> {
        keys.iter().map(|k| (ObjectUrl { bucket: "raw".into(), key: k.to_string() }, None)).collect()
    }

    #[test]
    fn a_backfill_past_its_deadline_converts_nothing_and_leaves_all_remaining() {
        let todo = objects(&["a.csv", "b.csv"]);
        let done = backfill(&todo, Some(Instant::now()), |_, _| panic!("nothing is converted past the deadline"));
        assert_eq!((done.reports.len(), done.failed.len(), done.remaining), (0, 0, 2));
        assert_eq!(done.next.as_deref(), Some("s3://raw/a.csv"));
    }

    #[test]
    fn a_backfill_goes_on_past_failures_and_stops_at_the_deadline() {
        let todo = objects(&["a.csv", "bad.csv", "c.csv", "late.csv", "e.csv"]);
        let done = backfill(&todo, None, |o, _| match o.key.as_str() {
            "bad.csv" => Err(Error::spec("bad")),
            "late.csv" => Err(Error::new(ErrorKind::Deadline)),
            k => Ok(json!(k)),
        });
        assert_eq!(done.reports, [json!("a.csv"), json!("c.csv")]);
        assert_eq!(done.failed, ["s3://raw/bad.csv: invalid spec: bad"]);
        assert_eq!((done.remaining, done.next.as_deref()), (2, Some("s3://raw/late.csv")));
    }

    #[test]
    fn an_s3_record_past_the_deadline_fails_as_retryable() {
        let h = handler("");
        let err = h.handle(serde_json::from_str(FIXTURE_S3).unwrap(), Some(Instant::now())).unwrap_err().to_string();
        assert_eq!(
            err,
            "1 of 1 records failed: record 0 (s3://sourcebucket/Happy Face.jpg): stopped before the deadline: too \
             little time was left to finish; nothing was written, retryable with more time"
        );
    }

    #[test]
    fn the_margin_is_a_tenth_of_the_time_up_to_five_seconds_unless_set() {
        let mut h = handler("");
        let now = Instant::now();
        assert_eq!(h.stop(None), None);
        let left = |d: Instant, stop: Option<Instant>| d.duration_since(stop.unwrap()).as_millis();
        let d = now + Duration::from_secs(900);
        assert_eq!(left(d, h.stop(Some(d))), 5000);
        let d = now + Duration::from_secs(3);
        assert!((290..=300).contains(&left(d, h.stop(Some(d)))));
        h.margin = Some(parse_margin("60000").unwrap());
        let stop = h.stop(Some(d)).unwrap();
        assert!(stop <= Instant::now());
        assert!(parse_margin("5s").is_err());
    }

    #[test]
    fn metrics_follow_the_embedded_metric_format() {
        let r = Report {
            source: "s3://raw/a.csv".into(),
            output: String::new(),
            rows_read: 3,
            rows_written: 2,
            rows_rejected: 1,
            rejects_by_code: Default::default(),
            rejects_file: None,
            values_nulled: 0,
            rows_filtered: 0,
            rows_unrouted: 0,
            bytes_read: 10,
            bytes_written: 20,
            row_groups: 1,
            files: 1,
            seconds: 0.5,
            peak_rss_bytes: 1,
            plan: Budget::new(128).plan().unwrap(),
        };
        let m = metrics("orders", &r);
        assert_eq!(m["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0], "pipeline");
        assert_eq!(m["RowsRejected"], 1);
        assert_eq!(m["pipeline"], "orders");
    }
}
