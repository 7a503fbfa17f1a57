use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};

use super::{CompileError, Expr, Failure};

/// 2024-03-15 as days since 1970-01-01.
const MAR_15_2024: i32 = 19797;
/// 2024-03-15 13:45:30.5 as microseconds since the epoch.
const MAR_15_2024_134530: i64 = 1_710_510_330_500_000;

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("i", DataType::Int64, true),
        Field::new("j", DataType::Int32, true),
        Field::new("f", DataType::Float64, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("d", DataType::Date32, true),
        Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new("dec", DataType::Decimal128(10, 2), true),
        Field::new("b", DataType::Boolean, true),
        Field::new("Quoted Name", DataType::Utf8, false),
    ]))
}

/// Four rows; row 3 is null everywhere it can be.
fn batch() -> RecordBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![Some(1), Some(-7), Some(0), None])),
        Arc::new(Int32Array::from(vec![Some(2), Some(3), Some(0), None])),
        Arc::new(Float64Array::from(vec![Some(1.5), Some(-2.25), Some(0.0), None])),
        Arc::new(StringArray::from(vec![Some(" Héllo "), Some("12"), Some("x1y22"), None])),
        Arc::new(Date32Array::from(vec![Some(MAR_15_2024), Some(0), Some(-1), None])),
        Arc::new(TimestampMicrosecondArray::from(vec![Some(MAR_15_2024_134530), Some(0), Some(-1), None])),
        Arc::new(
            Decimal128Array::from(vec![Some(1050), Some(-333), Some(0), None]).with_precision_and_scale(10, 2).unwrap(),
        ),
        Arc::new(BooleanArray::from(vec![Some(true), Some(false), Some(true), None])),
        Arc::new(StringArray::from(vec!["a", "b", "c", "d"])),
    ];
    RecordBatch::try_new(schema(), columns).unwrap()
}

fn compile(sql: &str) -> Expr {
    Expr::compile(sql, &schema()).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn compile_err(sql: &str) -> CompileError {
    match Expr::compile(sql, &schema()) {
        Ok(e) => panic!("{sql} compiled to {:?}", e.data_type()),
        Err(e) => e,
    }
}

/// The result as text per row (None for null).
fn texts(sql: &str) -> Vec<Option<String>> {
    let e = compile(sql);
    let out = e.evaluate(&batch()).unwrap();
    assert_eq!(out.array.len(), 4);
    assert_eq!(out.array.data_type(), e.data_type(), "{sql}");
    assert!(out.failures.is_empty(), "{sql}: {:?}", out.failures);
    let s = arrow_cast::cast(&out.array, &DataType::Utf8).unwrap();
    s.as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect()
}

fn t(v: &[Option<&str>]) -> Vec<Option<String>> {
    v.iter().map(|s| s.map(str::to_string)).collect()
}

fn failures(sql: &str) -> (Vec<Option<String>>, Vec<Failure>) {
    let out = compile(sql).evaluate(&batch()).unwrap();
    let s = arrow_cast::cast(&out.array, &DataType::Utf8).unwrap();
    (s.as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect(), out.failures)
}

fn rows(f: &[Failure]) -> Vec<usize> {
    f.iter().map(|f| f.row).collect()
}

#[test]
fn compile_errors_say_what_and_where() {
    let e = compile_err("amount + 1");
    assert_eq!(
        e.message,
        r#"unknown column "amount"; the columns are "i", "j", "f", "s", "d", "ts", "dec", "b", "Quoted Name""#
    );
    assert_eq!((e.line, e.column), (1, 1));
    let e = compile_err("i +\n  nope");
    assert_eq!((e.line, e.column), (2, 3));
    assert_eq!(compile_err("frobnicate(i)").message, "unknown function frobnicate()");
    assert_eq!(compile_err("'a' + 1").message, "cannot apply + to VARCHAR and BIGINT");
    assert_eq!(compile_err("lower(i)").message, "lower() needs a VARCHAR argument, got BIGINT");
    assert_eq!(compile_err("lower(s, s)").message, "lower() takes 1 argument, got 2");
    assert_eq!(compile_err("i AND b").message, "AND needs BOOLEAN operands, got BIGINT");
    assert_eq!(compile_err("s = 1.5").message, "cannot compare VARCHAR and DECIMAL(2,1)");
    assert_eq!(compile_err("d = 'not a date'").message, r#""not a date" is not a valid DATE"#);
    assert_eq!(compile_err("(SELECT 1)").message, "a subquery is not supported in expressions");
    assert_eq!(compile_err("CASE WHEN b THEN 1 ELSE 'x' END").message, "CASE mixes BIGINT and VARCHAR");
    assert_eq!(
        compile_err("date_trunc('fortnight', d)").message.split(" (").next(),
        Some(r#"date_trunc() does not know the part "fortnight""#)
    );
}

#[test]
fn nested_columns_are_refused_by_name() {
    let item = Arc::new(Field::new("item", DataType::Int64, true));
    let schema = Schema::new(vec![Field::new("tags", DataType::List(item), true)]);
    let e = Expr::compile("tags IS NULL", &schema).unwrap_err();
    assert_eq!(e.message, r#"column "tags" has type List(Int64), which expressions cannot read"#);
}

#[test]
fn syntax_errors_have_their_position() {
    let e = compile_err("i +");
    assert!(e.message.starts_with("syntax error: Expected: an expression"), "{}", e.message);
    let e = compile_err("i + 1 )");
    assert_eq!(e.message, "syntax error: unexpected ) after the end of the expression");
    assert_eq!((e.line, e.column), (1, 7));
    // At the end of the text sqlparser gives no position: just after it.
    let e = compile_err("i +\n (2 *");
    assert_eq!((e.line, e.column), (2, 6));
    let e = compile_err("i + + * 2");
    assert_eq!((e.line, e.column), (1, 7));
    assert!(compile_err("").message.starts_with("syntax error"));
}

#[test]
fn no_panic_on_odd_input() {
    for sql in [
        "*", "a.b", "[1,2]", "INTERVAL '1 day'", "NULL IS DISTINCT FROM NULL", "NULL IS TRUE", "count(*)", "sum(i) OVER ()", "s::list",
        "CAST(s AS DECIMAL(50,2))", "'\\x'", "x'00'", "((((((((((((((((((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))))))))))))))))))))))",
        "substr(s)", "round(f, j)", "regexp_replace(s, '(', 'x')", "extract(century from d)", "i IN ()", "NOT s",
        "-s", "1 // 1.5", "d + 1", "b || NULL", "coalesce()", "nullif(i)", "round(dec, -9223372036854775808)",
        "substr(s, -9223372036854775808, -9223372036854775808)", "substr(s, 9223372036854775807, 9223372036854775807)",
        "substr(s, 0, -9223372036854775808)", "date_trunc('year', TIMESTAMP '1970-01-01' + NULL)",
    ] {
        if let Ok(e) = Expr::compile(sql, &schema()) {
            e.evaluate(&batch()).unwrap();
        }
    }
}

/// The largest and smallest values of each column.
fn extremes() -> RecordBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![i64::MIN, i64::MAX])),
        Arc::new(Int32Array::from(vec![i32::MIN, i32::MAX])),
        Arc::new(Float64Array::from(vec![f64::NEG_INFINITY, f64::NAN])),
        Arc::new(StringArray::from(vec!["", "\u{10FFFF}é"])),
        Arc::new(Date32Array::from(vec![i32::MIN, i32::MAX])),
        Arc::new(TimestampMicrosecondArray::from(vec![i64::MIN, i64::MAX])),
        Arc::new(Decimal128Array::from(vec![-9_999_999_999, 9_999_999_999]).with_precision_and_scale(10, 2).unwrap()),
        Arc::new(BooleanArray::from(vec![true, false])),
        Arc::new(StringArray::from(vec!["", ""])),
    ];
    RecordBatch::try_new(schema(), columns).unwrap()
}

#[test]
fn no_panic_on_extreme_values() {
    for sql in [
        "i + 1",
        "i - 1",
        "i * i",
        "i / 0",
        "i % -1",
        "i // -1",
        "-i",
        "abs(i)",
        "abs(j)",
        "abs(dec)",
        "dec * dec * dec",
        "dec / 0",
        "round(f, 2)",
        "round(i, -2)",
        "round(dec, 1)",
        "CAST(f AS INTEGER)",
        "CAST(i AS INTEGER)",
        "CAST(dec AS TINYINT)",
        "CAST(d AS TIMESTAMP)",
        "CAST(ts AS DATE)",
        "CAST(ts AS VARCHAR)",
        "date_trunc('year', d)",
        "date_trunc('week', ts)",
        "date_trunc('month', ts)",
        "date_trunc('second', ts)",
        "date_part('epoch', d)",
        "extract(year FROM ts)",
        "date_part('doy', d)",
        "substr(s, j, j)",
        "substr(s, i, i)",
        "length(s)",
        "upper(s)",
        "sha256(s)",
        "regexp_replace(s, '.', 'x', 'g')",
        "concat(s, i, f, d, ts, dec, b)",
        "s || f",
        "f = f",
        "CASE WHEN f > 0 THEN i * 2 ELSE i END",
        "coalesce(i * 2, j)",
        "CAST(s AS DATE)",
        "ts > '2024-01-01'",
    ] {
        let e = compile(sql);
        let out = e.evaluate(&extremes()).unwrap_or_else(|err| panic!("{sql}: {err}"));
        assert_eq!(out.array.len(), 2, "{sql}");
    }
}

#[test]
fn columns_literals_and_types() {
    let e = compile(r#""Quoted Name" || I"#);
    assert_eq!(e.columns(), vec![0, 8]);
    assert_eq!(texts(r#""Quoted Name" || I"#), t(&[Some("a1"), Some("b-7"), Some("c0"), None]));
    assert_eq!(compile("1").data_type(), &DataType::Int64);
    assert_eq!(compile("1.50").data_type(), &DataType::Decimal128(3, 2));
    assert_eq!(compile("1e3").data_type(), &DataType::Float64);
    assert!(!compile("1 + 2").nullable());
    assert!(compile("i + 2").nullable());
    assert!(!compile("s IS NULL").nullable());
    assert_eq!(texts("DATE '2024-01-31'"), t(&[Some("2024-01-31"); 4]));
    assert_eq!(texts("TIMESTAMP '2024-01-31 10:00:00'")[0].as_deref(), Some("2024-01-31T10:00:00"));
    assert_eq!(texts("NULL"), t(&[None; 4]));
    assert_eq!(texts("NULL IS NULL"), t(&[Some("true"); 4]));
    assert_eq!(
        texts("coalesce(NULL, s, NULL) IS NULL"),
        t(&[Some("false"), Some("false"), Some("false"), Some("true")])
    );
    assert_eq!(texts("-i"), t(&[Some("-1"), Some("7"), Some("0"), None]));
    assert_eq!(texts("TRUE AND b"), t(&[Some("true"), Some("false"), Some("true"), None]));
}

#[test]
fn arithmetic_promotes() {
    assert_eq!(texts("i + j"), t(&[Some("3"), Some("-4"), Some("0"), None]));
    assert_eq!(compile("i + j").data_type(), &DataType::Int64);
    assert_eq!(texts("i * f"), t(&[Some("1.5"), Some("15.75"), Some("0.0"), None]));
    assert_eq!(texts("j / 2"), t(&[Some("1.0"), Some("1.5"), Some("0.0"), None]));
    assert_eq!(texts("i // 2"), t(&[Some("0"), Some("-3"), Some("0"), None]));
    assert_eq!(texts("i % 3"), t(&[Some("1"), Some("-1"), Some("0"), None]));
    assert_eq!(compile("dec + i").data_type(), &DataType::Decimal128(22, 2));
    assert_eq!(texts("dec + i"), t(&[Some("11.50"), Some("-10.33"), Some("0.00"), None]));
    assert_eq!(texts("dec * 1.5"), t(&[Some("15.750"), Some("-4.995"), Some("0.000"), None]));
    assert_eq!(texts("dec - f"), t(&[Some("9.0"), Some("-1.08"), Some("0.0"), None]));
    assert_eq!(texts("s || '!'"), t(&[Some(" Héllo !"), Some("12!"), Some("x1y22!"), None]));
}

#[test]
fn comparisons_and_logic() {
    assert_eq!(texts("i > j"), t(&[Some("false"), Some("false"), Some("false"), None]));
    assert_eq!(texts("i <> 0"), t(&[Some("true"), Some("true"), Some("false"), None]));
    assert_eq!(texts("f >= 0"), t(&[Some("true"), Some("false"), Some("true"), None]));
    assert_eq!(texts("dec = 10.5"), t(&[Some("true"), Some("false"), Some("false"), None]));
    assert_eq!(texts("s = '12'"), t(&[Some("false"), Some("true"), Some("false"), None]));
    assert_eq!(texts("d > '2000-01-01'"), t(&[Some("true"), Some("false"), Some("false"), None]));
    assert_eq!(texts("ts > d"), t(&[Some("true"), Some("false"), Some("true"), None]));
    // Three-valued logic: NULL AND FALSE is FALSE, NULL OR TRUE is TRUE.
    assert_eq!(texts("b AND i > 0"), t(&[Some("true"), Some("false"), Some("false"), None]));
    assert_eq!(texts("b OR i IS NULL"), t(&[Some("true"), Some("false"), Some("true"), Some("true")]));
    assert_eq!(texts("(i > 0) AND NULL"), t(&[None, Some("false"), Some("false"), None]));
    assert_eq!(texts("NOT b"), t(&[Some("false"), Some("true"), Some("false"), None]));
    assert_eq!(texts("i IN (1, 0)"), t(&[Some("true"), Some("false"), Some("true"), None]));
    assert_eq!(texts("i NOT IN (1, NULL)"), t(&[Some("false"), None, None, None]));
    assert_eq!(texts("i BETWEEN -7 AND 0"), t(&[Some("false"), Some("true"), Some("true"), None]));
    assert_eq!(texts("i NOT BETWEEN -7 AND 0"), t(&[Some("true"), Some("false"), Some("false"), None]));
    assert_eq!(texts("s LIKE '%1%'"), t(&[Some("false"), Some("true"), Some("true"), None]));
    assert_eq!(texts("s NOT LIKE 'x_y%'"), t(&[Some("true"), Some("true"), Some("false"), None]));
    assert_eq!(texts("s ILIKE '%HÉ%'"), t(&[Some("true"), Some("false"), Some("false"), None]));
    assert_eq!(texts("s IS NOT NULL"), t(&[Some("true"), Some("true"), Some("true"), Some("false")]));
    assert_eq!(texts("b IS TRUE"), t(&[Some("true"), Some("false"), Some("true"), Some("false")]));
    assert_eq!(texts("b IS NOT FALSE"), t(&[Some("true"), Some("false"), Some("true"), Some("true")]));
    assert_eq!(texts("j IS DISTINCT FROM 0"), t(&[Some("true"), Some("true"), Some("false"), Some("true")]));
    assert_eq!(texts("i IS NOT DISTINCT FROM j"), t(&[Some("false"), Some("false"), Some("true"), Some("true")]));
}

#[test]
fn case_coalesce_cast() {
    assert_eq!(
        texts("CASE WHEN i > 0 THEN 'pos' WHEN i < 0 THEN 'neg' END"),
        t(&[Some("pos"), Some("neg"), None, None])
    );
    assert_eq!(
        texts("CASE j WHEN 2 THEN f WHEN 3 THEN 1 ELSE -1 END"),
        t(&[Some("1.5"), Some("1.0"), Some("-1.0"), Some("-1.0")])
    );
    assert_eq!(texts("coalesce(i, j, 42)"), t(&[Some("1"), Some("-7"), Some("0"), Some("42")]));
    assert_eq!(texts("nullif(i, 0)"), t(&[Some("1"), Some("-7"), None, None]));
    assert_eq!(texts("CAST(i AS VARCHAR)"), t(&[Some("1"), Some("-7"), Some("0"), None]));
    // Floats round half to even, as DuckDB's casts do.
    assert_eq!(texts("f::INTEGER"), t(&[Some("2"), Some("-2"), Some("0"), None]));
    assert_eq!(texts("CAST(f * 3 AS INTEGER)"), t(&[Some("4"), Some("-7"), Some("0"), None]));
    assert_eq!(texts("CAST(f AS DECIMAL(5,1))"), t(&[Some("1.5"), Some("-2.3"), Some("0.0"), None]));
    assert_eq!(texts("TRY_CAST(s AS INT)"), t(&[None, Some("12"), None, None]));
    assert_eq!(texts("CAST('2024-02-03' AS DATE)"), t(&[Some("2024-02-03"); 4]));
    // As DuckDB: spaces around a number, and a fraction rounded for an integer.
    assert_eq!(texts("CAST(' 12 ' AS INTEGER) + CAST('2.5' AS INTEGER) + CAST(-2.5 AS INT)"), t(&[Some("12"); 4]));
    assert_eq!(texts("CAST('0.5e1' AS INTEGER)"), t(&[Some("5"); 4]));
    assert_eq!(texts("CAST('2024-01-01 10:00' AS TIMESTAMP)")[0].as_deref(), Some("2024-01-01T10:00:00"));
    assert_eq!(texts("CAST(dec AS BIGINT)"), t(&[Some("11"), Some("-3"), Some("0"), None]));
}

#[test]
fn string_functions() {
    assert_eq!(texts("UPPER(s)"), t(&[Some(" HÉLLO "), Some("12"), Some("X1Y22"), None]));
    assert_eq!(texts("lower(s)"), t(&[Some(" héllo "), Some("12"), Some("x1y22"), None]));
    assert_eq!(texts("trim(s)"), t(&[Some("Héllo"), Some("12"), Some("x1y22"), None]));
    assert_eq!(texts("ltrim(s)"), t(&[Some("Héllo "), Some("12"), Some("x1y22"), None]));
    assert_eq!(texts("rtrim(s, ' o')"), t(&[Some(" Héll"), Some("12"), Some("x1y22"), None]));
    assert_eq!(texts("length(s)"), t(&[Some("7"), Some("2"), Some("5"), None]));
    assert_eq!(texts("substr(s, 2, 3)"), t(&[Some("Hél"), Some("2"), Some("1y2"), None]));
    assert_eq!(texts("substring(s, -2)"), t(&[Some("o "), Some("12"), Some("22"), None]));
    assert_eq!(texts("substring(s FROM 0 FOR 2)"), t(&[Some(" "), Some("1"), Some("x"), None]));
    assert_eq!(texts("substr(s, 3, -2)"), t(&[Some(" H"), Some("12"), Some("x1"), None]));
    assert_eq!(texts("concat(s, '-', i)"), t(&[Some(" Héllo -1"), Some("12--7"), Some("x1y22-0"), Some("-")]));
    assert_eq!(texts("regexp_replace(s, '[0-9]', '#')"), t(&[Some(" Héllo "), Some("#2"), Some("x#y22"), None]));
    assert_eq!(
        texts("regexp_replace(s, '([0-9])', '<\\1>', 'g')"),
        t(&[Some(" Héllo "), Some("<1><2>"), Some("x<1>y<2><2>"), None])
    );
    assert_eq!(texts("regexp_replace(s, 'L+', '$', 'gi')"), t(&[Some(" Hé$o "), Some("12"), Some("x1y22"), None]));
    assert_eq!(
        texts("sha256(\"Quoted Name\")")[0].as_deref(),
        Some("ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb")
    );
}

#[test]
fn date_and_number_functions() {
    let midnight = |d: &str| Some(format!("{d}T00:00:00"));
    assert_eq!(
        texts("date_trunc('month', d)"),
        vec![midnight("2024-03-01"), midnight("1970-01-01"), midnight("1969-12-01"), None]
    );
    assert_eq!(compile("date_trunc('month', d)").data_type(), &DataType::Timestamp(TimeUnit::Microsecond, None));
    assert_eq!(
        texts("date_trunc('week', d)"),
        vec![midnight("2024-03-11"), midnight("1969-12-29"), midnight("1969-12-29"), None]
    );
    assert_eq!(texts("date_trunc('hour', ts)")[0].as_deref(), Some("2024-03-15T13:00:00"));
    assert_eq!(texts("date_trunc('year', ts)")[2].as_deref(), Some("1969-01-01T00:00:00"));
    assert_eq!(texts("date_trunc('quarter', ts)")[0].as_deref(), Some("2024-01-01T00:00:00"));
    assert_eq!(texts("extract(year FROM d)"), t(&[Some("2024"), Some("1970"), Some("1969"), None]));
    assert_eq!(texts("date_part('dow', d)"), t(&[Some("5"), Some("4"), Some("3"), None]));
    assert_eq!(texts("date_part('doy', d)"), t(&[Some("75"), Some("1"), Some("365"), None]));
    assert_eq!(texts("EXTRACT(second FROM ts)")[0].as_deref(), Some("30"));
    assert_eq!(texts("date_part('epoch', ts)")[0].as_deref(), Some("1710510330.5"));
    assert_eq!(texts("round(f)"), t(&[Some("2.0"), Some("-2.0"), Some("0.0"), None]));
    assert_eq!(texts("round(f, 1)"), t(&[Some("1.5"), Some("-2.3"), Some("0.0"), None]));
    assert_eq!(texts("round(dec, 1)"), t(&[Some("10.50"), Some("-3.30"), Some("0.00"), None]));
    assert_eq!(texts("abs(i)"), t(&[Some("1"), Some("7"), Some("0"), None]));
    assert_eq!(texts("ABS(f)"), t(&[Some("1.5"), Some("2.25"), Some("0.0"), None]));
}

#[test]
fn rows_that_fail() {
    let (v, f) = failures("CAST(s AS INTEGER)");
    assert_eq!(v, t(&[None, Some("12"), None, None]));
    assert_eq!(
        f,
        vec![
            Failure { row: 0, reason: "cannot cast to INTEGER".into(), value: Some(" Héllo ".into()) },
            Failure { row: 2, reason: "cannot cast to INTEGER".into(), value: Some("x1y22".into()) },
        ]
    );
    let (v, f) = failures("i / j");
    assert_eq!(v, t(&[Some("0.5"), Some("-2.3333333333333335"), None, None]));
    assert_eq!(f, vec![Failure { row: 2, reason: "division by zero".into(), value: Some("0.0 / 0".into()) }]);
    assert_eq!(rows(&failures("i % 0").1), vec![0, 1, 2]);
    assert_eq!(rows(&failures("f / 0").1), vec![0, 1, 2]);
    let (v, f) = failures("i * 9223372036854775807");
    assert_eq!(v, t(&[Some("9223372036854775807"), None, Some("0"), None]));
    assert_eq!(rows(&f), vec![1]);
    assert_eq!(f[0].reason, "numeric overflow");
    let (_, f) = failures("abs(i - 9223372036854775807 - 2)");
    assert_eq!(rows(&f), vec![0, 1, 2]);
    assert_eq!(f[0].reason, "numeric overflow in abs()");
    assert_eq!(f[1].value.as_deref(), Some("-7 - 9223372036854775807"));
    // A failed row is null even when an outer expression would hide it.
    let (v, f) = failures("coalesce(CAST(s AS INT), 0)");
    assert_eq!(v, t(&[None, Some("12"), None, Some("0")]));
    assert_eq!(rows(&f), vec![0, 2]);
}

#[test]
fn branches_not_taken_do_not_fail() {
    let (v, f) = failures("CASE WHEN j = 0 THEN -1 ELSE i / j END");
    assert_eq!(v, t(&[Some("0.5"), Some("-2.3333333333333335"), Some("-1.0"), None]));
    assert!(f.is_empty());
    let (_, f) = failures("CASE WHEN s = '12' THEN CAST(s AS INT) ELSE 0 END");
    assert!(f.is_empty());
    let (_, f) = failures("coalesce(TRY_CAST(s AS INT), CAST(s AS INT))");
    assert_eq!(rows(&f), vec![0, 2]);
    let (_, f) = failures("coalesce(i, CAST(s AS INT))");
    assert!(f.is_empty());
    let (v, f) = failures("j <> 0 AND i / j > 0");
    assert_eq!(v, t(&[Some("true"), Some("false"), Some("false"), None]));
    assert!(f.is_empty());
    let (_, f) = failures("j = 0 OR i % j = 1");
    assert!(f.is_empty());
}

#[test]
fn wrong_batch_is_an_error() {
    let other = Arc::new(Schema::new(vec![Field::new("i", DataType::Utf8, true)]));
    let b = RecordBatch::try_new(other, vec![Arc::new(StringArray::from(vec!["1"]))]).unwrap();
    assert!(compile("i + 1").evaluate(&b).is_err());
}

#[test]
fn empty_batch() {
    let b = batch().slice(0, 0);
    for sql in ["i + 1", "CASE WHEN b THEN s END", "concat(s, 'x')", "1", "coalesce(i, 2)"] {
        let out = compile(sql).evaluate(&b).unwrap();
        assert_eq!(out.array.len(), 0, "{sql}");
    }
}

#[test]
fn expr_is_send_sync() {
    fn check<T: Send + Sync + Clone>() {}
    check::<Expr>();
}
