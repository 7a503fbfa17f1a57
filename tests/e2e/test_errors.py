"""Malformed input under `--on-error fail` stops the run: exit code 1, one
error line that names the line, byte offset, record and column, and nothing
left at the output path. The same error, word for word, at every chunk size
and thread count. Under the default reject policy the same bad record is set
aside in the rejects file, located the same way, and every other row is
written; a quote that never closes fails the run under every policy.

Each bad record sits between good ones (some spanning two lines), so that
small chunks cut the file in many places; its expected location is counted
from the bytes in front of it, not taken from the engine."""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpers import THREADS, chunk_sizes, convert, leftovers, parse_error, read_rows, rust_debug, write_schema
from reference import INT_RANGES, Dialect, expected_rows, record_lengths

PARSE = "value does not parse as {}"
NULL = "null value in a column that is not nullable"
FIELDS = "record has {} fields, expected {}"
UNTERMINATED = "quoted field is not closed before the end of the input"
MALFORMED = "malformed quoting (a quote inside an unquoted field or text after a closing quote)"
UTF8 = "invalid UTF-8"
TOO_LARGE = "record is larger than the largest record the budget allows ({} bytes); raise --memory or --chunk-bytes"

SCHEMA = {"columns": [
    {"name": "id", "type": "int64", "nullable": False},
    {"name": "name", "type": "string"},
    {"name": "amount", "type": "decimal(10,2)"},
    {"name": "ts", "type": "timestamp[ms, tz=UTC]"},
    {"name": "small", "type": "int8"},
    {"name": "u", "type": "uint64"},
    {"name": "flag", "type": "bool"},
    {"name": "code", "type": "string", "nullable": False},
]}
HEADER = "id,name,amount,ts,small,u,flag,code"


def good_row(i: int, quotes: bool = True) -> str:
    if not quotes:
        name = f"plain name {i}"
    elif i % 7 == 3:
        name = f'"two\nlines {i}"'
    else:
        name = f'"name {i}, with ""comma"""'
    return f"{i},{name},{i}.25,2024-01-01T00:00:{i % 60:02d}+05:30,{i % 100},{i * 1000},true,C{i}"


@dataclass
class ErrorCase:
    id: str
    bad: bytes  # the bad record, its line end included
    column: str | None
    message: str  # the full message after the location
    exact: bool = True  # False: `message` is a prefix (the value may be cut)
    before: int = 40  # good records in front of the bad one
    after: int = 40  # good records behind it
    quotes_after: bool = True  # False: good records behind it have no quotes
    schema: dict = field(default_factory=lambda: SCHEMA)
    dialect: Dialect = field(default_factory=Dialect)
    header: str | None = HEADER
    bom: bool = False
    line_end: str = "\n"

    def parts(self) -> tuple[bytes, bytes]:
        """(everything in front of the bad record, everything behind it)."""
        head = [self.header] if self.header is not None else []
        front = "".join(r + "\n" for r in head + [good_row(i) for i in range(self.before)])
        back = "".join(good_row(i, self.quotes_after) + "\n" for i in range(self.before + 1,
                                                                             self.before + 1 + self.after))
        front, back = front.replace("\n", self.line_end), back.replace("\n", self.line_end)
        return (b"\xef\xbb\xbf" if self.bom else b"") + front.encode(), back.encode()

    def data(self) -> bytes:
        front, back = self.parts()
        return front + self.bad + back

    def location(self) -> tuple[int, int, int]:
        front, _ = self.parts()
        return front.count(b"\n") + 1, len(front), self.before

    def longest(self) -> int:
        """The longest record, the bad one counted up to its own line end."""
        front, back = self.parts()
        return max(record_lengths(front + self.bad) + record_lengths(back or b"x"))


def row(i, **over) -> str:
    fields = dict(zip(HEADER.split(","), good_row(i, quotes=False).split(",")))
    fields.update(over)
    return ",".join(fields.values())


def bad(i, line_end="\n", **over) -> bytes:
    return (row(i, **over) + line_end).encode()


def raw(b: bytes) -> str:
    """How an error about a whole record shows it: its first line, without
    the line break (the same at every chunk size)."""
    first = b.split(b"\n", 1)[0].rstrip(b"\r")
    return rust_debug(first.decode("utf-8", "replace"))


class SemicolonCase(ErrorCase):
    """Good records with `;` between fields (and inside the quoted names)."""

    def parts(self):
        front, back = ErrorCase.parts(self)
        return front.replace(b",", b";"), back.replace(b",", b";")


class IntEdgeCase(ErrorCase):
    """One value just past an integer type's range, between 30 good records
    of a two-column schema (id, v)."""

    def __init__(self, type_name: str, value: int):
        schema = {"columns": [{"name": "id", "type": "int64", "nullable": False}, {"name": "v", "type": type_name}]}
        super().__init__(f"{type_name}_{value}", f"40,{value}\n".encode(), "v", f'{PARSE.format(type_name)}: "{value}"',
                         schema=schema, header="id,v", before=30, after=30)

    def parts(self):
        front = "id,v\n" + "".join(f"{i},{i % 100}\n" for i in range(self.before))
        back = "".join(f"{i},{i % 100}\n" for i in range(self.before + 1, self.before + 1 + self.after))
        return front.encode(), back.encode()


CASES = [
    ErrorCase("int8_overflow", bad(40, small="128"), "small", f'{PARSE.format("int8")}: "128"'),
    ErrorCase("int64_overflow", bad(40, id="9223372036854775808"), "id",
              f'{PARSE.format("int64")}: "9223372036854775808"'),
    ErrorCase("uint64_negative", bad(40, u="-1"), "u", f'{PARSE.format("uint64")}: "-1"'),
    ErrorCase("uint64_overflow", bad(40, u="18446744073709551616"), "u",
              f'{PARSE.format("uint64")}: "18446744073709551616"'),
    ErrorCase("decimal_precision", bad(40, amount="123456789.99"), "amount",
              f'{PARSE.format("decimal(10,2)")}: "123456789.99"'),
    ErrorCase("decimal_scale", bad(40, amount="1.234"), "amount", f'{PARSE.format("decimal(10,2)")}: "1.234"'),
    ErrorCase("bad_timestamp", bad(40, ts="2024-13-01T00:00:00Z"), "ts",
              f'{PARSE.format("timestamp[ms, tz=UTC]")}: "2024-13-01T00:00:00Z"'),
    ErrorCase("bad_bool", bad(40, flag="maybe"), "flag", f'{PARSE.format("bool")}: "maybe"'),
    ErrorCase("too_many_fields", bad(40, code="C40,extra"), None,
              f"{FIELDS.format(9, 8)}: {raw(bad(40, code='C40,extra'))}"),
    ErrorCase("int8_overflow_crlf", bad(40, small="128", line_end="\r\n"), "small", f'{PARSE.format("int8")}: "128"',
              line_end="\r\n"),
    ErrorCase("too_many_fields_crlf", bad(40, code="C40,extra", line_end="\r\n"), None,
              f"{FIELDS.format(9, 8)}: {raw(bad(40, code='C40,extra', line_end=chr(13) + chr(10)))}", line_end="\r\n"),
    ErrorCase("too_few_fields", b"40,x,1.00\n", None, f'{FIELDS.format(3, 8)}: "40,x,1.00"'),
    ErrorCase("unterminated_quote", b'40,"never closed,1.00\n', None, UNTERMINATED, exact=False,
              quotes_after=False),
    ErrorCase("unterminated_quote_in_last_record", b'40,"never closed,1.00\n', None, UNTERMINATED, exact=False,
              after=0),
    ErrorCase("text_after_closing_quote", bad(40, name='"quoted"tail'), None,
              f"{MALFORMED}: {raw(bad(40, name=chr(34) + 'quoted' + chr(34) + 'tail'))}"),
    ErrorCase("quote_pair_inside_unquoted_field", bad(40, name='a 5 "inch" screen'), None,
              f"{MALFORMED}: {raw(bad(40, name='a 5 ' + chr(34) + 'inch' + chr(34) + ' screen'))}"),
    ErrorCase("lone_quote_inside_unquoted_field", bad(40, name='6" ruler'), None,
              f"{MALFORMED}: {raw(bad(40, name='6' + chr(34) + ' ruler'))}"),
    ErrorCase("invalid_utf8_in_string", row(40).replace("plain name 40", "bad \udcff byte").encode(
        "utf-8", "surrogateescape") + b"\n", "name", f'{UTF8}: "bad \ufffd byte"'),
    ErrorCase("invalid_utf8_bom_crlf", row(40).replace("C40", "C\udcc340").encode(
        "utf-8", "surrogateescape") + b"\r\n", "code", f'{UTF8}: "C\ufffd40"', bom=True, line_end="\r\n"),
    ErrorCase("null_in_non_nullable", bad(40, id=""), "id", f'{NULL}: ""'),
    ErrorCase("quoted_empty_in_non_nullable", bad(40, code='""'), "code", f'{NULL}: ""'),
    ErrorCase("null_marker_in_non_nullable", bad(40, id="NA"), "id", f'{NULL}: "NA"',
              dialect=Dialect(nulls=["NA", ""])),
    ErrorCase("first_record", bad(0, small="-129"), "small", f'{PARSE.format("int8")}: "-129"', before=0),
    ErrorCase("last_record_without_newline", bad(40, small="x", line_end=""), "small",
              f'{PARSE.format("int8")}: "x"', after=0),
    ErrorCase("no_header", bad(40, small="999"), "small", f'{PARSE.format("int8")}: "999"', header=None,
              dialect=Dialect(header=False)),
    SemicolonCase("semicolon_delimiter", bad(40, small="1.5").replace(b",", b";"), "small",
              f'{PARSE.format("int8")}: "1.5"', dialect=Dialect(delimiter=";")),
]


CASES += [IntEdgeCase(t, v) for t, (lo, hi) in INT_RANGES.items() for v in (lo - 1, hi + 1)]
CHUNK_LABELS = ["longest+3", "longest+17", "4096", "default"]


def run_case(case: ErrorCase, tmp_path, chunk, threads, *, stdin=False, pack=None, policy="fail"):
    run, out = run_policy(case, tmp_path, chunk, threads, stdin=stdin, pack=pack, policy=policy)
    assert run.returncode == 1, f"exit code {run.returncode}, stderr:\n{run.stderr}"
    assert leftovers(out) == [], "a failed run left files behind"
    return parse_error(run.stderr)


def run_policy(case: ErrorCase, tmp_path, chunk, threads, *, stdin=False, pack=None, policy="fail"):
    schema = write_schema(tmp_path / "schema.json", case.schema)
    data = case.data()
    if pack:
        data = pack(data)
    out = tmp_path / "out.parquet"
    args = [*case.dialect.cli_args(), "--on-error", policy]
    if stdin:
        run = convert("-", out, schema=schema, args=args, chunk=chunk, threads=threads, stdin=data)
    else:
        src = tmp_path / "input.csv"
        src.write_bytes(data)
        run = convert(src, out, schema=schema, args=args, chunk=chunk, threads=threads)
    return run, out


def check(case: ErrorCase, err: dict):
    line, byte, record = case.location()
    assert (err["line"], err["byte"], err["record"], err["column"]) == (line, byte, record, case.column), err["text"]
    if case.exact:
        assert err["message"] == case.message
    else:
        assert err["message"].startswith(case.message), err["text"]


@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"t{t}")
@pytest.mark.parametrize("chunk_label", CHUNK_LABELS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_error_location(case: ErrorCase, chunk_label, threads, tmp_path):
    chunk = chunk_sizes(case.longest())[CHUNK_LABELS.index(chunk_label)]
    err = run_case(case, tmp_path, chunk, threads)
    assert err["source"] == str(tmp_path / "input.csv")
    check(case, err)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_error_is_the_same_at_every_chunk_size_and_thread_count(case: ErrorCase, tmp_path):
    seen = {}
    for chunk in chunk_sizes(case.longest()):
        for threads in THREADS:
            err = run_case(case, tmp_path, chunk, threads)
            what = f'line {err["line"]}, byte {err["byte"]}, record {err["record"]}, column {err["column"]}: ' \
                f'{err["message"]}'
            seen.setdefault(what, []).append(f"chunk={chunk or 'default'} threads={threads}")
    assert len(seen) == 1, "different errors:\n" + "\n".join(f"{m!r}: {w}" for m, w in seen.items())


@pytest.mark.parametrize("threads", [1, 2], ids=lambda t: f"t{t}")
@pytest.mark.parametrize("chunk_label", ["longest+3", "default"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_record_is_rejected_and_the_rest_written(case: ErrorCase, chunk_label, threads, tmp_path):
    chunk = chunk_sizes(case.longest())[CHUNK_LABELS.index(chunk_label)]
    run, out = run_policy(case, tmp_path, chunk, threads, policy="reject")
    if case.message.startswith(UNTERMINATED):
        # The file's fault, not one record's: no policy goes on past it.
        assert run.returncode == 1, run.stderr
        check(case, parse_error(run.stderr))
        assert leftovers(out) == [] and not Path(f"{out}.rejects.ndjson").exists()
        return
    assert run.returncode == 0, run.stderr
    lines = Path(f"{out}.rejects.ndjson").read_text().splitlines()
    assert len(lines) == 1, lines
    reject = json.loads(lines[0])
    line, byte, record = case.location()
    assert (reject["line"], reject["byte_offset"], reject["record"]) == (line, byte, record)
    assert reject["source"] == str(tmp_path / "input.csv")
    problem = reject["problems"][0]
    assert problem["column"] == case.column
    assert case.message.startswith(problem["message"]), (problem, case.message)
    bad = case.bad.split(b"\n")[0].rstrip(b"\r") if case.bad.count(b"\n") <= 1 else case.bad.rstrip(b"\r\n")
    try:
        text = bad.decode("utf-8")
    except UnicodeDecodeError:
        assert "raw" not in reject and base64.b64decode(reject["raw_base64"]) == bad
    else:
        assert reject["raw"] == text and "raw_base64" not in reject
    front, back = case.parts()
    dialect = case.dialect
    expected = expected_rows(front + back, case.schema, dialect)
    assert read_rows(out) == expected
    assert len(expected) == case.before + case.after


@pytest.mark.parametrize("variant", ["stdin", "gzip_file", "gzip_stdin"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_stream_inputs_report_the_same_error(case: ErrorCase, variant, tmp_path):
    pack = (lambda d: gzip.compress(d, mtime=0)) if variant.startswith("gzip") else None
    err = run_case(case, tmp_path, None, 2, stdin=variant.endswith("stdin"), pack=pack)
    assert err["source"] == ("-" if variant.endswith("stdin") else str(tmp_path / "input.csv"))
    check(case, err)


# A record longer than the chunk: the error names its line and byte offset.
LONG = "x" * 5000


def long_record_case(line_end="\n", quoted=False) -> ErrorCase:
    name = f'"{LONG}\n{LONG}"' if quoted else LONG
    return ErrorCase("record_too_large", bad(40, name=name, line_end=line_end), None, "", line_end=line_end)


@pytest.mark.parametrize("source", ["file", "stdin", "gzip"])
@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"t{t}")
@pytest.mark.parametrize("variant", ["lf", "crlf", "quoted_newline"])
def test_record_larger_than_the_chunk(variant, threads, source, tmp_path):
    case = long_record_case("\r\n" if variant == "crlf" else "\n", quoted=variant == "quoted_newline")
    front, back = case.parts()
    longest_good = max(record_lengths(front) + record_lengths(back))
    bad_len = len(case.bad)
    for chunk in (longest_good + 3, 4096, bad_len - 1):
        assert longest_good < chunk < bad_len
        pack = (lambda d: gzip.compress(d, mtime=0)) if source == "gzip" else None
        err = run_case(case, tmp_path, chunk, threads, stdin=source == "stdin", pack=pack)
        line, byte, record = case.location()
        assert (err["line"], err["byte"], err["record"], err["column"]) == (line, byte, record, None), err["text"]
        assert err["message"].startswith(TOO_LARGE.format(chunk) + ': "'), err["text"]


def test_record_exactly_the_chunk_size_fits(tmp_path):
    case = long_record_case()
    data = case.data()
    src = tmp_path / "input.csv"
    src.write_bytes(data)
    schema = write_schema(tmp_path / "schema.json", case.schema)
    out = tmp_path / "out.parquet"
    run = convert(src, out, schema=schema, chunk=len(case.bad))
    assert run.returncode == 0, run.stderr
    run = convert(src, out, schema=schema, chunk=len(case.bad) - 1)
    assert run.returncode == 1
    err = parse_error(run.stderr)
    assert err["message"].startswith(TOO_LARGE.format(len(case.bad) - 1) + ': "'), err["text"]


def test_header_larger_than_the_chunk(tmp_path):
    src = tmp_path / "input.csv"
    src.write_bytes(("a" * 100 + ",b\n1,2\n").encode())
    out = tmp_path / "out.parquet"
    run = convert(src, out, chunk=50)
    assert run.returncode == 1
    err = parse_error(run.stderr)
    assert (err["line"], err["byte"], err["record"]) == (1, 0, 0)
    assert err["message"].startswith(TOO_LARGE.format(50) + ': "'), err["text"]
    assert leftovers(out) == []
