"""Every valid input, at every chunk size and thread count, read back with
pyarrow and compared with the reference row for row (order included)."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from cases import CASES, Case
from helpers import THREADS, chunk_sizes, convert, read_rows, temp_files, write_schema
from reference import Dialect, arrow_type_name, expected_rows, longest_record, stored_type

CHUNK_LABELS = ["longest+3", "longest+17", "4096", "default"]


def prepare(case: Case, tmp_path):
    src = tmp_path / "input.csv"
    src.write_bytes(case.data)
    schema = write_schema(tmp_path / "schema.json", case.schema) if case.schema is not None else None
    return src, schema


@pytest.fixture(scope="module")
def expected():
    """The reference rows of each case, computed once."""
    return {c.id: expected_rows(c.data, c.schema, c.dialect) for c in CASES}


@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"t{t}")
@pytest.mark.parametrize("chunk_label", CHUNK_LABELS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rows_match_reference(case: Case, chunk_label, threads, tmp_path, expected):
    src, schema = prepare(case, tmp_path)
    longest = longest_record(case.data, case.dialect)
    chunk = chunk_sizes(longest)[CHUNK_LABELS.index(chunk_label)]
    out = tmp_path / "out.parquet"
    run = convert(src, out, schema=schema, args=case.dialect.cli_args(), chunk=chunk, threads=threads)
    assert run.returncode == 0, run.stderr
    assert temp_files(tmp_path) == []
    rows = read_rows(out)
    want = expected[case.id]
    assert len(rows) == len(want)
    for i, (got, ref) in enumerate(zip(rows, want)):
        assert got == ref, f"row {i} differs"
    assert pq.ParquetFile(out).metadata.num_rows == len(want)


@pytest.mark.parametrize("case", [c for c in CASES if c.schema is not None], ids=lambda c: c.id)
def test_parquet_schema_follows_the_schema_file(case: Case, tmp_path):
    src, schema = prepare(case, tmp_path)
    out = tmp_path / "out.parquet"
    run = convert(src, out, schema=schema, args=case.dialect.cli_args())
    assert run.returncode == 0, run.stderr
    arrow = pq.read_schema(out)
    got = [(f.name, arrow_type_name(f.type), f.nullable) for f in arrow]
    want = [(c["name"], stored_type(c["type"].replace(" ", "").replace(",tz=", ", tz=")), c.get("nullable", True))
            for c in case.schema["columns"]]
    assert got == want


def test_schema_less_columns_are_nullable_strings_named_by_the_header(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b"x,y z,\xc3\xa9\n1,,3\n")
    out = tmp_path / "out.parquet"
    run = convert(src, out)
    assert run.returncode == 0, run.stderr
    arrow = pq.read_schema(out)
    assert [(f.name, str(f.type), f.nullable) for f in arrow] == [
        ("x", "string", True), ("y z", "string", True), ("é", "string", True)]
    assert read_rows(out) == [("1", None, "3")]


def test_exact_fit_chunk_holds_the_longest_record(tmp_path):
    """A chunk exactly as long as the longest record is enough."""
    case = next(c for c in CASES if c.id == "quoting_lf")
    src, schema = prepare(case, tmp_path)
    longest = longest_record(case.data, case.dialect)
    out = tmp_path / "out.parquet"
    for threads in THREADS:
        run = convert(src, out, schema=schema, chunk=longest, threads=threads)
        assert run.returncode == 0, run.stderr
        assert read_rows(out) == expected_rows(case.data, case.schema, case.dialect)


@pytest.mark.parametrize("threads", [2, 4])
def test_order_survives_small_queues_and_many_chunks(tmp_path, threads):
    """Thousands of tiny chunks through a queue and reorder window of one."""
    case = next(c for c in CASES if c.id == "orders_1500")
    src, schema = prepare(case, tmp_path)
    longest = longest_record(case.data, case.dialect)
    out = tmp_path / "out.parquet"
    for extra in (["--queue-depth", "1", "--reorder-window", "1"], ["--queue-depth", "8", "--reorder-window", "16"]):
        run = convert(src, out, schema=schema, chunk=longest + 1, threads=threads, args=extra)
        assert run.returncode == 0, run.stderr
        assert read_rows(out) == expected_rows(case.data, case.schema, case.dialect)


@pytest.mark.parametrize("threads", [1, 4], ids=lambda t: f"t{t}")
def test_cr_only_line_ends_give_one_answer(tmp_path, threads):
    """Old Mac line ends (CR alone). Python's csv reads them as record ends.
    Whatever the engine makes of them, it must be the same at every chunk
    size, and never a file that silently lost the rows."""
    data = b"a,b\r1,x\r2,y\r3,z\r"
    schema = {"columns": [{"name": "a", "type": "int8"}, {"name": "b", "type": "string"}]}
    src = tmp_path / "input.csv"
    src.write_bytes(data)
    path = write_schema(tmp_path / "schema.json", schema)
    want = expected_rows(data, schema, Dialect())
    assert len(want) == 3
    outcomes = {}
    for chunk in (6, 8, 4096, None):
        out = tmp_path / "out.parquet"
        run = convert(src, out, schema=path, chunk=chunk, threads=threads)
        if run.returncode == 0:
            rows = read_rows(out)
            assert rows == want, f"chunk {chunk}: {len(rows)} rows written, the file has {len(want)}"
            outcomes.setdefault("converted", []).append(chunk)
        else:
            assert run.returncode == 1 and "sluicegate: error:" in run.stderr, run.stderr
            outcomes.setdefault(run.stderr.split(": ", 2)[-1].strip(), []).append(chunk)
    assert len(outcomes) == 1, outcomes
