"""SQL expressions in `derive` and `filter` steps, checked against DuckDB.

Each case derives `out = EXPR` (or filters on EXPR) from one small CSV with
nulls and edge values, and compares the Parquet column with what DuckDB's
`SELECT EXPR AS out` gives on the same input read with the same types.

Where our semantics differ on purpose the difference is asserted exactly: a
row the expression cannot compute (a division by zero, which DuckDB's `/`
makes infinite or NaN; a modulo by zero, an overflow or a CAST that does not
parse, which fail DuckDB's whole query) is rejected with code
`transform-error`. DuckDB then computes the
reference from the other rows only.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from helpers import convert, write_schema

# name, our schema type, DuckDB type
COLUMNS = [
    ("id", "int64", "BIGINT"),
    ("i", "int64", "BIGINT"),
    ("j", "int32", "INTEGER"),
    ("f", "float64", "DOUBLE"),
    ("s", "string", "VARCHAR"),
    ("d", "date32", "DATE"),
    ("ts", "timestamp[us]", "TIMESTAMP"),
    ("dec", "decimal(10,2)", "DECIMAL(10,2)"),
    ("b", "bool", "BOOLEAN"),
]

# Row 3 is null everywhere but its id; rows 4 and 5 hold the extremes.
CSV = """id,i,j,f,s,d,ts,dec,b
0,1,2,1.5," Héllo ",2024-03-15,2024-03-15 13:45:30.5,10.50,true
1,-7,3,-2.25,12,1970-01-01,1970-01-01 00:00:00,-3.33,false
2,0,0,0.0,x1y22,1969-12-31,1969-12-31 23:59:59,0.00,true
3,,,,,,,,
4,9223372036854775807,-1,1e10,"a,b",2000-02-29,2000-02-29 12:00:00,99999999.99,false
5,-9223372036854775808,7,-0.5,ABC,2023-01-01,2023-01-01 00:00:00,-0.01,true
"""

# (expression, ids of the rows it fails on)
DERIVE = [
    # arithmetic and promotion
    ("i + j", []),
    ("i - 1", [5]),
    ("i * 2", [4, 5]),
    ("j * f", []),
    ("i / j", [2]),
    ("f / 2", []),
    ("f / 0", [0, 1, 2, 4, 5]),
    ("i // 2", []),
    ("i % j", [2]),
    ("-j", []),
    ("-i", [5]),
    ("dec + i", []),
    ("dec * 2", []),
    ("dec * 1.5", []),
    ("dec - f", []),
    ("dec / 3", []),
    ("j + 0.25", []),
    # strings
    ("s || '!'", []),
    ("s || i", []),
    ("concat(s, '-', i)", []),
    ("lower(s)", []),
    ("UPPER(s)", []),
    ("trim(s)", []),
    ("ltrim(s)", []),
    ("rtrim(s)", []),
    ("length(s)", []),
    ("substr(s, 2, 3)", []),
    ("substring(s, -2)", []),
    ("substr(s, 0, 2)", []),
    ("substr(s, 3, -2)", []),
    ("substring(s, j)", []),
    ("regexp_replace(s, '[0-9]', '#')", []),
    ("regexp_replace(s, '([0-9])', '<\\1>', 'g')", []),
    ("regexp_replace(s, 'L+', '_', 'gi')", []),
    ("sha256(s)", []),
    ("s LIKE '%1%'", []),
    ("s NOT LIKE 'x_y%'", []),
    ("s ILIKE '%é%'", []),
    # comparisons and logic
    ("i > j", []),
    ("i = 0", []),
    ("f <= 0", []),
    ("dec >= 0", []),
    ("dec = 10.5", []),
    ("d > '2000-01-01'", []),
    ("ts < DATE '2000-03-01'", []),
    ("ts >= TIMESTAMP '2000-02-29 12:00:00'", []),
    ("s <> '12'", []),
    ("b AND i > 0", []),
    ("b OR i IS NULL", []),
    ("NOT b", []),
    ("i IN (1, 0, 7)", []),
    ("i NOT IN (1, NULL)", []),
    ("j BETWEEN 0 AND 3", []),
    ("j NOT BETWEEN 0 AND 3", []),
    ("i IS NULL", []),
    ("s IS NOT NULL", []),
    ("b IS TRUE", []),
    ("b IS NOT FALSE", []),
    ("j IS DISTINCT FROM 0", []),
    ("i IS NOT DISTINCT FROM j", []),
    # choices
    ("CASE WHEN i > 0 THEN 'pos' WHEN i < 0 THEN 'neg' END", []),
    ("CASE j WHEN 2 THEN f WHEN 3 THEN 1 ELSE -1 END", []),
    ("CASE WHEN j = 0 THEN -1 ELSE i / j END", []),
    ("coalesce(s, 'none')", []),
    ("COALESCE(j, i, 42)", []),
    ("nullif(j, 0)", []),
    # casts
    ("CAST(s AS INTEGER)", [0, 2, 4, 5]),
    ("TRY_CAST(s AS INTEGER)", []),
    ("CAST(f AS INTEGER)", [4]),
    ("f::BIGINT", []),
    ("CAST(i AS VARCHAR)", []),
    ("CAST(dec AS DOUBLE)", []),
    ("CAST(dec AS INTEGER)", []),
    ("CAST(j AS DECIMAL(6,2))", []),
    ("CAST(d AS TIMESTAMP)", []),
    ("CAST(ts AS DATE)", []),
    ("CAST(b AS VARCHAR)", []),
    # dates
    ("date_trunc('month', d)", []),
    ("date_trunc('year', d)", []),
    ("date_trunc('week', ts)", []),
    ("date_trunc('day', ts)", []),
    ("date_trunc('hour', ts)", []),
    ("date_trunc('quarter', ts)", []),
    ("extract(year FROM d)", []),
    ("EXTRACT(month FROM ts)", []),
    ("date_part('day', d)", []),
    ("date_part('dow', d)", []),
    ("date_part('isodow', d)", []),
    ("date_part('doy', ts)", []),
    ("date_part('week', d)", []),
    ("date_part('quarter', d)", []),
    ("date_part('hour', ts)", []),
    ("date_part('minute', ts)", []),
    ("date_part('second', ts)", []),
    ("date_part('epoch', ts)", []),
    # numbers
    ("round(f)", []),
    ("round(f, 1)", []),
    ("round(dec, 1)", []),
    ("abs(f)", []),
    ("abs(j)", []),
    ("abs(i)", [5]),
    ("abs(dec)", []),
]

FILTER = [
    ("i > 0", []),
    ("s LIKE '%1%' OR b", []),
    ("j <> 0 AND i / j < 0", []),
    ("i / j < 0", [2]),
    ("CAST(s AS INTEGER) > 5", [0, 2, 4, 5]),
    ("d BETWEEN '1970-01-01' AND '2023-12-31'", []),
    ("coalesce(b, FALSE) = FALSE", []),
]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    base = tmp_path_factory.mktemp("expr")
    src = base / "in.csv"
    src.write_text(CSV)
    schema = write_schema(base / "schema.json", {"columns": [{"name": n, "type": t} for n, t, _ in COLUMNS]})
    return base, src, schema


def reference(src: Path, sql: str, skip: list[int]) -> list:
    """DuckDB's rows for `sql` (a query over table t), from the rows not in `skip`."""
    cols = ", ".join(f"'{n}': '{t}'" for n, _, t in COLUMNS)
    con = duckdb.connect()
    not_skipped = f"WHERE id NOT IN ({', '.join(map(str, skip))})" if skip else ""
    con.execute(
        f"CREATE TABLE t AS SELECT * FROM read_csv('{src}', header = true, delim = ',', quote = '\"', "
        f"auto_detect = false, columns = {{{cols}}}) {not_skipped}"
    )
    return [r[0] for r in con.execute(sql).fetchall()]


def run(base: Path, src: Path, schema: Path, step: str, name: str):
    """Converts with one transform step; returns the table and the rejects."""
    pipeline = base / f"{name}.toml"
    pipeline.write_text(f"[[transform]]\n{step}\n")
    out = base / f"{name}.parquet"
    r = convert(src, out, schema=schema, args=["--pipeline", pipeline])
    assert r.returncode == 0, r.stderr
    rejects_file = Path(f"{out}.rejects.ndjson")
    rejects = [json.loads(line) for line in rejects_file.read_text().splitlines()] if rejects_file.exists() else []
    return pq.read_table(out), rejects


def toml_string(s: str) -> str:
    return json.dumps(s)  # a JSON string is a TOML basic string


def same(ours, theirs) -> bool:
    if ours is None or theirs is None:
        return ours is None and theirs is None
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return ours == theirs
    if isinstance(ours, (int, float, Decimal)) and isinstance(theirs, (int, float, Decimal)):
        a, b = float(ours), float(theirs)
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(ours, (date, datetime)) and isinstance(theirs, (date, datetime)):
        as_dt = lambda v: v if isinstance(v, datetime) else datetime(v.year, v.month, v.day)  # noqa: E731
        return as_dt(ours) == as_dt(theirs)
    return ours == theirs


def rejected_ids(rejects) -> list[int]:
    for r in rejects:
        assert [p["code"] for p in r["problems"]] == ["transform-error"], r
    # The record index counts data records from 0, and ids are the same.
    return sorted(r["record"] for r in rejects)


@pytest.mark.parametrize("expr,fails", DERIVE, ids=[e for e, _ in DERIVE])
def test_derive_matches_duckdb(data, expr, fails):
    base, src, schema = data
    table, rejects = run(base, src, schema, f"derive = {{ out = {toml_string(expr)} }}", f"derive{DERIVE.index((expr, fails))}")
    assert rejected_ids(rejects) == fails
    ours = table.column("out").to_pylist()
    assert table.column("id").to_pylist() == [k for k in range(6) if k not in fails]
    theirs = reference(src, f"SELECT {expr} AS out FROM t ORDER BY id", fails)
    assert len(ours) == len(theirs)
    diffs = [(k, o, t) for k, o, t in zip(table.column("id").to_pylist(), ours, theirs) if not same(o, t)]
    assert diffs == [], f"(id, ours, duckdb) for {expr}"


@pytest.mark.parametrize("expr,fails", FILTER, ids=[e for e, _ in FILTER])
def test_filter_matches_duckdb(data, expr, fails):
    base, src, schema = data
    table, rejects = run(base, src, schema, f"filter = {toml_string(expr)}", f"filter{FILTER.index((expr, fails))}")
    assert rejected_ids(rejects) == fails
    theirs = reference(src, f"SELECT id FROM t WHERE {expr} ORDER BY id", fails)
    assert table.column("id").to_pylist() == theirs


def test_division_by_zero_rejects_where_duckdb_gives_nan_or_fails(data):
    base, src, schema = data
    table, rejects = run(base, src, schema, 'derive = { out = "i / j" }', "div0")
    # DuckDB's `/` is IEEE division (0 / 0 is NaN, 1 / 0 infinity); its `%`
    # and `//` fail the query. Here the row is rejected.
    assert [math.isnan(v) for v in reference(src, "SELECT i / j FROM t WHERE id = 2", [])] == [True]
    with pytest.raises(duckdb.Error, match="Division by zero"):
        reference(src, "SELECT i % j FROM t", [])
    assert rejected_ids(rejects) == [2]
    assert 2 not in table.column("id").to_pylist()
    assert all(math.isfinite(v) for v in table.column("out").to_pylist() if v is not None)


@pytest.mark.parametrize("expr,message", [
    ("nope + 1", 'unknown column "nope"'),
    ("frobnicate(i)", "unknown function frobnicate()"),
    ("'a' + 1", "cannot apply + to VARCHAR and BIGINT"),
    ("i +", "syntax error"),
])
def test_compile_errors_stop_the_run(tmp_path, data, expr, message):
    _, src, schema = data
    pipeline = tmp_path / "p.toml"
    pipeline.write_text(f"[[transform]]\nderive = {{ out = {toml_string(expr)} }}\n")
    out = tmp_path / "out.parquet"
    r = convert(src, out, schema=schema, args=["--pipeline", pipeline])
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    assert not out.exists()
