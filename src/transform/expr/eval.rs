//! Evaluating a plan on a batch with Arrow kernels, whole arrays at a time.
//!
//! Each node gives a [`Val`] (an array of the batch's length, or a scalar
//! for constants so kernels take their scalar paths) and the rows it failed
//! on. A branch's failures count only on the rows that use the branch.

use arrow_arith::boolean::{and, and_kleene, and_not, is_not_null, is_null, not, or_kleene};
use arrow_arith::numeric;
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{
    new_null_array, Array, ArrayRef, BooleanArray, Datum, Int64Array, RecordBatch, StringArray, UInt32Array,
};
use arrow_buffer::{BooleanBuffer, BooleanBufferBuilder};
use arrow_cast::{cast_with_options, display::array_value_to_string, CastOptions};
use arrow_ord::cmp;
use arrow_schema::{ArrowError, DataType};
use arrow_select::nullif::nullif;
use arrow_select::zip::zip;
use std::sync::Arc;

use super::functions;
use super::plan::{ArithOp, CmpOp, Kind, Node};
use super::types::{is_float, is_integer, sql_name};
use super::{Evaluated, Failure};

pub(crate) type Result<T> = std::result::Result<T, ArrowError>;

/// A node's value: an array with one slot per row, or one value for all rows.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Array(ArrayRef),
    Scalar(ArrayRef),
}

impl Datum for Val {
    fn get(&self) -> (&dyn Array, bool) {
        match self {
            Val::Array(a) => (a.as_ref(), false),
            Val::Scalar(a) => (a.as_ref(), true),
        }
    }
}

impl Val {
    pub fn inner(&self) -> &ArrayRef {
        match self {
            Val::Array(a) | Val::Scalar(a) => a,
        }
    }

    pub fn is_scalar(&self) -> bool {
        matches!(self, Val::Scalar(_))
    }

    /// The value as an array of `n` rows.
    pub fn array(&self, n: usize) -> Result<ArrayRef> {
        match self {
            Val::Array(a) => Ok(a.clone()),
            Val::Scalar(a) => broadcast(a, n),
        }
    }

    /// Row `i` of the value: the scalar's only row, or row `i`.
    pub fn index(&self, i: usize) -> usize {
        if self.is_scalar() {
            0
        } else {
            i
        }
    }

    fn slice(&self, offset: usize, len: usize) -> Val {
        match self {
            Val::Array(a) => Val::Array(a.slice(offset, len)),
            Val::Scalar(_) => self.clone(),
        }
    }

    /// Applies an array function, keeping a scalar a scalar.
    pub fn map(&self, f: impl FnOnce(&dyn Array) -> Result<ArrayRef>) -> Result<Val> {
        Ok(match self {
            Val::Array(a) => Val::Array(f(a.as_ref())?),
            Val::Scalar(a) => Val::Scalar(f(a.as_ref())?),
        })
    }
}

/// A one-row array repeated `n` times.
fn broadcast(a: &ArrayRef, n: usize) -> Result<ArrayRef> {
    if a.len() == n {
        return Ok(a.clone());
    }
    arrow_select::take::take(a.as_ref(), &UInt32Array::from(vec![0u32; n]), None)
}

/// A kernel result from two operands: a scalar when both were scalars.
fn wrap(out: ArrayRef, l: &Val, r: &Val) -> Val {
    if l.is_scalar() && r.is_scalar() {
        Val::Scalar(out)
    } else {
        Val::Array(out)
    }
}

/// A boolean mask with `true` on the listed rows.
pub(crate) fn rows_mask(rows: impl IntoIterator<Item = usize>, n: usize) -> BooleanArray {
    let mut b = BooleanBufferBuilder::new(n);
    b.append_n(n, false);
    for r in rows {
        b.set_bit(r, true);
    }
    BooleanArray::new(b.finish(), None)
}

/// Row `row` of an array as text, for a failure's value.
pub(crate) fn show(a: &dyn Array, row: usize) -> String {
    let s = array_value_to_string(a, row).unwrap_or_default();
    crate::error::show_value(s.as_bytes())
}

/// True where `b` is true; null counts as false.
pub(crate) fn truthy(b: &BooleanArray) -> BooleanArray {
    match b.nulls() {
        None => b.clone(),
        Some(n) => BooleanArray::new(b.values() & n.inner(), None),
    }
}

/// Keeps the failures on rows where `keep` is true.
fn keep_where(failures: &mut Vec<Failure>, keep: &BooleanArray) {
    failures.retain(|f| keep.is_valid(f.row) && keep.value(f.row));
}

pub(crate) fn evaluate(node: &Node, batch: &RecordBatch) -> Result<Evaluated> {
    let n = batch.num_rows();
    let (val, mut failures) = Eval { batch, n }.eval(node)?;
    let mut array = val.array(n)?;
    if !failures.is_empty() {
        failures.sort_by_key(|f| f.row);
        failures.dedup_by_key(|f| f.row);
        if array.data_type() != &DataType::Null {
            array = nullif(&array, &rows_mask(failures.iter().map(|f| f.row), n))?;
        }
    }
    Ok(Evaluated { array, failures })
}

struct Eval<'a> {
    batch: &'a RecordBatch,
    n: usize,
}

type Out = (Val, Vec<Failure>);

impl Eval<'_> {
    fn eval(&self, node: &Node) -> Result<Out> {
        let n = self.n;
        Ok(match &node.kind {
            Kind::Column(i) => (Val::Array(self.batch.column(*i).clone()), vec![]),
            Kind::Literal(a) => (Val::Scalar(a.clone()), vec![]),
            Kind::Cast { input, strict } => {
                let (v, mut f) = self.eval(input)?;
                // A few casts fail the whole batch for one value (a timestamp
                // out of chrono's range); those rows become nulls.
                let to = &node.data_type;
                let (out, _) = fallible(&v, &v, n, &|l, _| cast(l.inner().as_ref(), to))?;
                let out = if v.is_scalar() { Val::Scalar(out) } else { Val::Array(out) };
                if *strict {
                    f.extend(cast_failures(&v, &out, &node.data_type, n)?);
                }
                (out, f)
            }
            Kind::Negate(input) => {
                let (v, mut f) = self.eval(input)?;
                let v = if v.is_scalar() { Val::Array(v.array(n)?) } else { v };
                let (out, bad) = fallible(&v, &v, n, &|l, _| numeric::neg(l.inner().as_ref()))?;
                f.extend(bad.into_iter().map(|row| Failure {
                    row,
                    reason: "integer overflow in unary minus".into(),
                    value: Some(show(v.inner().as_ref(), row)),
                }));
                (Val::Array(out), f)
            }
            Kind::Arith { op, left, right } => {
                let (l, mut f) = self.eval(left)?;
                let (r, rf) = self.eval(right)?;
                f.extend(rf);
                let out = self.arith(*op, l, r, &mut f)?;
                (out, f)
            }
            Kind::Compare { op, left, right } => {
                let (l, mut f) = self.eval(left)?;
                let (r, rf) = self.eval(right)?;
                f.extend(rf);
                let kernel = match op {
                    CmpOp::Eq => cmp::eq,
                    CmpOp::NotEq => cmp::neq,
                    CmpOp::Lt => cmp::lt,
                    CmpOp::LtEq => cmp::lt_eq,
                    CmpOp::Gt => cmp::gt,
                    CmpOp::GtEq => cmp::gt_eq,
                };
                (wrap(Arc::new(kernel(&l, &r)?), &l, &r), f)
            }
            Kind::And(left, right) | Kind::Or(left, right) => {
                let is_and = matches!(node.kind, Kind::And(..));
                let (l, mut f) = self.eval(left)?;
                let (r, mut rf) = self.eval(right)?;
                let la = l.array(n)?;
                let (la, ra) = (la.as_boolean(), r.array(n)?);
                let ra = ra.as_boolean();
                // The right side decides nothing on rows the left side
                // already decided, so its failures there do not count.
                let decided = if is_and { truthy(&not(la)?) } else { truthy(la) };
                rf.retain(|x| !decided.value(x.row));
                f.extend(rf);
                let out = if is_and { and_kleene(la, ra)? } else { or_kleene(la, ra)? };
                (wrap(Arc::new(out), &l, &r), f)
            }
            Kind::Not(input) => {
                let (v, f) = self.eval(input)?;
                (v.map(|a| Ok(Arc::new(not(a.as_boolean())?)))?, f)
            }
            Kind::IsNull { input, negated } => {
                let (v, f) = self.eval(input)?;
                let out = v.map(|a| Ok(Arc::new(if *negated { is_not_null(a)? } else { is_null(a)? })))?;
                (out, f)
            }
            Kind::Like { input, pattern, negated, case_insensitive } => {
                use arrow_string::like;
                let (l, mut f) = self.eval(input)?;
                let (r, rf) = self.eval(pattern)?;
                f.extend(rf);
                let out = match (negated, case_insensitive) {
                    (false, false) => like::like(&l, &r)?,
                    (true, false) => like::nlike(&l, &r)?,
                    (false, true) => like::ilike(&l, &r)?,
                    (true, true) => like::nilike(&l, &r)?,
                };
                (wrap(Arc::new(out), &l, &r), f)
            }
            Kind::Concat(left, right) => {
                let (l, mut f) = self.eval(left)?;
                let (r, rf) = self.eval(right)?;
                f.extend(rf);
                let len = if l.is_scalar() && r.is_scalar() { 1 } else { n };
                let out = arrow_string::concat_elements::concat_elements_dyn(&l.array(len)?, &r.array(len)?)?;
                (wrap(out, &l, &r), f)
            }
            Kind::Case { branches, otherwise } => self.case(branches, otherwise, &node.data_type)?,
            Kind::Coalesce(args) => self.coalesce(args)?,
            Kind::Call { func, args } => {
                let mut vals = Vec::with_capacity(args.len());
                let mut f = vec![];
                for a in args {
                    let (v, af) = self.eval(a)?;
                    vals.push(v);
                    f.extend(af);
                }
                let (out, ff) = functions::eval(func, &vals, n)?;
                f.extend(ff);
                (out, f)
            }
        })
    }

    fn arith(&self, op: ArithOp, l: Val, r: Val, failures: &mut Vec<Failure>) -> Result<Val> {
        let n = self.n;
        let l = if l.is_scalar() && r.is_scalar() { Val::Array(l.array(n)?) } else { l };
        let mut r = r;
        if matches!(op, ArithOp::Div | ArithOp::IntDiv | ArithOp::Rem) {
            // Division by zero fails the row (DuckDB gives null); a null
            // dividend gives null without failing.
            let zero = Val::Scalar(arrow_cast::cast(&Int64Array::from(vec![0]), r.inner().data_type())?);
            let is_zero = cmp::eq(&r, &zero)?;
            if is_zero.true_count() > 0 {
                let ra = r.array(n)?;
                let is_zero = truthy(&if r.is_scalar() { cmp::eq(&ra, &zero)? } else { is_zero });
                let la = l.array(n)?;
                let reason = if op == ArithOp::Rem { "modulo by zero" } else { "division by zero" };
                failures.extend(is_zero.values().set_indices().filter(|&i| la.is_valid(i)).map(|row| Failure {
                    row,
                    reason: reason.into(),
                    value: Some(format!("{} {} 0", show(la.as_ref(), row), op.symbol())),
                }));
                r = Val::Array(nullif(&ra, &is_zero)?);
            }
        }
        let kernel = match op {
            ArithOp::Add => numeric::add,
            ArithOp::Sub => numeric::sub,
            ArithOp::Mul => numeric::mul,
            ArithOp::Div | ArithOp::IntDiv => numeric::div,
            ArithOp::Rem => numeric::rem,
        };
        let (out, bad) = fallible(&l, &r, n, &|l, r| kernel(l, r))?;
        for row in bad {
            let (la, ra) = (l.inner(), r.inner());
            let value = format!("{} {} {}", show(la, l.index(row)), op.symbol(), show(ra, r.index(row)));
            failures.push(Failure { row, reason: "numeric overflow".into(), value: Some(value) });
        }
        Ok(wrap(out, &l, &r))
    }

    fn case(&self, branches: &[(Node, Node)], otherwise: &Node, t: &DataType) -> Result<Out> {
        let n = self.n;
        let mut failures = vec![];
        // Rows no earlier WHEN has taken.
        let mut remaining = BooleanArray::new(BooleanBuffer::new_set(n), None);
        let mut taken: Vec<(BooleanArray, Val)> = vec![];
        for (cond, result) in branches {
            let (c, mut cf) = self.eval(cond)?;
            keep_where(&mut cf, &remaining);
            failures.extend(cf);
            let c = truthy(c.array(n)?.as_boolean());
            let take = and(&c, &remaining)?;
            if take.true_count() > 0 {
                let (v, mut rf) = self.eval(result)?;
                keep_where(&mut rf, &take);
                failures.extend(rf);
                remaining = and_not(&remaining, &take)?;
                taken.push((take, v));
            }
            if remaining.true_count() == 0 {
                break;
            }
        }
        let mut acc = if remaining.true_count() > 0 || n == 0 {
            let (v, mut ef) = self.eval(otherwise)?;
            keep_where(&mut ef, &remaining);
            failures.extend(ef);
            v
        } else {
            Val::Scalar(new_null_array(t, 1))
        };
        for (take, v) in taken.into_iter().rev() {
            acc = Val::Array(zip(&take, &v, &acc)?);
        }
        Ok((acc, failures))
    }

    fn coalesce(&self, args: &[Node]) -> Result<Out> {
        let n = self.n;
        let (mut acc, mut failures) = self.eval(&args[0])?;
        for arg in &args[1..] {
            if acc.is_scalar() && acc.inner().logical_null_count() == 0 {
                break;
            }
            let current = acc.array(n)?;
            let missing = is_null(&current)?;
            if missing.true_count() == 0 {
                break;
            }
            let (v, mut f) = self.eval(arg)?;
            keep_where(&mut f, &missing);
            failures.extend(f);
            acc = if acc.is_scalar() { v } else { Val::Array(zip(&missing, &v, &current)?) };
        }
        Ok((acc, failures))
    }
}

/// arrow-cast with nulls for what does not convert, brought closer to
/// DuckDB's casts: numbers round when they become integers (arrow
/// truncates), floats half to even and decimals half away from zero; text
/// may have spaces around the value, and a fraction when it becomes an
/// integer (`' 2.5 '` is 3, read as a decimal).
pub(crate) fn cast(a: &dyn Array, to: &DataType) -> Result<ArrayRef> {
    let options = CastOptions { safe: true, ..Default::default() };
    let from = a.data_type();
    if (is_float(from) || matches!(from, DataType::Decimal128(..))) && is_integer(to) {
        let rounded = match from {
            DataType::Float32 | DataType::Float64 => {
                let f = arrow_cast::cast(a, &DataType::Float64)?;
                Arc::new(f.as_primitive::<Float64Type>().unary::<_, Float64Type>(f64::round_ties_even)) as ArrayRef
            }
            _ => functions::round(a, 0)?,
        };
        return cast_with_options(&rounded, to, &options);
    }
    let out = cast_with_options(a, to, &options)?;
    if from != &DataType::Utf8 || out.null_count() == a.null_count() || matches!(to, DataType::Utf8) {
        return Ok(out);
    }
    // The slow path, only for batches where some text did not convert.
    let trimmed: StringArray = a.as_string::<i32>().iter().map(|s| s.map(str::trim)).collect();
    let mut out = fill_nulls(out, cast_with_options(&trimmed, to, &options)?)?;
    if matches!(to, DataType::Timestamp(..)) && out.null_count() > a.null_count() {
        // `2024-01-01 10:00`: DuckDB takes a time without seconds, arrow does not.
        let with_seconds: StringArray =
            trimmed.iter().map(|s| s.map(|s| if s.len() == 16 { format!("{s}:00") } else { s.to_owned() })).collect();
        out = fill_nulls(out, cast_with_options(&with_seconds, to, &options)?)?;
    }
    if is_integer(to) && out.null_count() > a.null_count() {
        let as_decimal = cast_with_options(&trimmed, &DataType::Decimal128(38, 10), &options)?;
        out = fill_nulls(out, cast(&as_decimal, to)?)?;
    }
    if is_integer(to) && out.null_count() > a.null_count() {
        let as_float = cast_with_options(&trimmed, &DataType::Float64, &options)?;
        out = fill_nulls(out, cast(&as_float, to)?)?;
    }
    Ok(out)
}

/// `a`, with its nulls taken from `b`.
fn fill_nulls(a: ArrayRef, b: ArrayRef) -> Result<ArrayRef> {
    zip(&is_null(&a)?, &b, &a)
}

/// The rows where a strict cast turned a value into null.
fn cast_failures(input: &Val, output: &Val, to: &DataType, n: usize) -> Result<Vec<Failure>> {
    let (i, o) = (input.inner(), output.inner());
    if o.null_count() == i.null_count() || i.data_type() == &DataType::Null {
        return Ok(vec![]);
    }
    let failure = |row: usize, at: usize| Failure {
        row,
        reason: format!("cannot cast to {}", sql_name(to)),
        value: Some(show(i.as_ref(), at)),
    };
    if input.is_scalar() {
        return Ok((0..n).map(|row| failure(row, 0)).collect());
    }
    Ok((0..i.len()).filter(|&r| i.is_valid(r) && o.is_null(r)).map(|r| failure(r, r)).collect())
}

type Kernel<'k> = dyn Fn(&Val, &Val) -> Result<ArrayRef> + 'k;

/// Runs a kernel that fails the whole batch when one row overflows. When it
/// fails, finds the failing rows by bisection (a handful of kernel calls per
/// failing row), and runs it again with those rows null on the left.
/// `l` must be an array unless `r` is.
fn fallible(l: &Val, r: &Val, n: usize, kernel: &Kernel<'_>) -> Result<(ArrayRef, Vec<usize>)> {
    let err = match kernel(l, r) {
        Ok(a) => return Ok((a, vec![])),
        Err(e) => e,
    };
    if !matches!(
        err,
        ArrowError::ArithmeticOverflow(_)
            | ArrowError::ComputeError(_)
            | ArrowError::DivideByZero
            | ArrowError::CastError(_)
    ) {
        return Err(err);
    }
    let mut bad = vec![];
    bisect(l, r, 0, n, kernel, &mut bad);
    if bad.is_empty() {
        return Err(err);
    }
    let mask = rows_mask(bad.iter().copied(), n);
    let l = match l {
        Val::Array(a) => Val::Array(nullif(a, &mask)?),
        Val::Scalar(_) => l.clone(),
    };
    let r = match r {
        Val::Array(a) => Val::Array(nullif(a, &mask)?),
        Val::Scalar(_) => r.clone(),
    };
    Ok((kernel(&l, &r)?, bad))
}

fn bisect(l: &Val, r: &Val, offset: usize, len: usize, kernel: &Kernel<'_>, bad: &mut Vec<usize>) {
    if len == 0 || kernel(&l.slice(offset, len), &r.slice(offset, len)).is_ok() {
        return;
    }
    if len == 1 {
        bad.push(offset);
        return;
    }
    let half = len / 2;
    bisect(l, r, offset, half, kernel, bad);
    bisect(l, r, offset + half, len - half, kernel, bad);
}
