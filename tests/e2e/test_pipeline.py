"""Pipeline files, transforms, routes and partitioned output, through the
binary: `check` places every problem in the file; the orders pipeline's
output (every route and partition) equals DuckDB running the same SQL on the
same input; partitioned output reads back as a Hive dataset in pyarrow and
DuckDB with every row once; 10,000 partitions of a 200 MB input stay under
`--memory 256`."""

from __future__ import annotations

import json
import random
import re

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import orders
from helpers import BIN, REPO, sluicegate, write_schema
from test_memory import run_measured

PIPELINE = REPO / "testdata" / "orders.pipeline.toml"
SCHEMA = REPO / "testdata" / "orders_sample.schema.json"


def duckdb_columns(schema: dict) -> str:
    """The schema as DuckDB's read_csv `columns` struct."""
    types = {"int64": "BIGINT", "uint32": "UINTEGER", "float64": "DOUBLE", "string": "VARCHAR",
             "date32": "DATE", "bool": "BOOLEAN"}
    out = []
    for c in schema["columns"]:
        t = c["type"]
        if t.startswith("timestamp"):
            t = "TIMESTAMPTZ" if "tz=" in t else "TIMESTAMP"
        elif t.startswith("decimal"):
            t = t.upper()
        else:
            t = types[t]
        out.append(f"'{c['name']}': '{t}'")
    return "{" + ", ".join(out) + "}"


def test_check_accepts_the_example_pipeline():
    r = sluicegate("check", "--pipeline", PIPELINE)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith(f"ok: {PIPELINE} (orders)")
    assert "route large: event_id int64" in r.stdout and "partitioned by country" in r.stdout


def test_check_places_every_problem(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text(
        f'[input]\nschema = "{SCHEMA}"\n'
        '[[transform]]\nfilter = "amount >"\n'
        '[[route]]\nname = "x"\nwhen = "amount > 1"\n[[route.transform]]\nselect = ["nope"]\n'
        '[output]\ncompresion = "zstd"\n'
    )
    r = sluicegate("check", "--pipeline", p)
    assert r.returncode == 1
    # A key the format does not know stops parsing: that one problem, placed.
    assert re.match(rf"{re.escape(str(p))}:11:1: .*compresion", r.stdout), r.stdout
    p.write_text(p.read_text().replace("compresion", "compression"))
    r = sluicegate("check", "--pipeline", p)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"{p}:4:11: \"amount >\""), r.stdout
    assert lines[1].startswith(f"{p}:8:1: select: no column \"nope\""), r.stdout
    assert lines[-1] == f"{p}: 2 problems"


def test_convert_reports_pipeline_problems_before_reading(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('[input]\nformat = "xml"\n')
    r = sluicegate("convert", "/nonexistent.csv", "--pipeline", p, "-o", tmp_path / "out")
    assert r.returncode == 1
    assert f"{p}:2:10: unknown format" in r.stderr


@pytest.fixture(scope="module")
def orders_csv(tmp_path_factory):
    d = tmp_path_factory.mktemp("orders")
    path = d / "orders.csv"
    path.write_text(orders.csv_text(3000, seed=5))
    return path


def test_the_orders_pipeline_equals_duckdb(orders_csv, tmp_path):
    out = tmp_path / "curated"
    report = tmp_path / "report.json"
    r = sluicegate("convert", orders_csv, "--pipeline", PIPELINE, "-o", out, "--report", report,
                   "--chunk-bytes", "20000", "--threads", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    rep = json.loads(report.read_text())
    assert rep["rows_read"] == 3000
    assert rep["rows_read"] == rep["rows_written"] + rep["rows_rejected"] + rep["rows_filtered"] + rep["rows_unrouted"]
    assert rep["rows_rejected"] == 0 and rep["rows_unrouted"] == 0

    schema = json.loads(SCHEMA.read_text())
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    base = f"""
        SELECT event_id, event_ts AS ts, order_date, round(amount * quantity, 2) AS total,
               sha256(lower(email)) AS email_hash, category, country
        FROM read_csv('{orders_csv}', header = true, columns = {duckdb_columns(schema)})
        WHERE amount > 0 AND country IS NOT NULL"""
    expected = con.execute(f"SELECT * FROM ({base}) ORDER BY event_id").fetchall()
    assert rep["rows_filtered"] == 3000 - len(expected)

    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["rows"] == len(expected)
    got = {}
    for f in manifest["files"]:
        t = pq.read_table(out / f["path"])
        assert t.num_rows == f["rows"]
        country = f["partition"]["country"]
        assert f["path"].startswith(f"{f['route']}/country={country}/part-")
        for row in t.to_pylist():
            row["country"] = country
            got[row["event_id"]] = (f["route"], row)
    assert sorted(got) == [e[0] for e in expected]
    for e in expected:
        route, row = got[e[0]]
        event_id, ts, order_date, total, email_hash, category, country = e
        assert route == ("large" if total is not None and total >= 100 else "rest"), e
        assert row["ts"] == ts and row["order_date"] == order_date and row["category"] == category
        assert row["country"] == country and row["email_hash"] == email_hash
        assert row["total"] == pytest.approx(total, abs=1e-9) if total is not None else row["total"] is None
        if route == "large":
            assert row["order_month"] == order_date.replace(day=1)


def test_partitioned_output_reads_back_as_a_hive_dataset(orders_csv, tmp_path):
    p = tmp_path / "p.toml"
    p.write_text(f'[input]\nschema = "{SCHEMA}"\n[output]\npartition_by = ["country", "order_date"]\n')
    out = tmp_path / "out"
    r = sluicegate("convert", orders_csv, "--pipeline", p, "-o", out, "--chunk-bytes", "50000", "--quiet")
    assert r.returncode == 0, r.stderr
    first = next(out.glob("*/*/*.parquet"))
    assert re.fullmatch(r"country=([A-Z]{2}|__HIVE_DEFAULT_PARTITION__)", first.parent.parent.name)
    assert re.fullmatch(r"order_date=(\d{4}-\d\d-\d\d|__HIVE_DEFAULT_PARTITION__)", first.parent.name)

    table = ds.dataset(out, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == 3000
    assert sorted(table.column("event_id").to_pylist()) == list(range(1, 3001))

    con = duckdb.connect()
    n, distinct, countries = con.execute(
        f"SELECT count(*), count(DISTINCT event_id), count(DISTINCT country) "
        f"FROM read_parquet('{out}/**/*.parquet', hive_partitioning = true)").fetchone()
    assert (n, distinct) == (3000, 3000)
    schema = json.loads(SCHEMA.read_text())
    expected = con.execute(f"SELECT count(DISTINCT country) FROM read_csv('{orders_csv}', header = true, "
                           f"columns = {duckdb_columns(schema)})").fetchone()[0]
    assert countries == expected

    # Run again: the same files, replaced, and nothing else.
    before = sorted(str(q.relative_to(out)) for q in out.rglob("*"))
    r = sluicegate("convert", orders_csv, "--pipeline", p, "-o", out, "--chunk-bytes", "50000", "--quiet")
    assert r.returncode == 0, r.stderr
    assert sorted(str(q.relative_to(out)) for q in out.rglob("*")) == before


def test_flags_override_the_pipeline_file(orders_csv, tmp_path):
    p = tmp_path / "p.toml"
    p.write_text(f'[input]\nschema = "{SCHEMA}"\n[output]\ncompression = "zstd"\n[errors]\npolicy = "fail"\n')
    out = tmp_path / "a.parquet"
    assert sluicegate("convert", orders_csv, "--pipeline", p, "-o", out, "--quiet").returncode == 0
    assert pq.ParquetFile(out).metadata.row_group(0).column(0).compression == "ZSTD"
    assert sluicegate("convert", orders_csv, "--pipeline", p, "-o", out, "--compression", "none",
                      "--quiet").returncode == 0
    assert pq.ParquetFile(out).metadata.row_group(0).column(0).compression == "UNCOMPRESSED"


PARTITIONS = 10_000
MIN_INPUT_BYTES = 200 * 1000 * 1000
BUDGET_MB = 256


def test_10000_partitions_of_200mb_stay_under_256mb(tmp_path):
    """Keys in random order, the hard case: every chunk touches most of the
    partitions, so the writer's buffers and open files are what the budget
    bounds."""
    src = tmp_path / "keys.csv"
    rng = random.Random(3)
    rows = 0
    with open(src, "w") as f:
        f.write("id,key,amount,label\n")
        written = 0
        while written < MIN_INPUT_BYTES:
            lines = []
            for _ in range(10_000):
                rows += 1
                lines.append(f"{rows},k{rng.randrange(PARTITIONS):05d},{rng.random() * 1000:.4f},"
                             f"label-{rng.randrange(1_000_000)}-{'x' * rng.randrange(40)}\n")
            chunk = "".join(lines)
            f.write(chunk)
            written += len(chunk)
    schema = write_schema(tmp_path / "s.json", {"columns": [
        {"name": "id", "type": "int64", "nullable": False}, {"name": "key", "type": "string"},
        {"name": "amount", "type": "float64"}, {"name": "label", "type": "string"}]})
    p = tmp_path / "p.toml"
    p.write_text(f'[input]\nschema = "{schema}"\n[output]\npartition_by = ["key"]\n')
    out = tmp_path / "out"
    report = tmp_path / "report.json"
    code, peak, stderr = run_measured([str(BIN), "convert", str(src), "--pipeline", str(p), "-o", str(out), "--memory",
        str(BUDGET_MB), "--report", str(report), "--quiet"], workdir=tmp_path)
    assert code == 0, stderr
    assert peak < BUDGET_MB * 1024 * 1024, f"peak RSS {peak / 2**20:.1f} MiB"
    rep = json.loads(report.read_text())
    assert rep["rows_written"] == rows
    print(f"{rows} rows, {rep['files']} files, peak {peak / 2**20:.1f} MiB, {rep['seconds']:.1f} s")
    n, distinct, keys = duckdb.connect().execute(
        f"SELECT count(*), count(DISTINCT id), count(DISTINCT key) "
        f"FROM read_parquet('{out}/**/*.parquet', hive_partitioning = true)").fetchone()
    assert (n, distinct, keys) == (rows, rows, PARTITIONS)
