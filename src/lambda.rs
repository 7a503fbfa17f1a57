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
//!
//! Each processed object logs one JSON line, and one CloudWatch Embedded
//! Metric Format line (rows read, written and rejected, bytes, seconds,
//! peak memory, dimensioned by pipeline name).

use std::path::PathBuf;

use aws_lambda_events::event::s3::S3EventRecord;
use base64::Engine;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::sink::object::Publisher;
use crate::source::object::ObjectUrl;
use crate::spec::PipelineFile;
use crate::{Budget, Pipeline, Report, Source};

/// API Gateway's request payload limit (bytes).
pub const MAX_REQUEST_BYTES: usize = 6 * 1024 * 1024;

/// What the handler needs, read once per execution environment.
#[derive(Debug, Clone)]
pub struct Handler {
    pub file: PipelineFile,
    /// Where outputs go: a prefix (`s3://curated/orders/`).
    pub output: ObjectUrl,
    /// An S3-compatible endpoint, in place of AWS's.
    pub endpoint: Option<String>,
    pub memory_mb: u64,
}

impl Handler {
    /// From `SLUICEGATE_PIPELINE` (the pipeline file's path in the
    /// package), `SLUICEGATE_OUTPUT` (an `s3://` prefix), `AWS_ENDPOINT_URL`
    /// and `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
    pub fn from_env() -> Result<Handler> {
        let var = |name: &str| {
            std::env::var(name).map_err(|_| Error::spec(format!("the environment variable {name} is not set")))
        };
        let file = PipelineFile::from_path(&PathBuf::from(var("SLUICEGATE_PIPELINE")?))?;
        let output = var("SLUICEGATE_OUTPUT")?;
        let output = ObjectUrl::parse(&output)
            .ok_or_else(|| Error::spec(format!("SLUICEGATE_OUTPUT {output:?} is not an s3:// address")))??;
        Ok(Handler {
            file,
            output,
            endpoint: std::env::var("AWS_ENDPOINT_URL").ok(),
            memory_mb: Budget::from_env().memory_mb(),
        })
    }

    /// Handles one event of any shape this handler knows.
    pub fn handle(&self, event: Value) -> Result<Value> {
        if event.get("Records").is_some() || event.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
            return self.s3_event(&event);
        }
        if event.get("requestContext").is_some() {
            return Ok(self.api_request(&event));
        }
        Err(Error::spec(format!(
            "an event of a shape this handler does not take (keys: {})",
            event.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>().join(", ")).unwrap_or_default()
        )))
    }

    /// An S3 event notification: every record processed, then the
    /// invocation fails if any record failed.
    fn s3_event(&self, event: &Value) -> Result<Value> {
        let records = event.get("Records").and_then(Value::as_array).cloned().unwrap_or_default();
        if records.is_empty() {
            log(json!({"message": "event with no records acknowledged", "event": event.get("Event")}));
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
                log(json!({"message": "record acknowledged", "eventName": name, "bucket": bucket, "key": raw_key}));
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
            let input = ObjectUrl { bucket: bucket.to_string(), key };
            match self.convert_object(&input, etag) {
                Ok(report) => done.push(report_json(&report)),
                Err(e) => {
                    log(
                        json!({"level": "error", "message": "record failed", "input": input.to_string(), "error": e.to_string()}),
                    );
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

    /// Converts one object into its output; logs and emits its metrics.
    pub fn convert_object(&self, input: &ObjectUrl, etag: Option<String>) -> Result<Report> {
        let plan = self.plan()?;
        let source = Source::open_object_at(input, self.endpoint.as_deref(), plan.chunk_bytes, etag)?;
        let out = self.output_for(input);
        self.run(source, out, plan)
    }

    /// The plan the function's memory gives this pipeline.
    fn plan(&self) -> Result<crate::Plan> {
        Budget::new(self.memory_mb).partitioned(self.file.spec.is_partitioned()).plan()
    }

    fn run(&self, source: Source, out: ObjectUrl, plan: crate::Plan) -> Result<Report> {
        let publisher = Publisher::new(out.clone(), self.endpoint.as_deref(), self.file.spec.writes_directory())?;
        let spec = self.file.spec_for(std::path::Path::new(source.name()));
        let mut report = Pipeline::new(spec, plan).run(source, &publisher.staged_output())?;
        let rejects = report.rejects_file.as_ref().map(PathBuf::from);
        let objects = publisher.publish(rejects.as_deref())?;
        report.output = out.to_string();
        if rejects.is_some() {
            report.rejects_file = objects.last().cloned();
        }
        log(json!({"message": "converted", "report": report_json(&report)}));
        println!("{}", metrics(&self.file.name, &report));
        Ok(report)
    }

    /// An API Gateway request (HTTP API 2.0 or REST 1.0) with a CSV or
    /// NDJSON body: the response the gateway returns.
    fn api_request(&self, event: &Value) -> Value {
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
        match handler.run(Source::from_bytes(&input.key, bytes), out, plan) {
            Ok(report) => response(200, report_json(&report)),
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

/// A JSON log line.
fn log(mut line: Value) {
    if let Some(o) = line.as_object_mut() {
        o.entry("level").or_insert(json!("info"));
    }
    println!("{line}");
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
            endpoint: Some("http://127.0.0.1:9".into()),
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
        assert_eq!(h.handle(test_event).unwrap()["processed"], 0);
        assert_eq!(h.handle(record("ObjectRemoved:Delete", "x.csv")).unwrap()["processed"], 0);
        assert_eq!(h.handle(json!({"Records": []})).unwrap()["processed"], 0);
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
        let err = h.handle(two).unwrap_err().to_string();
        assert!(err.starts_with("2 of 2 records failed: record 0 (s3://sourcebucket/Happy Face.jpg)"), "{err}");
        assert!(
            err.contains("; record 1 (\"bad%zz\"): invalid spec: key \"bad%zz\" has a bad percent escape"),
            "{err}"
        );
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
        let r = h.handle(json!({"requestContext": {"requestId": "r1"}, "body": big})).unwrap();
        assert_eq!(r["statusCode"], 413);
        let r = h.handle(json!({"requestContext": {}, "body": "%%%", "isBase64Encoded": true})).unwrap();
        assert_eq!(r["statusCode"], 400);
        assert!(h.handle(json!({"detail-type": "nothing"})).is_err());
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
