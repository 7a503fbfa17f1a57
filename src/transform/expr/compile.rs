//! sqlparser's syntax tree → a typed plan: names resolved, operands cast to
//! a common type, constant parts computed once.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{
    new_empty_array, Array, ArrayRef, BooleanArray, Decimal128Array, Float64Array, Int64Array, NullArray, RecordBatch,
    RecordBatchOptions, StringArray,
};
use arrow_schema::{DataType, Schema};
use sqlparser::ast::{self, BinaryOperator, CastKind, Spanned, UnaryOperator, Value};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Span, Token};

use super::functions::{self, Func};
use super::plan::{ArithOp, CmpOp, Kind, Node};
use super::types::{self, arithmetic_operands, common_type, is_integer, is_numeric, sql_name};
use super::CompileError;

type R<T> = Result<T, CompileError>;

fn error_at(span: Span, message: impl Into<String>) -> CompileError {
    let (line, column) = if span.start.line == 0 { (1, 1) } else { (span.start.line, span.start.column) };
    CompileError { message: message.into(), line, column }
}

/// sqlparser puts the position in the text: `... at Line: 1, Column: 5`;
/// where it gives none (at the end of the text) the error is placed just
/// after the text's last character.
fn parse_error(e: ParserError, sql: &str) -> CompileError {
    let text = match e {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m,
        ParserError::RecursionLimitExceeded => "the expression is nested too deeply".into(),
    };
    let last = sql.rsplit('\n').next().unwrap_or("");
    let (mut line, mut column) = (sql.matches('\n').count() as u64 + 1, last.chars().count() as u64 + 1);
    let mut message = text.clone();
    if let Some(at) = text.rfind(" at Line: ") {
        let pos = &text[at + " at Line: ".len()..];
        if let Some((l, c)) = pos.split_once(", Column: ") {
            if let (Ok(l), Ok(c)) = (l.trim().parse(), c.trim().parse()) {
                (line, column) = (l, c);
                message = text[..at].to_string();
            }
        }
    }
    CompileError { message: format!("syntax error: {message}"), line, column }
}

pub(crate) fn compile(sql: &str, schema: &Schema) -> R<Node> {
    let dialect = GenericDialect {};
    let mut parser = Parser::new(&dialect).try_with_sql(sql).map_err(|e| parse_error(e, sql))?;
    let expr = parser.parse_expr().map_err(|e| parse_error(e, sql))?;
    let next = parser.peek_token();
    if next.token != Token::EOF {
        return Err(error_at(
            next.span,
            format!("syntax error: unexpected {} after the end of the expression", next.token),
        ));
    }
    Compiler { schema }.expr(&expr)
}

/// A node for a function call (used by `functions`).
pub(crate) fn node_kind_call(func: Func, args: Vec<Node>, t: DataType, nullable: bool) -> Node {
    fold(Node::new(Kind::Call { func, args }, t, nullable))
}

fn literal(a: ArrayRef) -> Node {
    let (t, nullable) = (a.data_type().clone(), a.logical_null_count() > 0);
    Node::new(Kind::Literal(a), t, nullable)
}

/// A constant string argument, when the node is one.
pub(crate) fn literal_str(n: &Node) -> Option<String> {
    let a = n.literal()?;
    (a.data_type() == &DataType::Utf8 && a.is_valid(0)).then(|| a.as_string::<i32>().value(0).to_string())
}

/// A constant integer argument, when the node is one.
pub(crate) fn literal_int(n: &Node) -> Option<i64> {
    let a = n.literal()?;
    if !is_integer(a.data_type()) || a.is_null(0) {
        return None;
    }
    let a = arrow_cast::cast(a, &DataType::Int64).ok()?;
    Some(a.as_primitive::<Int64Type>().value(0))
}

/// Computes a node that reads no column, once: it becomes a literal. A
/// constant that fails stays a node, so it fails on each row that uses it.
fn fold(node: Node) -> Node {
    if matches!(node.kind, Kind::Literal(_)) {
        return node;
    }
    let mut columns = vec![];
    node.collect_columns(&mut columns);
    if !columns.is_empty() {
        return node;
    }
    let options = RecordBatchOptions::new().with_row_count(Some(1));
    let Ok(batch) = RecordBatch::try_new_with_options(Arc::new(Schema::empty()), vec![], &options) else { return node };
    match super::eval::evaluate(&node, &batch) {
        Ok(e) if e.failures.is_empty() && e.array.len() == 1 => literal(e.array),
        _ => node,
    }
}

/// Whether a cast can never turn a value into null.
fn lossless(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    match (from, to) {
        (Null, _) | (_, Utf8) => true,
        (f, Int64) if is_integer(f) => !matches!(f, UInt64),
        (f, Float64) if is_numeric(f) => true,
        (Float32, Float32) => true,
        (f, Decimal128(p, 0)) if is_integer(f) => *p >= 20 || (*p >= 19 && !matches!(f, UInt64)),
        _ => false,
    }
}

/// Casts `node` to `to`; `strict` casts report the values that do not
/// convert as row failures. A constant is converted now, and one that does
/// not convert is an error.
pub(crate) fn cast_to(node: Node, to: &DataType, strict: bool) -> Result<Node, String> {
    if &node.data_type == to {
        return Ok(node);
    }
    if !arrow_cast::can_cast_types(&node.data_type, to) || matches!(to, DataType::Null) {
        return Err(format!("cannot cast {} to {}", sql_name(&node.data_type), sql_name(to)));
    }
    if let Some(a) = node.literal() {
        let out = super::eval::cast(a.as_ref(), to).map_err(|e| e.to_string())?;
        if strict && out.is_null(0) && a.logical_null_count() == 0 {
            let shown = super::eval::show(a.as_ref(), 0);
            return Err(format!("{shown:?} is not a valid {}", sql_name(to)));
        }
        return Ok(literal(out));
    }
    let nullable = node.nullable || !lossless(&node.data_type, to);
    Ok(Node::new(Kind::Cast { input: Box::new(node), strict }, to.clone(), nullable))
}

struct Compiler<'a> {
    schema: &'a Schema,
}

impl Compiler<'_> {
    fn expr(&self, e: &ast::Expr) -> R<Node> {
        let span = e.span();
        let node = self.expr_inner(e, span)?;
        Ok(fold(node))
    }

    fn expr_inner(&self, e: &ast::Expr, span: Span) -> R<Node> {
        use ast::Expr as E;
        let at = |m: String| error_at(span, m);
        Ok(match e {
            E::Identifier(id) => self.column(id)?,
            E::CompoundIdentifier(parts) => {
                return Err(at(format!(
                    "qualified name {e} is not supported; name the column alone, quoted if it has a dot: \"{}\"",
                    parts.iter().map(|p| p.value.as_str()).collect::<Vec<_>>().join(".")
                )))
            }
            E::Nested(inner) => self.expr(inner)?,
            E::Value(v) => value(&v.value).map_err(at)?,
            E::TypedString(ts) => {
                let t = types::from_sql(&ts.data_type).map_err(at)?;
                let s = value(&ts.value.value).map_err(at)?;
                cast_to(s, &t, true).map_err(at)?
            }
            E::UnaryOp { op, expr } => {
                let x = self.expr(expr)?;
                match op {
                    UnaryOperator::Not => {
                        Node::new(Kind::Not(Box::new(self.boolean(x, "NOT", span)?)), DataType::Boolean, true)
                    }
                    UnaryOperator::Plus | UnaryOperator::Minus
                        if !is_numeric(&x.data_type) && x.data_type != DataType::Null =>
                    {
                        return Err(at(format!("unary {op} needs a number, got {}", sql_name(&x.data_type))))
                    }
                    UnaryOperator::Plus => x,
                    UnaryOperator::Minus => {
                        let x = if x.data_type == DataType::Null {
                            cast_to(x, &DataType::Int64, true).map_err(at)?
                        } else {
                            x
                        };
                        let t = x.data_type.clone();
                        let nullable = x.nullable || is_integer(&t);
                        Node::new(Kind::Negate(Box::new(x)), t, nullable)
                    }
                    other => return Err(at(format!("operator {other} is not supported"))),
                }
            }
            E::BinaryOp { left, op, right } => {
                let (l, r) = (self.expr(left)?, self.expr(right)?);
                self.binary(op, l, r, span)?
            }
            E::IsNull(x) | E::IsNotNull(x) => {
                let negated = matches!(e, E::IsNotNull(_));
                Node::new(Kind::IsNull { input: Box::new(self.expr(x)?), negated }, DataType::Boolean, false)
            }
            E::IsTrue(x) | E::IsNotTrue(x) | E::IsFalse(x) | E::IsNotFalse(x) => {
                let x = self.boolean(self.expr(x)?, "IS TRUE", span)?;
                let x = match e {
                    E::IsFalse(_) | E::IsNotFalse(_) => Node::new(Kind::Not(Box::new(x)), DataType::Boolean, true),
                    _ => x,
                };
                let no = literal(Arc::new(BooleanArray::from(vec![false])));
                let is = Node::new(Kind::Coalesce(vec![x, no]), DataType::Boolean, false);
                match e {
                    E::IsNotTrue(_) | E::IsNotFalse(_) => Node::new(Kind::Not(Box::new(is)), DataType::Boolean, false),
                    _ => is,
                }
            }
            E::IsDistinctFrom(a, b) | E::IsNotDistinctFrom(a, b) => {
                // Null is not distinct from null, and distinct from any value.
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                let differ = self.compare(CmpOp::NotEq, a.clone(), b.clone(), span)?;
                let null =
                    |x: Node| Node::new(Kind::IsNull { input: Box::new(x), negated: false }, DataType::Boolean, false);
                let both_null = Node::new(Kind::And(Box::new(null(a)), Box::new(null(b))), DataType::Boolean, false);
                let one_null = Node::new(Kind::Not(Box::new(both_null)), DataType::Boolean, false);
                let distinct = Node::new(Kind::Coalesce(vec![differ, one_null]), DataType::Boolean, false);
                match e {
                    E::IsNotDistinctFrom(..) => Node::new(Kind::Not(Box::new(distinct)), DataType::Boolean, false),
                    _ => distinct,
                }
            }
            E::In { expr, target: ast::InTarget::List(list), negated, .. } => {
                self.in_list(expr, list, *negated, span)?
            }
            E::Between { expr, negated, low, high } => {
                let x = self.expr(expr)?;
                let ge = self.compare(CmpOp::GtEq, x.clone(), self.expr(low)?, span)?;
                let le = self.compare(CmpOp::LtEq, x, self.expr(high)?, span)?;
                let both = Node::new(Kind::And(Box::new(ge), Box::new(le)), DataType::Boolean, true);
                if *negated {
                    Node::new(Kind::Not(Box::new(both)), DataType::Boolean, true)
                } else {
                    both
                }
            }
            E::Like { negated, any: false, expr, pattern, escape_char: None }
            | E::ILike { negated, any: false, expr, pattern, escape_char: None } => {
                let (x, p) = (self.expr(expr)?, self.expr(pattern)?);
                let op = if matches!(e, E::Like { .. }) { "LIKE" } else { "ILIKE" };
                let x = self.string(x, op, span)?;
                let p = self.string(p, op, span)?;
                let nullable = x.nullable || p.nullable;
                let case_insensitive = matches!(e, E::ILike { .. });
                let kind = Kind::Like { input: Box::new(x), pattern: Box::new(p), negated: *negated, case_insensitive };
                Node::new(kind, DataType::Boolean, nullable)
            }
            E::Case { operand, conditions, else_result, .. } => {
                self.case(operand.as_deref(), conditions, else_result.as_deref(), span)?
            }
            E::Cast { kind, expr, data_type, format: None } => {
                let t = types::from_sql(data_type).map_err(at)?;
                let strict = matches!(kind, CastKind::Cast | CastKind::DoubleColon);
                cast_to(self.expr(expr)?, &t, strict).map_err(at)?
            }
            E::Function(f) => self.function(f, span)?,
            E::Extract { field, expr, .. } => {
                let part = match field {
                    ast::DateTimeField::Custom(id) => id.value.clone(),
                    other => other.to_string(),
                };
                functions::compile_date_part(&part, self.expr(expr)?).map_err(at)?
            }
            E::Substring { expr, substring_from, substring_for, .. } => {
                let mut args = vec![self.expr(expr)?];
                args.push(match substring_from {
                    Some(f) => self.expr(f)?,
                    None => literal(Arc::new(Int64Array::from(vec![1]))),
                });
                if let Some(l) = substring_for {
                    args.push(self.expr(l)?);
                }
                functions::compile("substr", args).map_err(at)?
            }
            E::Trim { expr, trim_where, trim_what, trim_characters } => {
                let name = match trim_where {
                    Some(ast::TrimWhereField::Leading) => "ltrim",
                    Some(ast::TrimWhereField::Trailing) => "rtrim",
                    _ => "trim",
                };
                let mut args = vec![self.expr(expr)?];
                if let Some(w) = trim_what {
                    args.push(self.expr(w)?);
                }
                for c in trim_characters.iter().flatten() {
                    args.push(self.expr(c)?);
                }
                functions::compile(name, args).map_err(at)?
            }
            other => return Err(at(format!("{} is not supported in expressions", describe(other)))),
        })
    }

    fn column(&self, id: &ast::Ident) -> R<Node> {
        let fields = self.schema.fields();
        let exact = fields.iter().position(|f| f.name() == &id.value);
        let index = exact.or_else(|| {
            if id.quote_style.is_some() {
                return None;
            }
            let mut found = fields.iter().enumerate().filter(|(_, f)| f.name().eq_ignore_ascii_case(&id.value));
            match (found.next(), found.next()) {
                (Some((i, _)), None) => Some(i),
                _ => None,
            }
        });
        let Some(i) = index else {
            let names: Vec<String> = fields.iter().map(|f| format!("{:?}", f.name())).collect();
            return Err(error_at(
                id.span,
                format!("unknown column {:?}; the columns are {}", id.value, names.join(", ")),
            ));
        };
        let f = &fields[i];
        if !types::supported_column(f.data_type()) {
            return Err(error_at(
                id.span,
                format!("column {:?} has type {}, which expressions cannot read", f.name(), f.data_type()),
            ));
        }
        Ok(Node::new(Kind::Column(i), f.data_type().clone(), f.is_nullable()))
    }

    fn boolean(&self, x: Node, what: &str, span: Span) -> R<Node> {
        match x.data_type {
            DataType::Boolean => Ok(x),
            DataType::Null => cast_to(x, &DataType::Boolean, true).map_err(|m| error_at(span, m)),
            ref t => Err(error_at(span, format!("{what} needs BOOLEAN operands, got {}", sql_name(t)))),
        }
    }

    fn string(&self, x: Node, what: &str, span: Span) -> R<Node> {
        match x.data_type {
            DataType::Utf8 => Ok(x),
            DataType::Null => cast_to(x, &DataType::Utf8, true).map_err(|m| error_at(span, m)),
            ref t => Err(error_at(span, format!("{what} needs VARCHAR operands, got {}", sql_name(t)))),
        }
    }

    fn binary(&self, op: &BinaryOperator, l: Node, r: Node, span: Span) -> R<Node> {
        use BinaryOperator as B;
        let arith = |op| self.arith(op, l.clone(), r.clone(), span);
        let cmp = |op| self.compare(op, l.clone(), r.clone(), span);
        Ok(match op {
            B::Plus => arith(ArithOp::Add)?,
            B::Minus => arith(ArithOp::Sub)?,
            B::Multiply => arith(ArithOp::Mul)?,
            B::Divide => arith(ArithOp::Div)?,
            B::DuckIntegerDivide => arith(ArithOp::IntDiv)?,
            B::Modulo => arith(ArithOp::Rem)?,
            B::Eq => cmp(CmpOp::Eq)?,
            B::NotEq => cmp(CmpOp::NotEq)?,
            B::Lt => cmp(CmpOp::Lt)?,
            B::LtEq => cmp(CmpOp::LtEq)?,
            B::Gt => cmp(CmpOp::Gt)?,
            B::GtEq => cmp(CmpOp::GtEq)?,
            B::And | B::Or => {
                let name = if *op == B::And { "AND" } else { "OR" };
                let (l, r) = (self.boolean(l, name, span)?, self.boolean(r, name, span)?);
                let nullable = l.nullable || r.nullable;
                let kind = if *op == B::And {
                    Kind::And(Box::new(l), Box::new(r))
                } else {
                    Kind::Or(Box::new(l), Box::new(r))
                };
                Node::new(kind, DataType::Boolean, nullable)
            }
            B::StringConcat => {
                let at = |m| error_at(span, m);
                let (l, r) =
                    (cast_to(l, &DataType::Utf8, true).map_err(at)?, cast_to(r, &DataType::Utf8, true).map_err(at)?);
                let nullable = l.nullable || r.nullable;
                Node::new(Kind::Concat(Box::new(l), Box::new(r)), DataType::Utf8, nullable)
            }
            other => return Err(error_at(span, format!("operator {other} is not supported"))),
        })
    }

    fn arith(&self, op: ArithOp, l: Node, r: Node, span: Span) -> R<Node> {
        let mismatch = || {
            error_at(
                span,
                format!("cannot apply {} to {} and {}", op.symbol(), sql_name(&l.data_type), sql_name(&r.data_type)),
            )
        };
        let numeric_or_null = |t: &DataType| is_numeric(t) || *t == DataType::Null;
        let integer_or_null = |t: &DataType| is_integer(t) || *t == DataType::Null;
        let (lt, rt) = match op {
            ArithOp::Div if numeric_or_null(&l.data_type) && numeric_or_null(&r.data_type) => {
                (DataType::Float64, DataType::Float64)
            }
            ArithOp::IntDiv if integer_or_null(&l.data_type) && integer_or_null(&r.data_type) => {
                (DataType::Int64, DataType::Int64)
            }
            ArithOp::Div | ArithOp::IntDiv => return Err(mismatch()),
            _ => arithmetic_operands(&l.data_type, &r.data_type).ok_or_else(mismatch)?,
        };
        // arrow-arith decides the result type (decimal precision and scale);
        // asking it with empty arrays also rejects what it cannot compute.
        let kernel = match op {
            ArithOp::Add => arrow_arith::numeric::add,
            ArithOp::Sub => arrow_arith::numeric::sub,
            ArithOp::Mul => arrow_arith::numeric::mul,
            ArithOp::Div | ArithOp::IntDiv => arrow_arith::numeric::div,
            ArithOp::Rem => arrow_arith::numeric::rem,
        };
        let out = kernel(&new_empty_array(&lt), &new_empty_array(&rt))
            .map_err(|e| {
                error_at(span, format!("cannot apply {} to {} and {}: {e}", op.symbol(), sql_name(&lt), sql_name(&rt)))
            })?
            .data_type()
            .clone();
        let at = |m| error_at(span, m);
        let (l, r) = (cast_to(l, &lt, true).map_err(at)?, cast_to(r, &rt, true).map_err(at)?);
        let can_fail = !matches!(out, DataType::Float64) || matches!(op, ArithOp::Div | ArithOp::Rem);
        let nullable = l.nullable || r.nullable || can_fail;
        Ok(Node::new(Kind::Arith { op, left: Box::new(l), right: Box::new(r) }, out, nullable))
    }

    /// Two operands brought to one type: their common type, or a string
    /// constant read as the other side's type (`price > '10'`).
    fn unify(&self, l: Node, r: Node, what: &str, span: Span) -> R<(Node, Node)> {
        let t = common_type(&l.data_type, &r.data_type)
            .or_else(|| literal_str(&l).map(|_| r.data_type.clone()))
            .or_else(|| literal_str(&r).map(|_| l.data_type.clone()))
            .ok_or_else(|| {
                error_at(span, format!("cannot {what} {} and {}", sql_name(&l.data_type), sql_name(&r.data_type)))
            })?;
        let t = if t == DataType::Null { DataType::Int64 } else { t };
        let at = |m| error_at(span, m);
        Ok((cast_to(l, &t, true).map_err(at)?, cast_to(r, &t, true).map_err(at)?))
    }

    fn compare(&self, op: CmpOp, l: Node, r: Node, span: Span) -> R<Node> {
        let (l, r) = self.unify(l, r, "compare", span)?;
        let t = &l.data_type;
        if arrow_ord::cmp::eq(&new_empty_array(t), &new_empty_array(t)).is_err() {
            return Err(error_at(span, format!("values of type {} cannot be compared", sql_name(t))));
        }
        let nullable = l.nullable || r.nullable;
        Ok(Node::new(Kind::Compare { op, left: Box::new(l), right: Box::new(r) }, DataType::Boolean, nullable))
    }

    fn in_list(&self, x: &ast::Expr, list: &[ast::Expr], negated: bool, span: Span) -> R<Node> {
        let x = self.expr(x)?;
        let mut any: Option<Node> = None;
        for item in list {
            let eq = self.compare(CmpOp::Eq, x.clone(), self.expr(item)?, span)?;
            any = Some(match any {
                None => eq,
                Some(prev) => {
                    let nullable = prev.nullable || eq.nullable;
                    Node::new(Kind::Or(Box::new(prev), Box::new(eq)), DataType::Boolean, nullable)
                }
            });
        }
        let any = any.ok_or_else(|| error_at(span, "IN needs at least one value"))?;
        Ok(if negated { Node::new(Kind::Not(Box::new(any)), DataType::Boolean, true) } else { any })
    }

    /// Brings the values CASE or COALESCE chooses between to one type.
    fn one_type(&self, values: Vec<Node>, what: &str, span: Span) -> R<(Vec<Node>, DataType)> {
        let mut t = DataType::Null;
        for v in &values {
            t = common_type(&t, &v.data_type).ok_or_else(|| {
                error_at(span, format!("{what} mixes {} and {}", sql_name(&t), sql_name(&v.data_type)))
            })?;
        }
        let values = values
            .into_iter()
            .map(|v| cast_to(v, &t, true))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| error_at(span, m))?;
        Ok((values, t))
    }

    fn case(
        &self,
        operand: Option<&ast::Expr>,
        whens: &[ast::CaseWhen],
        otherwise: Option<&ast::Expr>,
        span: Span,
    ) -> R<Node> {
        let operand = operand.map(|o| self.expr(o)).transpose()?;
        let mut conditions = vec![];
        let mut results = vec![];
        for w in whens {
            let c = self.expr(&w.condition)?;
            let c = match &operand {
                Some(x) => self.compare(CmpOp::Eq, x.clone(), c, w.condition.span())?,
                None => self.boolean(c, "CASE WHEN", w.condition.span())?,
            };
            conditions.push(c);
            results.push(self.expr(&w.result)?);
        }
        results.push(match otherwise {
            Some(e) => self.expr(e)?,
            None => literal(Arc::new(NullArray::new(1))),
        });
        let (mut results, t) = self.one_type(results, "CASE", span)?;
        let otherwise = results.pop().unwrap_or_else(|| unreachable!("ELSE is always there"));
        let nullable = otherwise.nullable || results.iter().any(|r| r.nullable);
        let branches = conditions.into_iter().zip(results).collect();
        Ok(Node::new(Kind::Case { branches, otherwise: Box::new(otherwise) }, t, nullable))
    }

    fn function(&self, f: &ast::Function, span: Span) -> R<Node> {
        let name = f.name.to_string().to_ascii_lowercase();
        let at = |m: String| error_at(span, m);
        if f.filter.is_some() || f.over.is_some() || !f.within_group.is_empty() || f.null_treatment.is_some() {
            return Err(at(format!("{name}(): FILTER, OVER, WITHIN GROUP and aggregates are not supported")));
        }
        let list = match &f.args {
            ast::FunctionArguments::List(l) if l.duplicate_treatment.is_none() && l.clauses.is_empty() => &l.args[..],
            ast::FunctionArguments::None => &[],
            _ => return Err(at(format!("{name}() with this argument syntax is not supported"))),
        };
        if !matches!(f.parameters, ast::FunctionArguments::None) {
            return Err(at(format!("{name}() with parameters is not supported")));
        }
        let mut args = Vec::with_capacity(list.len());
        for a in list {
            match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => args.push(self.expr(e)?),
                other => return Err(at(format!("argument {other} of {name}() is not supported; pass plain values"))),
            }
        }
        match name.as_str() {
            "coalesce" | "ifnull" => {
                if args.is_empty() {
                    return Err(at(format!("{name}() takes at least 1 argument, got 0")));
                }
                let (args, t) = self.one_type(args, "COALESCE", span)?;
                let nullable = args.iter().all(|a| a.nullable);
                Ok(Node::new(Kind::Coalesce(args), t, nullable))
            }
            "nullif" => {
                let [a, b]: [Node; 2] = args
                    .try_into()
                    .map_err(|a: Vec<Node>| at(format!("nullif() takes 2 arguments, got {}", a.len())))?;
                let (a, b) = self.unify(a, b, "compare", span)?;
                let t = a.data_type.clone();
                Ok(Node::new(Kind::Call { func: Func::NullIf, args: vec![a, b] }, t, true))
            }
            _ => functions::compile(&name, args).map_err(at),
        }
    }
}

/// A literal value as a one-row node.
fn value(v: &Value) -> Result<Node, String> {
    let a: ArrayRef = match v {
        Value::Number(s, _) => number(s)?,
        Value::SingleQuotedString(s)
        | Value::EscapedStringLiteral(s)
        | Value::DollarQuotedString(ast::DollarQuotedString { value: s, .. }) => {
            Arc::new(StringArray::from(vec![s.as_str()]))
        }
        Value::Boolean(b) => Arc::new(BooleanArray::from(vec![*b])),
        Value::Null => Arc::new(NullArray::new(1)),
        other => return Err(format!("literal {other} is not supported")),
    };
    Ok(literal(a))
}

/// `12` is BIGINT, `1.50` DECIMAL(3,2), `1e3` DOUBLE (as DuckDB reads them,
/// except that DuckDB's integer literals are INTEGER when they fit).
fn number(s: &str) -> Result<ArrayRef, String> {
    if !s.contains(['.', 'e', 'E']) {
        if let Ok(v) = s.parse::<i64>() {
            return Ok(Arc::new(Int64Array::from(vec![v])));
        }
    }
    if !s.contains(['e', 'E']) {
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = format!("{whole}{frac}");
        let scale = frac.len();
        let precision = digits.trim_start_matches('0').len().max(scale).max(1);
        if precision <= 38 {
            if let Ok(v) = digits.parse::<i128>() {
                let a = Decimal128Array::from(vec![v]).with_precision_and_scale(precision as u8, scale as i8);
                return a.map(|a| Arc::new(a) as ArrayRef).map_err(|e| e.to_string());
            }
        }
    }
    s.parse::<f64>()
        .map(|v| Arc::new(Float64Array::from(vec![v])) as ArrayRef)
        .map_err(|_| format!("{s} is not a number"))
}

/// A short name for a construct expressions do not support.
fn describe(e: &ast::Expr) -> String {
    use ast::Expr as E;
    let name = match e {
        E::Subquery(_) | E::Exists { .. } | E::In { .. } => "a subquery",
        E::Interval(_) => "INTERVAL",
        E::Array(_) => "an array literal",
        E::Tuple(_) => "a tuple",
        E::Wildcard(_) | E::QualifiedWildcard(..) => "*",
        E::Like { .. } | E::ILike { .. } => "LIKE with ANY or ESCAPE",
        E::SimilarTo { .. } => "SIMILAR TO",
        E::AtTimeZone { .. } => "AT TIME ZONE",
        E::Cast { .. } => "CAST with FORMAT",
        _ => "",
    };
    if name.is_empty() {
        let text = e.to_string();
        let cut: String = text.chars().take(60).collect();
        format!("`{cut}`")
    } else {
        name.to_string()
    }
}
