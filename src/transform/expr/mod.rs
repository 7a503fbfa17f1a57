//! SQL scalar expressions, parsed by sqlparser, compiled once against a
//! schema into a typed plan, evaluated with Arrow compute kernels.
//!
//! ```
//! use arrow_array::{Int64Array, RecordBatch};
//! use arrow_schema::{DataType, Field, Schema};
//! use std::sync::Arc;
//! use sluicegate::transform::expr::Expr;
//!
//! let schema = Arc::new(Schema::new(vec![Field::new("qty", DataType::Int64, true)]));
//! let expr = Expr::compile("qty * 2 + 1", &schema).unwrap();
//! assert_eq!(expr.data_type(), &DataType::Int64);
//! let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![Some(1), None]))]).unwrap();
//! let out = expr.evaluate(&batch).unwrap();
//! assert_eq!(out.array.as_ref(), &Int64Array::from(vec![Some(3), None]));
//! ```
//!
//! Semantics follow DuckDB, with these choices:
//! - integer literals are BIGINT (`Int64`); `1.5` is a DECIMAL literal with
//!   as many digits as it is written with (as in DuckDB); `1e3` is DOUBLE;
//! - integer arithmetic is done in `Int64` (DuckDB keeps the narrower type);
//!   `/` gives DOUBLE; `//` divides integers, truncating; see `types.rs` for
//!   the full promotion rules;
//! - a row the expression cannot compute (a CAST that does not parse, a
//!   division or modulo by zero, an integer overflow) is a [`Failure`]:
//!   DuckDB's `/` gives infinity or NaN there, and its `%`, `//`, overflows
//!   and casts fail the whole query;
//! - `date_trunc` of a DATE gives a TIMESTAMP (as DuckDB's does); on a
//!   timestamp with a time zone it truncates in UTC, while `date_part`
//!   reads the fields in the column's zone (arrow-arith's rule);
//! - a failure in a CASE branch, a later COALESCE argument or the right side
//!   of AND/OR counts only on the rows that use it.
//!
//! Known differences from DuckDB: `upper`/`lower` use Unicode's full case
//! mapping (`ß` becomes `SS`); `round(x, d)` on a DECIMAL keeps its scale
//! (DuckDB's result has scale `d`; the values are the same) and on a BIGINT
//! with negative `d` goes through DOUBLE; LIKE treats `\` as an escape;
//! `//` takes integers only; there is no date or INTERVAL arithmetic.

mod compile;
mod eval;
mod functions;
mod plan;
pub(crate) mod types;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Schema};

use plan::Node;

/// A compiled expression: parsed, type-checked and resolved against one
/// schema. Cheap to clone (the plan is shared).
#[derive(Debug, Clone)]
pub struct Expr {
    sql: Arc<str>,
    plan: Arc<Node>,
    /// The types of the columns the plan reads, by schema index, checked
    /// against each batch.
    inputs: Arc<[(usize, DataType)]>,
}

/// Why an expression does not compile, and where in its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub message: String,
    /// 1-based line inside the expression text (1 when unknown).
    pub line: u64,
    /// 1-based column inside the expression text (1 when unknown).
    pub column: u64,
}

/// The result of evaluating an expression on a batch.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// One value per row of the batch; null on the rows in `failures`.
    pub array: ArrayRef,
    /// The rows the expression could not compute, sorted by row, at most
    /// one per row.
    pub failures: Vec<Failure>,
}

/// A row the expression could not compute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 0-based row in the batch.
    pub row: usize,
    /// What went wrong, as in `division by zero`.
    pub reason: String,
    /// The offending input value as text, when there is one.
    pub value: Option<String>,
}

impl Expr {
    /// Parses `sql` as one scalar expression and compiles it against
    /// `schema`: column names are resolved (exactly, else ignoring case when
    /// that is unambiguous), types are checked and operands cast to a common
    /// type, constant parts are computed once.
    pub fn compile(sql: &str, schema: &Schema) -> Result<Expr, CompileError> {
        let plan = compile::compile(sql, schema)?;
        let mut columns = Vec::new();
        plan.collect_columns(&mut columns);
        columns.sort_unstable();
        columns.dedup();
        let inputs = columns.into_iter().map(|i| (i, schema.field(i).data_type().clone())).collect();
        Ok(Expr { sql: sql.into(), plan: Arc::new(plan), inputs })
    }

    /// The text the expression was compiled from.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The type of the values [`Expr::evaluate`] returns.
    pub fn data_type(&self) -> &DataType {
        &self.plan.data_type
    }

    /// Whether the result may hold nulls; false only when it provably never
    /// does (a row failure is a null too).
    pub fn nullable(&self) -> bool {
        self.plan.nullable
    }

    /// The schema indexes of the columns the expression reads, ascending.
    pub fn columns(&self) -> Vec<usize> {
        self.inputs.iter().map(|(i, _)| *i).collect()
    }

    /// Computes the expression for every row of `batch`, which must have the
    /// schema the expression was compiled against. `array.len()` equals
    /// `batch.num_rows()`. Rows that fail are null in `array` and listed in
    /// `failures`; an `Err` means the batch does not fit the plan or a
    /// kernel failed for a reason that is no row's fault.
    pub fn evaluate(&self, batch: &RecordBatch) -> crate::Result<Evaluated> {
        for (i, t) in self.inputs.iter() {
            let found = batch.columns().get(*i).map(|c| c.data_type());
            if found != Some(t) {
                return Err(crate::Error::encode(format!(
                    "expression {:?} was compiled for column {i} of type {t}, the batch has {found:?}",
                    self.sql
                )));
            }
        }
        eval::evaluate(&self.plan, batch).map_err(|e| crate::Error::encode(format!("expression {:?}: {e}", self.sql)))
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for CompileError {}
