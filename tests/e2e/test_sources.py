"""gzip, zstd and standard input give the same rows as the plain file."""

from __future__ import annotations

import gzip

import pytest
import zstandard

from cases import CASES, Case
from helpers import convert, read_rows, write_schema
from reference import expected_rows, longest_record

SOURCE_CASES = [c for c in CASES if c.id in (
    "orders_sample", "quoting_lf", "quoting_crlf", "timestamps", "bom_crlf", "bom_in_data", "no_header",
    "tab_delimiter", "null_markers", "unicode", "no_final_newline", "escape_backslash")]
ORDERS_1500 = next(c for c in CASES if c.id == "orders_1500")


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def zst(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=3).compress(data)


def halves(data: bytes, pack) -> bytes:
    """Two compressed members (gzip) or frames (zstd), one after the other,
    split in the middle of a record."""
    mid = len(data) // 2
    return pack(data[:mid]) + pack(data[mid:])


VARIANTS = {
    "stdin": (lambda d: d, True),
    "gzip_file": (gz, False),
    "zstd_file": (zst, False),
    "gzip_stdin": (gz, True),
    "zstd_stdin": (zst, True),
    "gzip_two_members": (lambda d: halves(d, gz), False),
    "zstd_two_frames": (lambda d: halves(d, zst), False),
}


# (chunk, threads): tiny chunks on one and four workers, the default on two.
GRID = [("longest+3", 1), ("longest+3", 4), ("default", 2)]


@pytest.fixture(scope="module")
def plain_rows(tmp_path_factory):
    """The rows the plain file gives, per (case, chunk, threads), computed once."""
    cache = {}

    def get(case: Case, chunk, threads):
        key = (case.id, chunk, threads)
        if key not in cache:
            d = tmp_path_factory.mktemp("plain")
            schema = write_schema(d / "schema.json", case.schema) if case.schema else None
            src = d / "plain.csv"
            src.write_bytes(case.data)
            run = convert(src, d / "plain.parquet", schema=schema, args=case.dialect.cli_args(), chunk=chunk,
                          threads=threads)
            assert run.returncode == 0, run.stderr
            cache[key] = read_rows(d / "plain.parquet")
        return cache[key]

    return get


@pytest.mark.parametrize("chunk_label,threads", GRID, ids=[f"{c}-t{t}" for c, t in GRID])
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("case", SOURCE_CASES, ids=lambda c: c.id)
def test_compressed_and_stdin_match_the_plain_file(case: Case, variant, chunk_label, threads, tmp_path, plain_rows):
    pack, via_stdin = VARIANTS[variant]
    schema = write_schema(tmp_path / "schema.json", case.schema) if case.schema else None
    longest = longest_record(case.data, case.dialect)
    chunk = longest + 3 if chunk_label == "longest+3" else None
    args = case.dialect.cli_args()

    packed = pack(case.data)
    out = tmp_path / "out.parquet"
    if via_stdin:
        run = convert("-", out, schema=schema, args=args, chunk=chunk, threads=threads, stdin=packed)
    else:
        src = tmp_path / "input.csv.bin"  # no telling extension: detection is by magic bytes
        src.write_bytes(packed)
        run = convert(src, out, schema=schema, args=args, chunk=chunk, threads=threads)
    assert run.returncode == 0, run.stderr
    rows = read_rows(out)
    assert rows == plain_rows(case, chunk, threads)
    assert rows == expected_rows(case.data, case.schema, case.dialect)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_larger_orders_input_in_page_sized_chunks(variant, tmp_path, plain_rows):
    """About 90 chunks of 4 KiB through each kind of source, on two workers."""
    case = ORDERS_1500
    pack, via_stdin = VARIANTS[variant]
    schema = write_schema(tmp_path / "schema.json", case.schema)
    out = tmp_path / "out.parquet"
    packed = pack(case.data)
    if via_stdin:
        run = convert("-", out, schema=schema, chunk=4096, threads=2, stdin=packed)
    else:
        src = tmp_path / "input.bin"
        src.write_bytes(packed)
        run = convert(src, out, schema=schema, chunk=4096, threads=2)
    assert run.returncode == 0, run.stderr
    rows = read_rows(out)
    assert rows == plain_rows(case, 4096, 2)
    assert rows == expected_rows(case.data, case.schema, case.dialect)
