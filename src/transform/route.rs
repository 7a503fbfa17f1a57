//! Routes: each row goes to the first route whose predicate is true (or to
//! the `else` route), then through that route's own steps.

use std::sync::Arc;

use arrow_array::{Array, BooleanArray, RecordBatch, UInt32Array};
use arrow_schema::{DataType, SchemaRef};

use super::expr::Expr;
use super::steps::{compile_expr, Transforms};
use super::{Failure, Outcome};
use crate::error::{Error, ErrorKind, Problem, Result};
use crate::spec::{type_name, Finding, OnError, Route};

/// The compiled routes; without routes, one that takes every row.
#[derive(Debug)]
pub struct Router {
    routes: Vec<Compiled>,
    on_error: OnError,
}

#[derive(Debug)]
struct Compiled {
    name: String,
    when: Option<Expr>,
    steps: Transforms,
}

/// A batch sent down the routes.
#[derive(Debug)]
pub struct Routed {
    /// Per route, in route order: its rows after its steps (`rows` index
    /// the batch given to [`Router::route`]).
    pub parts: Vec<Outcome>,
    /// Rows a predicate failed on, in row order.
    pub failures: Vec<Failure>,
    /// Rows no route took.
    pub unrouted: u64,
}

impl Router {
    /// Compiles `routes` against `input` (the schema after the pipeline's
    /// own steps). No routes gives one unnamed route taking every row.
    pub fn compile(routes: &[Route], input: SchemaRef, on_error: OnError) -> std::result::Result<Router, Vec<Finding>> {
        if routes.is_empty() {
            let steps = Transforms::compile(&[], input, on_error)?;
            return Ok(Router { routes: vec![Compiled { name: String::new(), when: None, steps }], on_error });
        }
        let mut found = Vec::new();
        let mut compiled = Vec::new();
        for r in routes {
            let when = r.when.as_ref().and_then(|sql| {
                let expr = compile_expr(sql, &input, &mut found)?;
                if expr.data_type() != &DataType::Boolean {
                    found.push(Finding::new(
                        sql.place,
                        format!("route {:?}: `when` gives {}, not a boolean", r.name, type_name(expr.data_type())),
                    ));
                    return None;
                }
                Some(expr)
            });
            match Transforms::compile(&r.steps, Arc::clone(&input), on_error) {
                Ok(steps) if r.when.is_none() || when.is_some() => {
                    compiled.push(Compiled { name: r.name.clone(), when, steps })
                }
                Ok(_) => {}
                Err(f) => found.extend(f),
            }
        }
        if !found.is_empty() {
            return Err(found);
        }
        Ok(Router { routes: compiled, on_error })
    }

    /// The routes' names (one empty name when the pipeline has no routes).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.routes.iter().map(|r| r.name.as_str())
    }

    /// The schema of route `i`'s batches.
    pub fn schema(&self, i: usize) -> &SchemaRef {
        self.routes[i].steps.schema()
    }

    /// Sends each row of `batch` down the first route that takes it.
    pub fn route(&self, batch: RecordBatch) -> Result<Routed> {
        let rows = batch.num_rows();
        if let [only] = self.routes.as_slice() {
            if only.when.is_none() {
                return Ok(Routed { parts: vec![only.steps.apply(batch)?], failures: Vec::new(), unrouted: 0 });
            }
        }
        // Which route each row goes to; u32::MAX: none yet.
        let mut to = vec![u32::MAX; rows];
        let mut failures = Vec::new();
        for (r, route) in self.routes.iter().enumerate() {
            let Some(when) = &route.when else {
                to.iter_mut().filter(|t| **t == u32::MAX).for_each(|t| *t = r as u32);
                break;
            };
            let e = when.evaluate(&batch)?;
            let mask = e
                .array
                .as_any()
                .downcast_ref::<BooleanArray>()
                .ok_or_else(|| Error::encode(format!("route {:?}: `when` did not give booleans", route.name)))?;
            for f in e.failures {
                // A row an earlier route took never met this predicate.
                if to[f.row] == u32::MAX && self.on_error != OnError::Null {
                    to[f.row] = u32::MAX - 1;
                    let kind = ErrorKind::Transform { expression: when.sql().to_string(), reason: f.reason };
                    failures
                        .push(Failure { row: f.row as u32, problem: Problem { kind, column: None, value: f.value } });
                }
            }
            for (i, t) in to.iter_mut().enumerate() {
                if *t == u32::MAX && mask.is_valid(i) && mask.value(i) {
                    *t = r as u32;
                }
            }
        }
        failures.sort_by_key(|f| f.row);
        let unrouted = to.iter().filter(|t| **t == u32::MAX).count() as u64;
        let mut parts = Vec::with_capacity(self.routes.len());
        for (r, route) in self.routes.iter().enumerate() {
            let picked: Vec<u32> = (0..rows as u32).filter(|&i| to[i as usize] == r as u32).collect();
            let part = if picked.len() == rows {
                batch.clone()
            } else {
                let indices = UInt32Array::from(picked.clone());
                let columns = batch
                    .columns()
                    .iter()
                    .map(|c| arrow_select::take::take(c, &indices, None).map_err(Error::encode))
                    .collect::<Result<Vec<_>>>()?;
                RecordBatch::try_new(batch.schema(), columns).map_err(Error::encode)?
            };
            let mut outcome = route.steps.apply(part)?;
            for row in &mut outcome.rows {
                *row = picked[*row as usize];
            }
            for f in &mut outcome.failures {
                f.row = picked[f.row as usize];
            }
            parts.push(outcome);
        }
        Ok(Routed { parts, failures, unrouted })
    }
}
