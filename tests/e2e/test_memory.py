"""The memory promise: a 200 MB orders file, CSV or NDJSON, converted with
`--memory 128` peaks under 128 MB of resident memory, as the operating
system counts it (the child's ru_maxrss from wait4, which includes touched
pages of a memory-mapped input)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
import zstandard

import orders
from helpers import BIN, leftovers, write_schema
from json_reference import expected_json_rows, normalise_json_table
from reference import Dialect, expected_rows, normalise_table

MIN_INPUT_BYTES = 200 * 1000 * 1000  # the "at least 200 MB"
BUDGET_MB = 128
BUDGET_BYTES = BUDGET_MB * 1024 * 1024
TIMEOUT_S = 240


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    d = tmp_path_factory.mktemp("big")
    path = d / "orders_200mb.csv"
    rows, block = orders.write_large(path, MIN_INPUT_BYTES)
    assert path.stat().st_size >= MIN_INPUT_BYTES
    schema = write_schema(d / "schema.json", orders.schema())
    return path, schema, rows, block


@pytest.fixture(scope="module")
def big_zst(big_csv):
    path = big_csv[0]
    packed = path.with_suffix(".csv.zst")
    with open(path, "rb") as src, open(packed, "wb") as dst:
        zstandard.ZstdCompressor(level=1).copy_stream(src, dst)
    return packed


# The child is started by a small launcher process, not by this one: on Linux
# a child's ru_maxrss also counts the memory of the process it was forked
# from (the old mm's high-water mark is kept across exec), and this test
# process holds pyarrow and decoded tables. The launcher imports nothing big,
# so its own ~10 MB is all that can leak into the figure.
LAUNCHER = """
import json, os, subprocess, sys
with open(sys.argv[1], "rb") as inp, open(sys.argv[2], "wb") as err:
    p = subprocess.Popen(sys.argv[3:], stdin=inp, stdout=subprocess.DEVNULL, stderr=err)
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = 0
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "maxrss_kb": usage.ru_maxrss}))
"""


def run_measured(cmd: list[str], stdin_path=None, workdir=None) -> tuple[int, int, str]:
    """Runs a command; returns (exit code, peak RSS in bytes, stderr)."""
    err_path = workdir / "stderr.txt"
    launcher = subprocess.run([sys.executable, "-c", LAUNCHER, str(stdin_path or os.devnull), str(err_path), *cmd],
                              capture_output=True, text=True, timeout=TIMEOUT_S, check=True)
    result = json.loads(launcher.stdout)
    return result["code"], result["maxrss_kb"] * 1024, err_path.read_text()


# 16 threads on a 128 MB budget: more threads than cores, each holding a
# chunk and an allocator arena at once.
@pytest.mark.parametrize("how", ["file_default_threads", "file_2_threads", "file_16_threads", "stdin_default_threads",
                                 "zstd_2_threads"])
def test_200mb_under_128mb(big_csv, how, tmp_path, request):
    path, schema, rows, block = big_csv
    out = tmp_path / "out.parquet"
    report = tmp_path / "report.json"
    src = "-" if how.startswith("stdin") else str(path)
    if how.startswith("zstd"):
        src = str(request.getfixturevalue("big_zst"))
    cmd = [str(BIN), "convert", src, "--schema", str(schema), "-o", str(out), "--memory", str(BUDGET_MB),
           "--report", str(report), "--quiet"]
    threads = how.split("_")[1]
    if threads.isdigit():
        cmd += ["--threads", threads]
    code, peak, stderr = run_measured(cmd, stdin_path=path if src == "-" else None, workdir=tmp_path)
    assert code == 0, stderr
    assert peak < BUDGET_BYTES, f"peak RSS {peak / 2**20:.1f} MiB over the {BUDGET_MB} MB budget"

    meta = pq.ParquetFile(out).metadata
    assert meta.num_rows == rows
    rep = json.loads(report.read_text())
    assert rep["rows_read"] == rep["rows_written"] + rep["rows_rejected"] == rows
    assert rep["bytes_read"] == path.stat().st_size
    assert 0 < rep["peak_rss_bytes"] < BUDGET_BYTES

    # The first rows are the repeated block's, value for value.
    header = (",".join(orders.COLUMNS) + "\n").encode()
    want = expected_rows(header + block, orders.schema(), Dialect())
    first = normalise_table(pq.ParquetFile(out).read_row_group(0))
    n = min(len(first), len(want))
    assert n > 0 and first[:n] == want[:n]
    out.unlink()
    assert leftovers(out) == []


@pytest.fixture(scope="module")
def big_ndjson(tmp_path_factory):
    d = tmp_path_factory.mktemp("big_ndjson")
    path = d / "orders_200mb.ndjson"
    rows, block = orders.write_large_ndjson(path, MIN_INPUT_BYTES)
    assert path.stat().st_size >= MIN_INPUT_BYTES
    schema = write_schema(d / "schema.json", orders.schema())
    return path, schema, rows, block


@pytest.mark.parametrize("how", ["file_default_threads", "file_2_threads", "stdin_2_threads"])
def test_200mb_ndjson_under_128mb(big_ndjson, how, tmp_path):
    path, schema, rows, block = big_ndjson
    out = tmp_path / "out.parquet"
    report = tmp_path / "report.json"
    src = "-" if how.startswith("stdin") else str(path)
    cmd = [str(BIN), "convert", src, "--format", "ndjson", "--schema", str(schema), "-o", str(out),
           "--memory", str(BUDGET_MB), "--report", str(report), "--quiet"]
    if how.endswith("2_threads"):
        cmd += ["--threads", "2"]
    code, peak, stderr = run_measured(cmd, stdin_path=path if src == "-" else None, workdir=tmp_path)
    assert code == 0, stderr
    assert peak < BUDGET_BYTES, f"peak RSS {peak / 2**20:.1f} MiB over the {BUDGET_MB} MB budget"

    parquet = pq.ParquetFile(out)
    assert parquet.metadata.num_rows == rows
    rep = json.loads(report.read_text())
    assert rep["rows_read"] == rep["rows_written"] + rep["rows_rejected"] == rows
    assert rep["bytes_read"] == path.stat().st_size
    assert 0 < rep["peak_rss_bytes"] < BUDGET_BYTES

    # The first and the last row group hold rows of the repeated block, value
    # for value: the first from its start, the last up to its end.
    want = expected_json_rows(block, orders.schema())
    first = normalise_json_table(parquet.read_row_group(0))
    n = min(len(first), len(want))
    assert n > 0 and first[:n] == want[:n]
    last = normalise_json_table(parquet.read_row_group(parquet.num_row_groups - 1))
    n = min(len(last), len(want))
    assert n > 0 and last[-n:] == want[-n:]
    out.unlink()
    assert leftovers(out) == []


@pytest.mark.parametrize("how", ["convert_2_threads", "convert_constrained_2_threads", "validate_2_threads"])
def test_200mb_all_rejected_under_128mb(big_csv, how, tmp_path):
    """Every row rejected (a schema that reads the category column as int64):
    the rejects travel through the pipeline bounded like the rows do. With a
    constraint in the schema, the rejected rows are checked against it too."""
    path, _, rows, _ = big_csv
    columns = [dict(c) for c in orders.schema()["columns"]]
    for c in columns:
        if c["name"] == "category":
            c["type"] = "int64"
    if "constrained" in how:
        columns[0]["constraints"] = {"required": True}
    schema = write_schema(tmp_path / "schema.json", {"columns": columns})
    out = tmp_path / "out.parquet"
    report = tmp_path / "report.json"
    if how.startswith("convert"):
        cmd = [str(BIN), "convert", str(path), "--schema", str(schema), "-o", str(out), "--memory", str(BUDGET_MB),
               "--threads", "2", "--report", str(report), "--quiet"]
    else:
        cmd = [str(BIN), "validate", str(path), "--schema", str(schema), "--memory", str(BUDGET_MB),
               "--threads", "2", "--json"]
    code, peak, stderr = run_measured(cmd, workdir=tmp_path)
    assert peak < BUDGET_BYTES, f"peak RSS {peak / 2**20:.1f} MiB over the {BUDGET_MB} MB budget"
    if how.startswith("convert"):
        assert code == 0, stderr
        rep = json.loads(report.read_text())
        assert rep["rows_read"] == rows and rep["rows_rejected"] == rows and rep["rows_written"] == 0
        assert rep["rejects_by_code"] == {"type-error": rows}
        rejects = out.parent / f"{out.name}.rejects.ndjson"
        with open(rejects) as f:
            assert sum(1 for _ in f) == rows
    else:
        assert code == 1, stderr
