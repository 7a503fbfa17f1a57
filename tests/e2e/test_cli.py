"""The rest of the command line: the report, `plan` and `--explain`, Parquet
options, the schema file's forms, and errors about the spec rather than the
data."""

from __future__ import annotations

import gzip
import json
import math
import os
import re
import subprocess

import pyarrow.parquet as pq
import pytest

import orders
from helpers import BIN, convert, leftovers, read_rows, sluicegate, temp_files, write_schema
from reference import Dialect, expected_rows

REPORT_KEYS = {"rows_read", "rows_written", "rows_rejected", "bytes_read", "bytes_written", "row_groups", "files",
               "seconds", "peak_rss_bytes", "source", "output", "plan"}
MB_PER_VCPU = 1769
LAMBDA_MAX_VCPUS = 6


@pytest.fixture
def sample(tmp_path):
    src = tmp_path / "orders.csv"
    src.write_bytes((orders.REPO / "testdata" / "orders_sample.csv").read_bytes())
    schema = write_schema(tmp_path / "schema.json", orders.schema())
    return src, schema


def sample_rows():
    data = (orders.REPO / "testdata" / "orders_sample.csv").read_bytes()
    return expected_rows(data, orders.schema(), Dialect())


# ---- report ---------------------------------------------------------------

@pytest.mark.parametrize("packed", [False, True], ids=["plain", "gzip"])
def test_report_file(sample, tmp_path, packed):
    src, schema = sample
    data = src.read_bytes()
    if packed:
        src = tmp_path / "orders.csv.gz"
        src.write_bytes(gzip.compress(data))
    out = tmp_path / "out.parquet"
    report = tmp_path / "report.json"
    run = convert(src, out, schema=schema, args=["--report", report], chunk=2048, threads=2)
    assert run.returncode == 0, run.stderr
    rep = json.loads(report.read_text())
    assert REPORT_KEYS <= rep.keys()
    meta = pq.ParquetFile(out).metadata
    assert rep["rows_read"] == rep["rows_written"] + rep["rows_rejected"]
    assert rep["rows_written"] == meta.num_rows == len(sample_rows())
    assert rep["rows_rejected"] == 0
    assert rep["bytes_read"] == len(data)
    assert rep["bytes_written"] == out.stat().st_size
    assert rep["row_groups"] == meta.num_row_groups
    assert rep["files"] == 1
    assert isinstance(rep["seconds"], (int, float)) and rep["seconds"] >= 0
    assert rep["peak_rss_bytes"] > 0
    assert rep["source"] == str(src) and rep["output"] == str(out)
    assert rep["plan"]["threads"] == 2 and rep["plan"]["chunk_bytes"] == 2048


def test_report_to_stdout(sample, tmp_path):
    src, schema = sample
    out = tmp_path / "out.parquet"
    run = convert(src, out, schema=schema, args=["--report", "-"])
    assert run.returncode == 0, run.stderr
    rep = json.loads(run.stdout)
    assert REPORT_KEYS <= rep.keys()
    assert rep["rows_read"] == rep["rows_written"] + rep["rows_rejected"] == 50


def test_summary_on_stderr_unless_quiet(sample, tmp_path):
    src, schema = sample
    out = tmp_path / "out.parquet"
    run = sluicegate("convert", src, "--schema", schema, "-o", out)
    assert run.returncode == 0
    assert "50 rows read, 50 written, 0 rejected" in run.stderr
    run = sluicegate("convert", src, "--schema", schema, "-o", out, "--quiet")
    assert run.returncode == 0
    assert run.stderr == "" and run.stdout == ""


def test_success_leaves_only_the_output(sample, tmp_path):
    src, schema = sample
    out = tmp_path / "out.parquet"
    run = convert(src, out, schema=schema)
    assert run.returncode == 0, run.stderr
    assert out.exists() and temp_files(tmp_path) == []


def test_empty_and_header_only_inputs(tmp_path):
    schema = write_schema(tmp_path / "schema.json", {"columns": [{"name": "a", "type": "int8", "nullable": False},
                                                                 {"name": "b", "type": "string"}]})
    for name, data in (("empty.csv", b""), ("header_only.csv", b"a,b\n")):
        src = tmp_path / name
        src.write_bytes(data)
        out = tmp_path / (name + ".parquet")
        run = convert(src, out, schema=schema, args=["--report", tmp_path / "r.json"])
        assert run.returncode == 0, run.stderr
        assert pq.read_table(out).num_rows == 0
        assert [f.name for f in pq.read_schema(out)] == ["a", "b"]
        assert json.loads((tmp_path / "r.json").read_text())["rows_written"] == 0


# ---- plan and --explain ---------------------------------------------------

def cores() -> int:
    """Cores this process may use: the affinity mask, capped by a cgroup v2 quota."""
    n = len(os.sched_getaffinity(0))
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()
        if quota != "max":
            n = min(n, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return n


def parse_plan(text: str) -> dict:
    plan = {}
    for line in text.strip().splitlines():
        m = re.match(r"^(\w[\w ]*?)\s{2,}(\d+)", line)
        assert m, f"unexpected plan line {line!r}"
        plan[m[1]] = int(m[2])
    return plan


@pytest.mark.parametrize("memory", [128, 512, 1769, 1770, 3008, 5307, 10240])
def test_plan_threads_follow_lambda_vcpus(memory):
    run = sluicegate("plan", "--memory", memory)
    assert run.returncode == 0, run.stderr
    plan = parse_plan(run.stdout)
    assert plan["memory budget"] == memory
    want = min(math.ceil(memory / MB_PER_VCPU), LAMBDA_MAX_VCPUS, cores())
    assert plan["worker threads"] == max(1, want)
    assert plan["queue depth"] == plan["worker threads"] == plan["reorder window"]
    assert plan["chunks in flight"] == plan["queue depth"] + plan["worker threads"] + plan["reorder window"]
    assert 256 <= plan["chunk size"] <= 32 * 1024  # KiB
    assert plan["row group"] == 1048576


def test_plan_chunk_shrinks_with_threads():
    one = parse_plan(sluicegate("plan", "--memory", 128, "--threads", 1).stdout)
    four = parse_plan(sluicegate("plan", "--memory", 128, "--threads", 4).stdout)
    assert four["chunk size"] < one["chunk size"]
    assert four["worker threads"] == 4


def test_plan_overrides():
    run = sluicegate("plan", "--memory", 512, "--threads", 3, "--chunk-bytes", 1 << 20, "--queue-depth", 5,
                     "--reorder-window", 7, "--row-group-rows", 1000)
    assert run.returncode == 0, run.stderr
    plan = parse_plan(run.stdout)
    assert (plan["worker threads"], plan["chunk size"], plan["queue depth"], plan["reorder window"],
            plan["chunks in flight"], plan["row group"]) == (3, 1024, 5, 7, 15, 1000)


def test_plan_memory_from_the_lambda_environment():
    base = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"}
    p = subprocess.run([str(BIN), "plan"], capture_output=True, text=True,
                       env={**base, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "3008"})
    assert p.returncode == 0, p.stderr
    assert parse_plan(p.stdout)["memory budget"] == 3008
    p = subprocess.run([str(BIN), "plan"], capture_output=True, text=True, env=base)
    assert p.returncode == 0, p.stderr
    assert parse_plan(p.stdout)["memory budget"] == 1024


def test_plan_refuses_a_tiny_budget():
    run = sluicegate("plan", "--memory", 32)
    assert run.returncode == 1
    assert run.stderr.startswith("sluicegate: error: ")


def test_explain_prints_the_plan(sample, tmp_path):
    src, schema = sample
    run = convert(src, tmp_path / "out.parquet", schema=schema, args=["--explain", "--memory", 256], threads=2)
    assert run.returncode == 0, run.stderr
    plan = sluicegate("plan", "--memory", 256, "--threads", 2).stdout
    assert plan.strip() in run.stderr
    # A local input and output: no room set aside for object reads.
    assert "object reads" not in run.stderr


def test_budget_flags_reach_the_run(sample, tmp_path):
    src, schema = sample
    report = tmp_path / "r.json"
    run = convert(src, tmp_path / "out.parquet", schema=schema, threads=3, chunk=1000,
                  args=["--memory", 640, "--queue-depth", 2, "--reorder-window", 5, "--row-group-rows", 9,
                        "--report", report])
    assert run.returncode == 0, run.stderr
    plan = json.loads(report.read_text())["plan"]
    # No partitions: nothing of the budget goes to partition buffers.
    assert plan == {"memory_mb": 640, "threads": 3, "chunk_bytes": 1000, "queue_depth": 2, "reorder_window": 5,
                    "row_group_rows": 9, "partition_buffer_bytes": 0, "open_files": 0,
                    "object_reads": 2, "object_range_bytes": 8 << 20, "objects": False}


# ---- Parquet options ------------------------------------------------------

@pytest.mark.parametrize("flag,codecs", [
    ("snappy", {"SNAPPY"}), ("zstd", {"ZSTD"}), ("zstd:9", {"ZSTD"}), ("lz4", {"LZ4", "LZ4_RAW"}),
    ("gzip", {"GZIP"}), ("gzip:9", {"GZIP"}), ("none", {"UNCOMPRESSED"})])
def test_compression(sample, tmp_path, flag, codecs):
    src, schema = sample
    out = tmp_path / "out.parquet"
    run = convert(src, out, schema=schema, args=["--compression", flag])
    assert run.returncode == 0, run.stderr
    meta = pq.ParquetFile(out).metadata
    found = {meta.row_group(g).column(c).compression for g in range(meta.num_row_groups)
             for c in range(meta.num_columns)}
    assert len(found) == 1 and found <= codecs, found
    assert read_rows(out) == sample_rows()


def test_default_compression_is_snappy_with_dictionary_and_statistics(sample, tmp_path):
    src, schema = sample
    out = tmp_path / "out.parquet"
    assert convert(src, out, schema=schema).returncode == 0
    rg = pq.ParquetFile(out).metadata.row_group(0)
    cols = {rg.column(i).path_in_schema: rg.column(i) for i in range(rg.num_columns)}
    assert all(c.compression == "SNAPPY" for c in cols.values())
    assert cols["category"].has_dictionary_page  # 20 distinct values in 50 rows
    stats = cols["event_id"].statistics
    assert stats.has_min_max and (stats.min, stats.max) == (1, 50)
    assert cols["customer_id"].statistics.null_count == sum(r[2] is None for r in sample_rows())


def test_no_dictionary_and_no_statistics(sample, tmp_path):
    src, schema = sample
    out = tmp_path / "out.parquet"
    run = convert(src, out, schema=schema, args=["--no-dictionary", "--no-statistics"])
    assert run.returncode == 0, run.stderr
    meta = pq.ParquetFile(out).metadata
    for g in range(meta.num_row_groups):
        for c in range(meta.num_columns):
            col = meta.row_group(g).column(c)
            assert not col.has_dictionary_page, col.path_in_schema
            assert not any("DICTIONARY" in e for e in col.encodings), col.path_in_schema
            assert not (col.is_stats_set and col.statistics.has_min_max), col.path_in_schema
    assert read_rows(out) == sample_rows()


def column_encodings(path):
    meta = pq.ParquetFile(path).metadata
    found = {}
    for g in range(meta.num_row_groups):
        for c in range(meta.num_columns):
            col = meta.row_group(g).column(c)
            found.setdefault(col.path_in_schema, set()).update(col.encodings)
    return found


def test_sequences_are_delta_encoded_and_read_back_by_duckdb(sample, tmp_path):
    import duckdb

    src, schema = sample
    out = tmp_path / "out.parquet"
    assert convert(src, out, schema=schema).returncode == 0
    encodings = column_encodings(out)
    assert "DELTA_BINARY_PACKED" in encodings["event_id"], encodings  # 1, 2, ..., 50
    assert "DELTA_BINARY_PACKED" not in encodings["email"], encodings  # strings never are
    assert read_rows(out) == sample_rows()
    got = duckdb.sql(f"SELECT event_id FROM read_parquet('{out}')").fetchall()
    assert [r[0] for r in got] == [r[0] for r in sample_rows()]


def test_no_delta(sample, tmp_path):
    src, schema = sample
    out = tmp_path / "out.parquet"
    run = convert(src, out, schema=schema, args=["--no-delta"])
    assert run.returncode == 0, run.stderr
    for column, encodings in column_encodings(out).items():
        assert not any(e.startswith("DELTA") for e in encodings), (column, encodings)
    assert read_rows(out) == sample_rows()


@pytest.mark.parametrize("threads", [1, 4])
def test_row_group_rows(sample, tmp_path, threads):
    src, schema = sample
    out = tmp_path / "out.parquet"
    run = convert(src, out, schema=schema, threads=threads, args=["--row-group-rows", 7])
    assert run.returncode == 0, run.stderr
    meta = pq.ParquetFile(out).metadata
    sizes = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
    assert sum(sizes) == 50 and max(sizes) <= 7
    assert read_rows(out) == sample_rows()


# ---- the schema file ------------------------------------------------------

def test_fields_synonym_and_unknown_keys(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b"a,b\n1,x\n")
    schema = write_schema(tmp_path / "schema.json", {
        "name": "whatever", "version": 3,
        "fields": [{"name": "a", "type": "uint8", "nullable": False, "note": "ignored", "source": "ignored"},
                   {"name": "b", "type": "string", "cardinality": 20}]})
    out = tmp_path / "out.parquet"
    run = convert(src, out, schema=schema)
    assert run.returncode == 0, run.stderr
    assert read_rows(out) == [(1, "x")]
    assert [f.nullable for f in pq.read_schema(out)] == [False, True]


def test_the_benchmark_schema_is_accepted_as_it_is(tmp_path):
    bench = orders.REPO.parent / "shared" / "bench" / "schema.json"
    if not bench.exists():
        pytest.skip("no ../shared/bench/schema.json beside this checkout")
    src = tmp_path / "orders.csv"
    src.write_bytes((orders.REPO / "testdata" / "orders_sample.csv").read_bytes())
    out = tmp_path / "out.parquet"
    run = convert(src, out, schema=bench)
    assert run.returncode == 0, run.stderr
    assert read_rows(out) == sample_rows()


def spec_error(tmp_path, run, *fragments):
    assert run.returncode == 1, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sluicegate: error: "), run.stderr
    for f in fragments:
        assert f in lines[0], lines[0]
    assert leftovers(tmp_path / "out.parquet") == []
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("schema,fragments", [
    ({"columns": [{"name": "a", "type": "int8"}, {"name": "zzz", "type": "string"}]},
     ['the CSV header has no column "zzz"']),
    ({"columns": [{"name": "a", "type": "varchar"}]}, ["unknown type"]),
    ({"columns": [{"name": "a", "type": "decimal(40,2)"}]}, ["out of range"]),
    ({"columns": [{"name": "a", "type": "timestamp[ms, tz=Mars/Base]"}]}, ["time zone"]),
    ({"columns": [{"name": "a", "type": "int8"}, {"name": "a", "type": "int8"}]}, ["appears twice"]),
    ({"columns": []}, ["no columns"]),
    ({"columns": [{"name": "a", "type": "int8", "format": "%Y"}]}, ["format"]),
    ({"cols": [{"name": "a", "type": "int8"}]}, ["schema"]),
])
def test_bad_schema_is_an_error_before_any_output(tmp_path, schema, fragments):
    src = tmp_path / "in.csv"
    src.write_bytes(b"a,b\n1,x\n")
    path = write_schema(tmp_path / "schema.json", schema)
    spec_error(tmp_path, convert(src, tmp_path / "out.parquet", schema=path), *fragments)


def test_schema_file_not_json(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b"a,b\n1,x\n")
    (tmp_path / "schema.json").write_text("{not json")
    spec_error(tmp_path, convert(src, tmp_path / "out.parquet", schema=tmp_path / "schema.json"), "schema.json")


@pytest.mark.parametrize("args,fragments", [
    (["--delimiter", "ab"], ["--delimiter"]),
    (["--delimiter", ",", "--quote", ","], ["same character"]),
    (["--compression", "brotli"], ["brotli"]),
    (["--memory", "32"], ["32 MB"]),
])
def test_bad_options(tmp_path, args, fragments):
    src = tmp_path / "in.csv"
    src.write_bytes(b"a,b\n1,x\n")
    spec_error(tmp_path, convert(src, tmp_path / "out.parquet", args=args), *fragments)


def test_missing_input(tmp_path):
    spec_error(tmp_path, convert(tmp_path / "nope.csv", tmp_path / "out.parquet"), "nope.csv")


def test_output_directory_missing(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b"a,b\n1,x\n")
    run = convert(src, tmp_path / "no" / "such" / "dir" / "out.parquet")
    assert run.returncode == 1 and run.stderr.startswith("sluicegate: error: ")


def test_no_header_without_schema_is_an_error(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b"1,x\n")
    spec_error(tmp_path, convert(src, tmp_path / "out.parquet", args=["--no-header"]), "schema")


def test_duplicate_header_names(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b"a,a\n1,x\n")
    spec_error(tmp_path, convert(src, tmp_path / "out.parquet"), "twice")


@pytest.mark.parametrize("what", ["plan", "convert_report"])
def test_closed_stdout_is_not_a_crash(sample, tmp_path, what):
    """A reader that goes away (`| head`) ends the output quietly: exit 0, no panic."""
    src, schema = sample
    cmd = [str(BIN), "plan"] if what == "plan" else \
        [str(BIN), "convert", str(src), "--schema", str(schema), "-o", str(tmp_path / "out.parquet"),
         "--report", "-", "--quiet"]
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run(cmd, stdout=w, stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(w)
    stderr = p.stderr.decode("utf-8", "replace")
    assert "panicked" not in stderr, stderr
    assert p.returncode == 0, stderr
