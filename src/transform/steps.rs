//! Steps compiled against the schema they meet, and applied to a batch.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, Scalar};
use arrow_buffer::BooleanBufferBuilder;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use arrow_select::filter::FilterBuilder;

use super::expr::Expr;
use super::{Failure, Outcome};
use crate::decode::{CellError, ColumnBuilder};
use crate::error::{show_value, Error, ErrorKind, Problem, Result};
use crate::spec::{type_name, Column, Finding, OnError, Place, Placed, Sql, Step};

/// Compiled steps, ready for batches of one schema.
#[derive(Debug)]
pub struct Transforms {
    steps: Vec<Compiled>,
    output: SchemaRef,
    on_error: OnError,
}

/// One compiled step and the schema it produces.
#[derive(Debug)]
struct Compiled {
    op: Op,
    /// The schema the step meets.
    before: SchemaRef,
    /// The schema it produces.
    schema: SchemaRef,
}

#[derive(Debug)]
enum Op {
    /// Select, drop and rename: the columns to keep, in order.
    Project(Vec<usize>),
    Cast {
        column: usize,
        to: DataType,
        label: String,
    },
    Filter(Expr),
    Derive {
        expr: Expr,
        target: Option<usize>,
    },
    FillNull {
        column: usize,
        value: ArrayRef,
    },
}

impl Transforms {
    /// Compiles `steps` against `input`, each against the schema the one
    /// before it produces. Returns every mistake found.
    pub fn compile(
        steps: &[Placed],
        input: SchemaRef,
        on_error: OnError,
    ) -> std::result::Result<Transforms, Vec<Finding>> {
        let mut found = Vec::new();
        let mut compiled = Vec::new();
        let mut schema = input;
        for placed in steps {
            let before = found.len();
            for (op, next) in compile_step(placed, &schema, &mut found) {
                let before = std::mem::replace(&mut schema, Arc::clone(&next));
                compiled.push(Compiled { op, before, schema: next });
            }
            if found.len() > before {
                // Later steps would only repeat what this one got wrong.
                break;
            }
        }
        if !found.is_empty() {
            return Err(found);
        }
        Ok(Transforms { steps: compiled, output: schema, on_error })
    }

    /// The schema of the batches [`Transforms::apply`] returns.
    pub fn schema(&self) -> &SchemaRef {
        &self.output
    }

    /// Applies the steps in order.
    pub fn apply(&self, batch: RecordBatch) -> Result<Outcome> {
        let mut rows: Vec<u32> = (0..batch.num_rows() as u32).collect();
        let mut failures = Vec::new();
        let (mut filtered, mut nulled) = (0, 0);
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        for step in &self.steps {
            let mut bad: Vec<(usize, Problem)> = Vec::new();
            match &step.op {
                Op::Project(keep) => columns = keep.iter().map(|&i| Arc::clone(&columns[i])).collect(),
                Op::Cast { column, to, label } => {
                    let (array, failed) = cast(&columns[*column], to)?;
                    let name = step.schema.field(*column).name();
                    for (row, value) in failed {
                        bad.push((row, problem(label, format!("does not convert to {}", type_name(to)), name, value)));
                    }
                    columns[*column] = array;
                }
                Op::Filter(expr) => {
                    let input =
                        RecordBatch::try_new(Arc::clone(&step.before), columns.clone()).map_err(Error::encode)?;
                    let e = expr.evaluate(&input)?;
                    for f in e.failures {
                        bad.push((f.row, problem(expr.sql(), f.reason, "", f.value)));
                    }
                    let mask = e
                        .array
                        .as_any()
                        .downcast_ref::<BooleanArray>()
                        .ok_or_else(|| Error::encode(format!("filter {:?} did not give booleans", expr.sql())))?;
                    // Null is not true: the row goes, as SQL's WHERE has it.
                    let mut keep = match mask.nulls() {
                        Some(valid) => mask.values() & valid.inner(),
                        None => mask.values().clone(),
                    };
                    if self.on_error != OnError::Null && !bad.is_empty() {
                        let mut with_bad = BooleanBufferBuilder::new(keep.len());
                        with_bad.append_buffer(&keep);
                        for (row, _) in &bad {
                            with_bad.set_bit(*row, true); // leaves as a failure, below, not as filtered
                        }
                        keep = with_bad.finish();
                    }
                    let dropped = keep.len() - keep.count_set_bits();
                    filtered += dropped as u64;
                    if dropped > 0 {
                        let mask = BooleanArray::new(keep, None);
                        columns = filter_columns(&columns, &mask)?;
                        rows = filter_rows(&rows, &mask);
                        bad = renumber(bad, &mask);
                    }
                }
                Op::Derive { expr, target } => {
                    let input =
                        RecordBatch::try_new(Arc::clone(&step.before), columns.clone()).map_err(Error::encode)?;
                    let e = expr.evaluate(&input)?;
                    let name = step.schema.field(target.unwrap_or(step.schema.fields().len() - 1)).name();
                    for f in e.failures {
                        bad.push((f.row, problem(expr.sql(), f.reason, name, f.value)));
                    }
                    match target {
                        Some(i) => columns[*i] = e.array,
                        None => columns.push(e.array),
                    }
                }
                Op::FillNull { column, value } => {
                    let c = &columns[*column];
                    if c.null_count() > 0 {
                        let is_null = arrow_arith::boolean::is_null(c).map_err(Error::encode)?;
                        columns[*column] =
                            arrow_select::zip::zip(&is_null, &Scalar::new(value), c).map_err(Error::encode)?;
                    }
                }
            }
            if bad.is_empty() {
                continue;
            }
            if self.on_error == OnError::Null {
                nulled += bad.len() as u64;
                continue;
            }
            bad.sort_by_key(|(row, _)| *row);
            let mut keep = vec![true; rows.len()];
            for (row, problem) in bad {
                if keep[row] {
                    keep[row] = false;
                    failures.push(Failure { row: rows[row], problem });
                }
            }
            let mask = BooleanArray::from(keep);
            columns = filter_columns(&columns, &mask)?;
            rows = filter_rows(&rows, &mask);
        }
        failures.sort_by_key(|f| f.row);
        let batch = RecordBatch::try_new(Arc::clone(&self.output), columns).map_err(Error::encode)?;
        Ok(Outcome { batch, rows, failures, filtered, nulled })
    }
}

fn problem(expression: &str, reason: String, column: &str, value: Option<String>) -> Problem {
    Problem {
        kind: ErrorKind::Transform { expression: expression.to_string(), reason },
        column: (!column.is_empty()).then(|| column.to_string()),
        value,
    }
}

/// `bad`'s rows renumbered after the rows `mask` drops (none of them are).
fn renumber(bad: Vec<(usize, Problem)>, mask: &BooleanArray) -> Vec<(usize, Problem)> {
    if bad.is_empty() {
        return bad;
    }
    let mut new_index = Vec::with_capacity(mask.len());
    let mut n = 0;
    for i in 0..mask.len() {
        new_index.push(n);
        n += usize::from(mask.value(i));
    }
    bad.into_iter().map(|(row, p)| (new_index[row], p)).collect()
}

/// Every column filtered by one predicate, prepared once for them all.
fn filter_columns(columns: &[ArrayRef], mask: &BooleanArray) -> Result<Vec<ArrayRef>> {
    let mut builder = FilterBuilder::new(mask);
    if columns.len() > 1 {
        builder = builder.optimize();
    }
    let predicate = builder.build();
    columns.iter().map(|c| predicate.filter(c).map_err(Error::encode)).collect()
}

fn filter_rows(rows: &[u32], mask: &BooleanArray) -> Vec<u32> {
    mask.values().set_indices().map(|i| rows[i]).collect()
}

/// A converted column, and the rows (with their value) that did not convert.
type Converted = (ArrayRef, Vec<(usize, Option<String>)>);

/// Converts `array` to `to`: text by the input's parsing rules, anything
/// else by Arrow's casts. Returns the rows whose value did not convert
/// (null in the result) with the value.
fn cast(array: &ArrayRef, to: &DataType) -> Result<Converted> {
    let mut failed = Vec::new();
    if array.data_type() == to {
        return Ok((Arc::clone(array), failed));
    }
    if let Some(text) = array.as_any().downcast_ref::<arrow_array::StringArray>() {
        let (array, bad) = parse_text(text.iter().map(|s| s.map(str::as_bytes)), to, text.len())?;
        return Ok((array, bad));
    }
    let options = arrow_cast::CastOptions { safe: true, ..Default::default() };
    let out = arrow_cast::cast_with_options(array, to, &options).map_err(Error::encode)?;
    if out.null_count() > array.null_count() {
        let shown = arrow_cast::display::ArrayFormatter::try_new(array.as_ref(), &Default::default()).ok();
        for i in 0..array.len() {
            if array.is_valid(i) && out.is_null(i) {
                failed.push((i, shown.as_ref().map(|f| f.value(i).to_string())));
            }
        }
    }
    Ok((out, failed))
}

/// Parses text cells as an input field of type `to` is parsed.
fn parse_text<'a>(cells: impl Iterator<Item = Option<&'a [u8]>>, to: &DataType, rows: usize) -> Result<Converted> {
    let column = Column::new("cast", to.clone(), true);
    let mut builder = ColumnBuilder::new(&column, rows, 0);
    let mut failed = Vec::new();
    builder.append_all(
        cells,
        |_| false,
        true,
        true,
        |row, e: CellError, bytes: &[u8]| {
            failed.push((row, Some(show_value(bytes))));
            let _ = e;
            true
        },
    );
    Ok((builder.finish(), failed))
}

/// The ops a step compiles to, each with the schema after it.
fn compile_step(placed: &Placed, schema: &SchemaRef, found: &mut Vec<Finding>) -> Vec<(Op, SchemaRef)> {
    let place = placed.place;
    let mut out = Vec::new();
    let fields = schema.fields();
    let index = |name: &str, found: &mut Vec<Finding>| {
        let i = schema.index_of(name).ok();
        if i.is_none() {
            found.push(Finding::new(
                place,
                format!("{}: no column {name:?} (columns: {})", placed.step.name(), column_names(schema)),
            ));
        }
        i
    };
    match &placed.step {
        Step::Select(cols) => {
            let keep: Vec<usize> = cols.iter().filter_map(|c| index(c, found)).collect();
            if let Some(d) = cols.iter().enumerate().find(|(i, c)| cols[..*i].contains(c)) {
                found.push(Finding::new(place, format!("select: {:?} is listed twice", d.1)));
            }
            if keep.len() == cols.len() {
                let next = Schema::new(keep.iter().map(|&i| Arc::clone(&fields[i])).collect::<Vec<_>>());
                out.push((Op::Project(keep), Arc::new(next)));
            }
        }
        Step::Drop(cols) => {
            let gone: Vec<usize> = cols.iter().filter_map(|c| index(c, found)).collect();
            let keep: Vec<usize> = (0..fields.len()).filter(|i| !gone.contains(i)).collect();
            if keep.is_empty() {
                found.push(Finding::new(place, "drop: no column would be left"));
            } else if gone.len() == cols.len() {
                let next = Schema::new(keep.iter().map(|&i| Arc::clone(&fields[i])).collect::<Vec<_>>());
                out.push((Op::Project(keep), Arc::new(next)));
            }
        }
        Step::Rename(pairs) => {
            let mut next: Vec<Field> = fields.iter().map(|f| f.as_ref().clone()).collect();
            for (old, new) in pairs {
                if let Some(i) = index(old, found) {
                    next[i] = next[i].clone().with_name(new);
                }
            }
            for (i, f) in next.iter().enumerate() {
                if next[..i].iter().any(|o| o.name() == f.name()) {
                    found.push(Finding::new(place, format!("rename: two columns would be named {:?}", f.name())));
                }
            }
            let keep = (0..fields.len()).collect();
            out.push((Op::Project(keep), Arc::new(Schema::new(next))));
        }
        Step::Cast(casts) => {
            let mut current = Arc::clone(schema);
            for (name, to) in casts {
                let Some(i) = index(name, found) else { continue };
                let from = current.field(i).data_type().clone();
                let castable = matches!(from, DataType::Utf8) || arrow_cast::can_cast_types(&from, to);
                if !castable || matches!(to, DataType::List(_) | DataType::Struct(_)) {
                    found.push(Finding::new(
                        place,
                        format!("cast: {name:?} cannot change from {} to {}", type_name(&from), type_name(to)),
                    ));
                    continue;
                }
                let mut next: Vec<Field> = current.fields().iter().map(|f| f.as_ref().clone()).collect();
                next[i] = Field::new(name, to.clone(), true);
                current = Arc::new(Schema::new(next));
                let label = format!("cast {name} to {}", type_name(to));
                out.push((Op::Cast { column: i, to: to.clone(), label }, Arc::clone(&current)));
            }
        }
        Step::Filter(sql) => {
            if let Some(expr) = compile_expr(sql, schema, found) {
                if expr.data_type() == &DataType::Boolean {
                    out.push((Op::Filter(expr), Arc::clone(schema)));
                } else {
                    found.push(Finding::new(
                        sql.place,
                        format!("filter {:?} gives {}, not a boolean", sql.text, type_name(expr.data_type())),
                    ));
                }
            }
        }
        Step::Derive(derives) => {
            let mut current = Arc::clone(schema);
            for (name, sql) in derives {
                let Some(expr) = compile_expr(sql, &current, found) else { continue };
                let field = Field::new(name, expr.data_type().clone(), true);
                let mut next: Vec<Field> = current.fields().iter().map(|f| f.as_ref().clone()).collect();
                let target = current.index_of(name).ok();
                match target {
                    Some(i) => next[i] = field,
                    None => next.push(field),
                }
                current = Arc::new(Schema::new(next));
                out.push((Op::Derive { expr, target }, Arc::clone(&current)));
            }
        }
        Step::FillNull(fills) => {
            for (name, text) in fills {
                let Some(i) = index(name, found) else { continue };
                let to = fields[i].data_type();
                match parse_text(std::iter::once(Some(text.as_bytes())), to, 1) {
                    Ok((value, bad)) if bad.is_empty() => {
                        out.push((Op::FillNull { column: i, value }, Arc::clone(schema)));
                    }
                    _ => found.push(Finding::new(
                        place,
                        format!("fill_null: {text:?} is not a value of {name:?}'s type {}", type_name(to)),
                    )),
                }
            }
        }
    }
    out
}

/// Compiles one expression; a mistake is found at its place in the file.
pub(crate) fn compile_expr(sql: &Sql, schema: &Schema, found: &mut Vec<Finding>) -> Option<Expr> {
    match Expr::compile(&sql.text, schema) {
        Ok(e) => Some(e),
        Err(e) => {
            let place = sql.place.map(|p| match e.line {
                0 | 1 => Place { line: p.line, column: p.column + e.column.saturating_sub(1) },
                n => Place { line: p.line + n - 1, column: e.column },
            });
            found.push(Finding::new(place, format!("{:?}: {}", sql.text, e.message)));
            None
        }
    }
}

/// The schema's column names, for a message.
pub(crate) fn column_names(schema: &Schema) -> String {
    let names: Vec<String> = schema.fields().iter().map(|f| format!("{:?}", f.name())).collect();
    names.join(", ")
}
