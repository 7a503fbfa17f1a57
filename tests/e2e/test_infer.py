"""`sluicegate infer`, then `convert` with the schema file it wrote, read back
with pyarrow and compared with the reference conversion."""

from __future__ import annotations

import csv
import gzip
import io
import json

import pyarrow.parquet as pq

import orders
from helpers import convert, read_rows, sluicegate
from reference import Dialect, arrow_type_name, expected_rows

# The benchmark's types (../shared/bench/schema.json); the data cannot tell
# uint32 from int64, so quantity may come back as int64.
BENCH_TYPES = {c["name"]: c["type"] for c in orders.schema()["columns"]}


def infer(src, *args) -> tuple[dict, str]:
    run = sluicegate("infer", src, *args)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout), run.stderr


def assert_bench_types(schema: dict):
    got = {c["name"]: c["type"] for c in schema["columns"]}
    assert list(got) == list(BENCH_TYPES)
    for name, want in BENCH_TYPES.items():
        assert got[name] == want or (want == "uint32" and got[name] == "int64"), (name, got[name], want)


def test_orders_infer_then_convert(tmp_path):
    src = tmp_path / "orders.csv"
    # About 1.7 MB: sampled in five places with a 256 KiB sample.
    src.write_text(orders.csv_text(10_000, seed=5))
    schema_path = tmp_path / "schema.json"
    run = sluicegate("infer", src, "-o", schema_path, "--sample-bytes", 256 << 10)
    assert run.returncode == 0, run.stderr
    assert "5 places" in run.stderr
    schema = json.loads(schema_path.read_text())
    assert_bench_types(schema)
    assert schema["sample"]["places"] == 5 and not schema["sample"]["whole_input"]
    out = tmp_path / "out.parquet"
    r = convert(src, out, schema=schema_path, args=schema["convert_flags"])
    assert r.returncode == 0, r.stderr
    table = pq.read_table(out)
    assert [arrow_type_name(f.type) for f in table.schema] == [c["type"] for c in schema["columns"]]
    assert read_rows(out) == expected_rows(src.read_bytes(), schema, Dialect())


def test_semicolon_crlf_no_header_gzip(tmp_path):
    rows = [["1", "2024-01-01", "12.50", "yes", "a;b"], ["2", "", "0.05", "no", 'say "hi"'],
            ["3", "2024-02-29", "", "", "two\nlines"]]
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\r\n").writerows(rows)
    src = tmp_path / "data.txt.gz"
    src.write_bytes(gzip.compress(buf.getvalue().encode()))
    schema, stderr = infer(src)
    assert [c["type"] for c in schema["columns"]] == ["int64", "date32", "decimal(12,2)", "bool", "string"]
    assert schema["csv"] == {"delimiter": ";", "quote": '"', "header": False, "line_ending": "crlf"}
    assert schema["convert_flags"] == ["--delimiter", ";", "--no-header"]
    assert "--delimiter ';' --no-header" in stderr
    schema_path = tmp_path / "schema.json"
    schema_path.write_text(json.dumps(schema))
    out = tmp_path / "out.parquet"
    r = convert(src, out, schema=schema_path, args=schema["convert_flags"])
    assert r.returncode == 0, r.stderr
    dialect = Dialect(delimiter=";", header=False)
    assert read_rows(out) == expected_rows(buf.getvalue().encode(), schema, dialect)


def test_ndjson_from_stdin(tmp_path):
    lines = [{"id": 1, "price": "1234.50", "tags": ["x"], "at": {"city": "Oslo"}},
             {"id": 2, "price": "0.99", "tags": [], "at": None, "ok": True}]
    data = "".join(json.dumps(x) + "\n" for x in lines).encode()
    run = sluicegate("infer", "-", "--format", "ndjson", stdin=data)
    assert run.returncode == 0, run.stderr
    schema = json.loads(run.stdout)
    assert [(c["name"], c["type"]) for c in schema["columns"]] == [
        ("id", "int64"), ("price", "decimal(12,2)"), ("tags", "list<string>"),
        ("at", "struct<city: string>"), ("ok", "bool")]
    assert schema["convert_flags"] == ["--format", "ndjson"]
    schema_path = tmp_path / "schema.json"
    schema_path.write_text(run.stdout)
    out = tmp_path / "out.parquet"
    r = convert("-", out, schema=schema_path, args=schema["convert_flags"], stdin=data)
    assert r.returncode == 0, r.stderr
    t = pq.read_table(out).to_pylist()
    assert t[0]["at"] == {"city": "Oslo"} and t[1]["ok"] is True and t[1]["at"] is None
