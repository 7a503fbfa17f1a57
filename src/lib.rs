//! sluicegate turns large CSV and JSON (NDJSON, or one top-level array) objects
//! into Parquet, fast, inside a fixed memory budget.
//!
//! Data flows one way through the stages, each a module:
//!
//! ```text
//! source ─▶ split ─▶ [bounded queue] ─▶ workers: decode → encode ─▶ [reorder] ─▶ sink
//! ```
//!
//! - [`source`]: bytes from a memory-mapped file or a (gzip, zstd) stream;
//! - [`split`]: record-aligned chunks (CSV records, lines, array elements)
//!   with their offset and line;
//! - [`decode`]: chunk bytes to an Arrow `RecordBatch`;
//! - [`validate`]: the schema's constraints over a decoded batch, as
//!   per-row violations;
//! - [`transform`]: the pipeline file's steps and routes, compiled SQL
//!   expressions over each batch;
//! - [`encode`]: the batch to encoded Parquet column chunks, in the worker;
//! - [`sink`]: row groups appended in input order, committed by rename;
//! - [`pipeline`]: the wiring; [`budget`]: every size from one memory figure;
//!   [`report`]: what happened.
//!
//! Beside the pipeline, [`infer`] reads a sample of an input and writes the
//! schema file (and finds the CSV dialect) that `convert` needs for it.
//!
//! ```
//! use sluicegate::{Budget, Pipeline, Source, Spec};
//! use sluicegate::spec::Schema;
//!
//! let schema = Schema::from_json(r#"{"columns": [
//!     {"name": "id", "type": "int64", "nullable": false},
//!     {"name": "price", "type": "decimal(10,2)"}]}"#)?;
//! let dir = tempfile::tempdir().unwrap();
//! let out = dir.path().join("out.parquet");
//! let pipeline = Pipeline::new(Spec::new(Some(schema)), Budget::new(128).plan()?);
//! let report = pipeline.run(Source::from_bytes("inline", "id,price\n1,9.99\n2,\n"), &out)?;
//! assert_eq!(report.rows_written, 2);
//! # Ok::<(), sluicegate::Error>(())
//! ```

pub mod budget;
pub mod decode;
pub mod encode;
pub mod error;
pub mod infer;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod pipeline;
pub mod report;
pub mod sink;
pub mod source;
pub mod spec;
pub mod split;
pub mod transform;
pub mod validate;

pub use budget::{Budget, Plan};
pub use error::{Error, ErrorKind, Location, Problem, Reject, Result};
pub use pipeline::Pipeline;
pub use report::Report;
pub use source::Source;
pub use spec::Spec;
