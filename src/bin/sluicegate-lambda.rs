//! The Lambda function: the handler built once per execution environment,
//! wired to the Lambda runtime. Each event runs on a plain thread (the
//! conversion's own threads and I/O runtime live there), and the runtime
//! awaits its outcome.

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use sluicegate::lambda::Handler;

fn main() -> Result<(), Error> {
    let handler = Arc::new(Handler::from_env()?);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    runtime.block_on(lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            std::thread::spawn(move || {
                let _ = tx.send(handler.handle(event.payload));
            });
            match rx.await {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(e)) => Err(Error::from(e.to_string())),
                Err(_) => Err(Error::from("the handler thread ended without an answer")),
            }
        }
    })))
}
