//! The Lambda function: the handler built once per execution environment,
//! wired to the Lambda runtime. Each event runs on a plain thread (the
//! conversion's own threads and I/O runtime live there) with the
//! invocation's deadline, and the runtime awaits its outcome.
//!
//! Init does no more than read the environment: S3 clients are built by the
//! first event that needs them and kept. Just before polling for the first
//! event it logs `{"message":"init","init_ms":...}`: the time since `main`
//! began.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use sluicegate::lambda::Handler;

fn main() -> Result<(), Error> {
    let started = Instant::now();
    logs();
    let handler = Arc::new(Handler::from_env()?);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let init_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(init_ms = (init_ms * 1000.0).round() / 1000.0, "init");
    runtime.block_on(lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        async move {
            let deadline = deadline(event.context.deadline);
            let (tx, rx) = tokio::sync::oneshot::channel();
            std::thread::spawn(move || {
                let _ = tx.send(handler.handle(event.payload, deadline));
            });
            match rx.await {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(e)) => Err(Error::from(e.to_string())),
                Err(_) => Err(Error::from("the handler thread ended without an answer")),
            }
        }
    })))
}

/// Logs as JSON lines on stdout, one object per event with its fields at
/// the top level (`{"timestamp":...,"level":"INFO","message":"converted",
/// "rows_read":...}`), at the level `AWS_LAMBDA_LOG_LEVEL` names (Lambda's
/// logging controls), INFO when unset. The metric lines (Embedded Metric
/// Format) are written apart, as the bare objects CloudWatch reads.
fn logs() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_max_level(level)
        .init();
}

/// The invocation's deadline as an instant: the runtime API gives it in
/// milliseconds since the Unix epoch. A value that is more than a day in
/// the past is no such time: local emulators (cargo-lambda's among them)
/// give the function's timeout there, so it counts from now. None when the
/// runtime gives none.
fn deadline(ms: u64) -> Option<Instant> {
    const DAY: Duration = Duration::from_secs(24 * 3600);
    if ms == 0 {
        return None;
    }
    let now = SystemTime::now();
    let at = UNIX_EPOCH + Duration::from_millis(ms);
    let left = match at.duration_since(now) {
        Ok(left) => left,
        Err(e) if e.duration() > DAY => Duration::from_millis(ms),
        Err(_) => Duration::ZERO,
    };
    Some(Instant::now() + left)
}
