"""NDJSON end to end: every valid input at every chunk size and thread count,
and through standard input, gzip and zstd, read back with pyarrow and
compared with `json_reference` (Python's `json` module) value for value,
order included; every malformed input stops the run with its line, byte
offset, record and column, and leaves nothing at the output path."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import zstandard

import orders
from cases import TS_VALUES, cols, crlf
from helpers import THREADS, chunk_sizes, convert, leftovers, parse_error, rust_debug, temp_files, write_schema
from json_reference import expected_json_rows, longest_line, normalise_json_table
from reference import INT_RANGES

CHUNK_LABELS = ["longest+3", "longest+17", "4096", "default"]
NDJSON = ["--format", "ndjson"]


@dataclass
class JsonCase:
    id: str
    data: bytes
    schema: dict
    args: list[str] = field(default_factory=list)
    xfail: str | None = None  # an engine bug this case shows, in words


def jlines(*objs, end: str = "\n") -> bytes:
    """Lines from objects (written by `json.dumps`) or from raw text (kept as
    it is, for escapes and spacing `json.dumps` would not write)."""
    return "".join((o if isinstance(o, str) else json.dumps(o, ensure_ascii=False)) + end for o in objs).encode()


NESTED_SCHEMA = cols(
    ("id", "int32", False),
    ("addr", "struct<city: string, zip: int32, geo: struct<lat: float64, lon: float64>, tags: list<string>>"),
    ("items", "list<struct<sku: string, qty: int32, price: decimal(10,2), at: timestamp[ms, tz=UTC], "
              "day: date32, ok: bool>>"),
    ("matrix", "list<list<int64>>"),
    ("bytes", "list<uint8>"),
    ("tags", "list<string>"),
)
NESTED = jlines(
    {"id": 1, "addr": {"city": "Zürich", "zip": 8001, "geo": {"lat": 47.3769, "lon": 8.5417}, "tags": ["a", "b"]},
     "items": [{"sku": "x-1", "qty": 2, "price": "12.50", "at": "2024-01-01T01:00:00+01:00", "day": "2024-02-29",
                "ok": True}],
     "matrix": [[1, 2, 3], [-4]], "bytes": [0, 255], "tags": ["one"]},
    # nulls at every level: the struct, its fields, a list, its items, a list in a list
    {"id": 2, "addr": None, "items": None, "matrix": None, "bytes": None, "tags": None},
    {"id": 3, "addr": {"city": None, "zip": None, "geo": None, "tags": None},
     "items": [None, {"sku": None, "qty": None, "price": None, "at": None, "day": None, "ok": None}],
     "matrix": [None, [None, 7], []], "bytes": [None], "tags": [None, "", None]},
    # empty lists, an empty object for a struct, missing keys at each level
    {"id": 4, "addr": {}, "items": [], "matrix": [], "bytes": [], "tags": []},
    {"id": 5, "items": [{}, {"qty": 1}, {"sku": "only sku"}], "matrix": [[]]},
    {"id": 6, "addr": {"geo": {"lat": -0.0}, "tags": []}},
    # keys in another order, unknown keys (deep ones too) beside known ones
    {"tags": ["z", "y"], "extra": {"deep": [1, {"x": [[]]}]}, "id": 7,
     "addr": {"unknown": [1, 2], "zip": 1, "city": "Köln", "more": {"a": None}},
     "items": [{"qty": 3, "junk": {"k": "v"}, "sku": "y-2", "ok": False, "price": 0.5,
                "at": "2024-06-30T23:59:59.999-07:00", "day": "1999-12-31"}]},
    # escaped keys name the same columns
    '{"i\\u0064": 8, "\\u0061ddr": {"c\\u0069ty": "escaped keys"}, "t\\u0061gs": ["\\u00e9"]}',
    {"id": 9, "items": [{"sku": s, "qty": i} for i, s in enumerate("abcdefghij")],
     "matrix": [[i] * i for i in range(6)], "bytes": list(range(0, 256, 17))},
)

STRINGS_SCHEMA = cols(("id", "int16", False), ("s", "string"), ("名前", "string"), ("list", "list<string>"))
STRINGS = jlines(
    '{"id": 1, "s": "\\ud83d\\ude00 surrogate pair", "名前": "\\uD83C\\uDF89 upper-case hex", "list": ["\\ud834\\udd1e"]}',
    '{"id": 2, "s": "quote \\" backslash \\\\ slash \\/ done", "名前": "\\"\\"", "list": ["\\\\", "\\""]}',
    '{"id": 3, "s": "\\b\\f\\n\\r\\t", "名前": "nul \\u0000 and \\u001f unit separator", "list": ["\\u007f"]}',
    '{"id": 4, "s": "\\u00e9\\u4e2d\\u6587 \\u0041\\u0042", "名前": "e\\u0301 combining", "list": ["\\u2028\\u2029"]}',
    {"id": 5, "s": "raw UTF-8: héllo wörld 日本語 😀 👩\u200d👩\u200d👧", "名前": "مرحبا עברית", "list": ["Ωmega"]},
    {"id": 6, "s": "braces { } [ ] and : , inside", "名前": '{"not": "an object"}', "list": ["[1, 2]"]},
    {"id": 7, "s": "", "名前": " ", "list": [""]},
    {"id": 8, "s": "a long string " + "x" * 300 + " end", "名前": "\\n is two characters here", "list": []},
    {"id": 9, "s": "line one\nline two\r\nline three", "名前": "tab\there", "list": ["\n"]},
    '{"id": 10, "s": "mixed \\ud83d\\ude00 raw 😀 and \\u00e9 é"}',
)

INT_TYPES = list(INT_RANGES)
INT_SCHEMA = cols(*[(t, t, False) for t in INT_TYPES])
INTS = jlines(
    {t: INT_RANGES[t][0] for t in INT_TYPES},
    {t: INT_RANGES[t][1] for t in INT_TYPES},
    {t: 0 for t in INT_TYPES},
    {t: -1 if t.startswith("int") else 1 for t in INT_TYPES},
    {t: INT_RANGES[t][0] + 1 for t in INT_TYPES},
    {t: INT_RANGES[t][1] - 1 for t in INT_TYPES},
    # as strings, parsed as CSV fields are
    {t: str(INT_RANGES[t][1]) for t in INT_TYPES},
    {t: str(INT_RANGES[t][0]) for t in INT_TYPES},
    # whole numbers written with a fraction or an exponent
    "{" + ", ".join(f'"{t}": {v}' for t, v in zip(INT_TYPES, ["1.0", "-2e0", "1E2", "-0.0", "0e5", "25e1",
                                                                "6.5e4", "1.0e15"])) + "}",
)

FLOAT_SCHEMA = cols(("f64", "float64", False), ("f32", "float32", False))
FLOATS = jlines(*[f'{{"f64": {a}, "f32": {b}}}' for a, b in [
    ("1.5", "1.5"),
    ("-0.0", "-0.0"),
    ("0.1", "0.1"),
    ("1e10", "1e10"),
    ("1E+10", "1E-10"),
    ("1.7976931348623157e308", "3.4028234663852886e38"),
    ("-1.7976931348623157e308", "-3.4028235e38"),
    ("5e-324", "1e-45"),
    ("2.2250738585072014e-308", "1.17549435e-38"),
    ("1e-400", "-1e-50"),
    ("123456789.123456789", "123456789.123456789"),
    ("9007199254740993", "16777217"),
    ("-9223372036854775808", "-16777216"),
    ("18446744073709551615", "4294967295"),
    ("3", "4"),
    ("0", "-0"),
    ("2.5e-3", "6.02214076e23"),
    ('"nan"', '"NaN"'),
    ('"inf"', '"-inf"'),
    ('"1.5"', '"-2.5e3"'),
]])

DECIMAL_SCHEMA = cols(("d12_2", "decimal(12,2)"), ("d38_0", "decimal(38,0)"), ("d38_10", "decimal(38,10)"),
                      ("d5_5", "decimal(5,5)"))
DECIMALS = jlines(*[f'{{"d12_2": {a}, "d38_0": {b}, "d38_10": {c}, "d5_5": {d}}}' for a, b, c, d in [
    ("1234.5", "0", "0.0000000001", "0.12345"),
    ('"1234.50"', '"99999999999999999999999999999999999999"', '"-9999999999999999999999999999.9999999999"',
     '"-0.99999"'),
    ("-0.5", "18446744073709551615", "1234567890.12345", "-0.00001"),
    ('"9999999999.99"', '"-99999999999999999999999999999999999999"', "-0.5", '".5"'),
    ("-9999999999.99", "-9223372036854775808", "3.25", "0"),
    ("0.00", "-0", "1.2300000000", "0.10000"),
    ('"+3.1"', '"007"', '"0.0"', '"-0"'),
    ("7", "1e3", "1E-10", "5e-5"),
    ("1.230", "1.0", "1", "0.00001"),
    ("null", "null", "null", "null"),
]])

# A JSON number goes into a decimal column from its digits, not through a
# float64 or a 64-bit integer: more digits than those hold are all kept, and an
# integer past the 64-bit range is valid JSON that fits decimal(38,0).
DECIMAL_DIGITS_SCHEMA = cols(("d38_19", "decimal(38,19)"), ("d38_0", "decimal(38,0)"))
DECIMAL_FRACTION_DIGITS = jlines(
    '{"d38_19": 0.1234567890123456789, "d38_0": 1}',
    '{"d38_19": 1234567890123456789.1234567890123456789, "d38_0": 2}',
)
DECIMAL_WIDE_INTEGERS = jlines(
    '{"d38_19": 1, "d38_0": 99999999999999999999999999999999999999}',
    '{"d38_19": 2, "d38_0": 18446744073709551616}',
)

TS_SCHEMA = cols(("d38_19", "decimal(38,19)"), ("d38_0", "decimal(38,0)"))
DECIMAL_DIGITS = jlines(
    '{"d38_19": 0.1234567890123456789, "d38_0": 1}',
    '{"d38_19": 1234567890123456789.1234567890123456789, "d38_0": 2}',
    '{"d38_19": 1, "d38_0": 99999999999999999999999999999999999999}',
    '{"d38_19": 2, "d38_0": 18446744073709551616}',
)

TS_SCHEMA = cols(
    ("text", "string", False),
    ("ms_utc", "timestamp[ms, tz=UTC]"),
    ("s_utc", "timestamp[s, tz=UTC]"),
    ("us_utc", "timestamp[us, tz=UTC]"),
    ("ns_utc", "timestamp[ns, tz=UTC]"),
    ("ms_wall", "timestamp[ms]"),
    ("us_ny", "timestamp[us, tz=America/New_York]"),
    ("day", "date32"),
)
TS_COLUMNS = [c["name"] for c in TS_SCHEMA["columns"][1:-1]]
TIMESTAMPS = jlines(
    *[dict({"text": v}, **{c: v for c in TS_COLUMNS if not (c == "us_ny" and v.startswith("2024-11-03T01:30"))},
           day=v[:10]) for v in TS_VALUES],
    {"text": "nulls", **{c: None for c in TS_COLUMNS}, "day": None},
    {"text": "dates", "day": "1970-01-01"},
    {"text": "dates", "day": "0001-01-01"},
    {"text": "dates", "day": "9999-12-31"},
    {"text": "dates", "day": "1969-12-31"},
)

BOOL_SCHEMA = cols(("b", "bool", False), ("n", "int8"), ("s", "string"))
BOOLS = jlines(
    {"b": True, "n": 1, "s": True},
    {"b": False, "n": 2, "s": False},
    {"b": "true", "n": 3, "s": "true"},
    {"b": "False", "n": 4, "s": "False"},
    {"b": "1", "n": 5},
    {"b": "no", "n": 6},
    {"b": "Y", "n": 7},
)

NUMBERS_AS_TEXT_SCHEMA = cols(("id", "int8", False), ("s", "string"))
NUMBERS_AS_TEXT = jlines(*[f'{{"id": {i}, "s": {v}}}' for i, v in enumerate([
    "42", "-7", "0", "18446744073709551615", "-9223372036854775808", "2.5", "-0.5", "0.1", "1e2", "1.0",
    "-0.0", "123456.789", "true", "false", "null", '"text"'])])

NULLS_SCHEMA = cols(
    ("id", "int64", False), ("b", "bool"), ("i8", "int8"), ("u64", "uint64"), ("f32", "float32"),
    ("f64", "float64"), ("d", "decimal(10,3)"), ("s", "string"), ("dt", "date32"),
    ("ts", "timestamp[ms, tz=UTC]"), ("st", "struct<a: int8>"), ("l", "list<int8>"),
)
NULLS = jlines(
    {"id": 1, "b": True, "i8": -1, "u64": 1, "f32": 1.5, "f64": 2.5, "d": "1.250", "s": "x", "dt": "2024-01-01",
     "ts": "2024-01-01T00:00:00Z", "st": {"a": 1}, "l": [1]},
    {"id": 2, "b": None, "i8": None, "u64": None, "f32": None, "f64": None, "d": None, "s": None, "dt": None,
     "ts": None, "st": None, "l": None},
    {"id": 3},
    {"id": 4, "s": "", "st": {}, "l": []},
    {"id": 5, "b": False, "d": -0.001, "ts": "2024-01-01T12:00:00+05:30"},
    {"u64": 9, "id": 6},
)

# Keys the schema does not name, of every JSON kind, are skipped.
UNKNOWN_SCHEMA = cols(("id", "int32", False), ("name", "string"))
UNKNOWN = jlines(
    {"id": 1, "name": "a", "extra": 1},
    {"before": [1, 2, {"id": 99, "name": "not me"}], "id": 2, "after": {"name": "nor me", "id": [3]}},
    {"id": 3, "x": None, "y": True, "z": "str with \"quotes\" and {braces}", "w": -1.5e-3, "name": "c"},
    {"deep": {"a": {"b": {"c": {"d": [[[[{"e": None}]]]]}}}}, "id": 4},
    {"id": 5, "NAME": "case matters", "Id": 50},
)

# Blank lines (empty, spaces and tabs, CR alone) are skipped wherever they are.
BLANKS_SCHEMA = cols(("a", "int32", False), ("b", "string"))
BLANKS = b'\n\n{"a": 1, "b": "x"}\n\n   \n\t\n{"a": 2, "b": "y"}\n\r\n  \r\n{"a": 3}\n\n\n'
NO_FINAL_NEWLINE = b'{"a": 1, "b": "x"}\n{"a": 2, "b": "last"}'
WHITESPACE = (b'  {"a": 1, "b": "leading spaces"}\n{ "a" : 2 , "b" : "spaced" }   \n'
              b'\t{"a":3,"b":"tab first"}\t\n{"a":4,"b":"\\u0020"}\n')

ORDERS = orders.ndjson_text(300, 3).encode()


CASES = [
    JsonCase("nested", NESTED, NESTED_SCHEMA),
    JsonCase("nested_crlf", crlf(NESTED), NESTED_SCHEMA),
    JsonCase("strings_and_escapes", STRINGS, STRINGS_SCHEMA),
    JsonCase("integer_edges", INTS, INT_SCHEMA),
    JsonCase("floats", FLOATS, FLOAT_SCHEMA),
    JsonCase("decimals", DECIMALS, DECIMAL_SCHEMA),
    JsonCase("timestamps_and_dates", TIMESTAMPS, TS_SCHEMA),
    JsonCase("timestamps_and_dates_crlf", crlf(TIMESTAMPS), TS_SCHEMA),
    JsonCase("bools", BOOLS, BOOL_SCHEMA),
    JsonCase("numbers_and_bools_into_string", NUMBERS_AS_TEXT, NUMBERS_AS_TEXT_SCHEMA),
    JsonCase("nulls_and_missing_keys", NULLS, NULLS_SCHEMA),
    JsonCase("unknown_keys_ignored", UNKNOWN, UNKNOWN_SCHEMA),
    JsonCase("blank_lines", BLANKS, BLANKS_SCHEMA),
    JsonCase("blank_lines_crlf", crlf(BLANKS), BLANKS_SCHEMA),
    JsonCase("no_final_newline", NO_FINAL_NEWLINE, BLANKS_SCHEMA),
    JsonCase("whitespace_around_tokens", WHITESPACE, BLANKS_SCHEMA),
    JsonCase("orders_300", ORDERS, orders.schema()),
    JsonCase("orders_300_crlf", crlf(ORDERS), orders.schema()),
    JsonCase("decimal_from_numbers_past_17_digits", DECIMAL_FRACTION_DIGITS, DECIMAL_DIGITS_SCHEMA),
    JsonCase("decimal_from_integers_past_64_bits", DECIMAL_WIDE_INTEGERS, DECIMAL_DIGITS_SCHEMA),
]


def prepare(case: JsonCase, tmp_path, data: bytes | None = None, name: str = "input.ndjson"):
    src = tmp_path / name
    src.write_bytes(case.data if data is None else data)
    return src, write_schema(tmp_path / "schema.json", case.schema)


def read_json_rows(path) -> list[tuple]:
    return normalise_json_table(pq.read_table(path))


@pytest.fixture(scope="module")
def expected():
    """The reference rows of each case, computed once."""
    return {c.id: expected_json_rows(c.data, c.schema) for c in CASES}


def case_param(c: JsonCase):
    marks = [pytest.mark.xfail(reason=c.xfail, strict=True)] if c.xfail else []
    return pytest.param(c, id=c.id, marks=marks)


def assert_rows(out, want):
    rows = read_json_rows(out)
    assert len(rows) == len(want)
    for i, (got, ref) in enumerate(zip(rows, want)):
        assert got == ref, f"row {i} differs"


@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"t{t}")
@pytest.mark.parametrize("chunk_label", CHUNK_LABELS)
@pytest.mark.parametrize("case", [case_param(c) for c in CASES])
def test_rows_match_reference(case: JsonCase, chunk_label, threads, tmp_path, expected):
    src, schema = prepare(case, tmp_path)
    chunk = chunk_sizes(longest_line(case.data))[CHUNK_LABELS.index(chunk_label)]
    out = tmp_path / "out.parquet"
    run = convert(src, out, schema=schema, args=case.args, chunk=chunk, threads=threads)
    assert run.returncode == 0, run.stderr
    assert temp_files(tmp_path) == []
    assert_rows(out, expected[case.id])
    assert pq.ParquetFile(out).metadata.num_rows == len(expected[case.id])


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def zst(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=3).compress(data)


# How the bytes reach the engine: (pack, through stdin). A file's name says
# nothing (input.bin), so `--format ndjson` is given.
SOURCES = {
    "stdin": (lambda d: d, True),
    "gzip_file": (gz, False),
    "zstd_file": (zst, False),
    "gzip_stdin": (gz, True),
    "zstd_stdin": (zst, True),
    "gzip_two_members": (lambda d: gz(d[: len(d) // 2]) + gz(d[len(d) // 2:]), False),
}
SOURCE_CASES = [c for c in CASES if c.id in ("nested", "strings_and_escapes", "timestamps_and_dates_crlf",
                                             "blank_lines_crlf", "no_final_newline", "orders_300")]
# (chunk, threads): tiny chunks on one and four workers, the default on two.
GRID = [("longest+3", 1), ("longest+3", 4), ("default", 2)]


@pytest.mark.parametrize("chunk_label,threads", GRID, ids=[f"{c}-t{t}" for c, t in GRID])
@pytest.mark.parametrize("source", list(SOURCES))
@pytest.mark.parametrize("case", SOURCE_CASES, ids=lambda c: c.id)
def test_stdin_and_compressed_give_the_same_rows(case: JsonCase, source, chunk_label, threads, tmp_path, expected):
    pack, via_stdin = SOURCES[source]
    chunk = longest_line(case.data) + 3 if chunk_label == "longest+3" else None
    out = tmp_path / "out.parquet"
    schema = write_schema(tmp_path / "schema.json", case.schema)
    packed = pack(case.data)
    if via_stdin:
        run = convert("-", out, schema=schema, args=NDJSON, chunk=chunk, threads=threads, stdin=packed)
    else:
        src = tmp_path / "input.bin"
        src.write_bytes(packed)
        run = convert(src, out, schema=schema, args=NDJSON, chunk=chunk, threads=threads)
    assert run.returncode == 0, run.stderr
    assert_rows(out, expected[case.id])


@pytest.mark.parametrize("name,pack", [("in.jsonl", None), ("in.ndjson.gz", gz), ("in.jsonl.zst", zst)])
def test_format_from_the_file_name(name, pack, tmp_path, expected):
    case = next(c for c in CASES if c.id == "nested")
    src, schema = prepare(case, tmp_path, pack(case.data) if pack else case.data, name)
    out = tmp_path / "out.parquet"
    run = convert(src, out, schema=schema)
    assert run.returncode == 0, run.stderr
    assert_rows(out, expected["nested"])


def test_exact_fit_chunk_holds_the_longest_line(tmp_path, expected):
    case = next(c for c in CASES if c.id == "strings_and_escapes")
    src, schema = prepare(case, tmp_path)
    out = tmp_path / "out.parquet"
    for threads in THREADS:
        run = convert(src, out, schema=schema, chunk=longest_line(case.data), threads=threads)
        assert run.returncode == 0, run.stderr
        assert_rows(out, expected[case.id])


@pytest.mark.parametrize("threads", [2, 4])
def test_order_survives_small_queues_and_many_chunks(tmp_path, threads, expected):
    """Hundreds of one-line chunks through a queue and reorder window of one."""
    case = next(c for c in CASES if c.id == "orders_300")
    src, schema = prepare(case, tmp_path)
    out = tmp_path / "out.parquet"
    run = convert(src, out, schema=schema, chunk=longest_line(case.data) + 1, threads=threads,
                  args=["--queue-depth", "1", "--reorder-window", "1"])
    assert run.returncode == 0, run.stderr
    assert_rows(out, expected[case.id])


@pytest.mark.parametrize("case", [c for c in CASES if c.id in ("nested", "timestamps_and_dates", "decimals")],
                         ids=lambda c: c.id)
def test_parquet_schema_follows_the_schema_file(case: JsonCase, tmp_path):
    src, schema = prepare(case, tmp_path)
    out = tmp_path / "out.parquet"
    run = convert(src, out, schema=schema)
    assert run.returncode == 0, run.stderr
    got = [(f.name, f.nullable) for f in pq.read_schema(out)]
    assert got == [(c["name"], c.get("nullable", True)) for c in case.schema["columns"]]


# -- errors -------------------------------------------------------------------

PARSE = "value does not parse as {}"
NULL = "null value in a column that is not nullable"
NOT_OBJECT = "JSON record is not an object"
UTF8 = "invalid UTF-8"
DUPLICATE = "JSON object has the same key twice"
UNKNOWN_KEY = "JSON object has a key the schema does not name"
SYNTAX = "invalid JSON ("  # then the parser's reason and ")"
TOO_LARGE = "record is larger than the largest record the budget allows ({} bytes); raise --memory or --chunk-bytes"

ERR_SCHEMA = cols(("id", "int64", False), ("name", "string"), ("small", "uint8"),
                  ("addr", "struct<city: string, codes: list<int8>>"), ("ts", "timestamp[ms, tz=UTC]"),
                  ("flag", "bool"))


def good_line(i: int) -> str:
    return json.dumps({"id": i, "name": f"name {i}, \"quoted\" é", "small": i % 200,
                       "addr": {"city": "Zürich", "codes": [i % 100, -1]},
                       "ts": f"2024-01-01T00:00:{i % 60:02d}+05:30", "flag": i % 2 == 0}, ensure_ascii=False)


@dataclass
class JsonError:
    id: str
    bad: bytes  # the bad line, without its line end
    column: str | None
    message: str  # the message between the location and the shown line
    before: int = 40  # good lines in front of the bad one
    after: int = 40  # good lines behind it
    line_end: str = "\n"
    blank_every: int = 0  # a blank line after every n-th good line (0: none)
    schema: dict = field(default_factory=lambda: ERR_SCHEMA)
    args: list[str] = field(default_factory=list)
    xfail: str | None = None
    value: str | None = None  # the value at fault the error shows (None: the whole line)

    def good(self, start: int, stop: int) -> str:
        out = []
        for i in range(start, stop):
            out.append(good_line(i) + self.line_end)
            if self.blank_every and i % self.blank_every == 0:
                out.append(self.line_end)
        return "".join(out)

    def parts(self) -> tuple[bytes, bytes]:
        front = self.good(0, self.before).encode()
        back = self.good(self.before + 1, self.before + 1 + self.after).encode()
        return front, back

    def data(self) -> bytes:
        front, back = self.parts()
        end = self.line_end.encode() if self.after else b""
        return front + self.bad + end + back

    def location(self) -> tuple[int, int, int]:
        """(line, byte, record), counted from the bytes in front of the bad line."""
        front, _ = self.parts()
        return front.count(b"\n") + 1, len(front), self.before

    def shown(self) -> str:
        return rust_debug(self.value if self.value is not None else self.bad.decode("utf-8", "replace"))

    def longest(self) -> int:
        return longest_line(self.data())


def bad_line(i: int = 40, **over) -> bytes:
    obj = json.loads(good_line(i))
    obj.update(over)
    return json.dumps(obj, ensure_ascii=False).encode()


class IntEdge(JsonError):
    """One number just past an integer type's range, among lines of (id, v)."""

    def __init__(self, type_name: str, v: int, xfail: str | None = None):
        schema = cols(("id", "int64", False), ("v", type_name))
        super().__init__(f"{type_name}_{v}", f'{{"id": 30, "v": {v}}}'.encode(), "v", PARSE.format(type_name),
                         before=30, after=30, schema=schema, xfail=xfail, value=str(v))

    def good(self, start, stop):
        return "".join(f'{{"id": {i}, "v": {i % 100}}}\n' for i in range(start, stop))


ERRORS = [
    JsonError("syntax_trailing_comma", b'{"id": 40, "name": "x",}', None, SYNTAX),
    JsonError("syntax_missing_comma", b'{"id": 40 "name": "x"}', None, SYNTAX),
    JsonError("syntax_unquoted_key", b'{id: 40}', None, SYNTAX),
    JsonError("syntax_single_quotes", b"{'id': 40}", None, SYNTAX),
    JsonError("syntax_two_objects_on_one_line", b'{"id": 40} {"id": 41}', None, SYNTAX),
    JsonError("syntax_raw_tab_in_string", b'{"id": 40, "name": "a\tb"}', None, SYNTAX),
    JsonError("syntax_bad_escape", b'{"id": 40, "name": "\\x41"}', None, SYNTAX),
    JsonError("syntax_lone_surrogate", b'{"id": 40, "name": "\\ud83d alone"}', None, SYNTAX),
    JsonError("syntax_nan_literal", b'{"id": 40, "small": NaN}', None, SYNTAX),
    JsonError("truncated_last_line", bad_line()[:-12], None, SYNTAX, after=0),
    JsonError("truncated_line_in_the_middle", bad_line()[:30], None, SYNTAX),
    JsonError("syntax_crlf", b'{"id": 40,, "name": "x"}', None, SYNTAX, line_end="\r\n"),
    JsonError("not_an_object_array", b'[40, "name"]', None, NOT_OBJECT),
    JsonError("not_an_object_number", b"40", None, NOT_OBJECT),
    JsonError("not_an_object_string", b'"{\\"id\\": 40}"', None, NOT_OBJECT),
    JsonError("not_an_object_null", b"null", None, NOT_OBJECT),
    JsonError("not_an_object_first_line", b"true", None, NOT_OBJECT, before=0),
    JsonError("invalid_utf8_in_value", bad_line(name="bad @ byte").replace(b"@", b"\xff"), None, UTF8),
    JsonError("invalid_utf8_in_unknown_key", b'{"id": 40, "\xc3(": 1}', None, UTF8),
    JsonError("invalid_utf8_truncated_sequence", bad_line(name="cut @").replace(b"@", b"\xe2\x82"), None, UTF8,
              line_end="\r\n"),
    JsonError("uint8_256", bad_line(small=256), "small", PARSE.format("uint8"), value="256"),
    JsonError("uint8_negative", bad_line(small=-1), "small", PARSE.format("uint8"), value="-1"),
    JsonError("uint8_fraction", bad_line(small=1.5), "small", PARSE.format("uint8"), value="1.5"),
    JsonError("uint8_string", bad_line(small="2x"), "small", PARSE.format("uint8"), value="2x"),
    JsonError("uint8_256_crlf_after_blank_lines", bad_line(small=256), "small", PARSE.format("uint8"),
              line_end="\r\n", blank_every=3, value="256"),
    JsonError("nested_list_item_out_of_range", bad_line(addr={"city": "x", "codes": [1, 128]}), "addr.codes",
              PARSE.format("int8"), value="128"),
    JsonError("struct_given_a_list", bad_line(addr=[1]), "addr", PARSE.format("struct<city: string, codes: list<int8>>")),
    JsonError("list_given_a_string", bad_line(addr={"codes": "1,2"}), "addr.codes", PARSE.format("list<int8>"), value="1,2"),
    JsonError("bad_timestamp", bad_line(ts="2024-13-01T00:00:00Z"), "ts", PARSE.format("timestamp[ms, tz=UTC]"), value="2024-13-01T00:00:00Z"),
    JsonError("timestamp_given_a_number", bad_line(ts=1704067200), "ts", PARSE.format("timestamp[ms, tz=UTC]"), value="1704067200"),
    JsonError("bool_given_a_number", bad_line(flag=1), "flag", PARSE.format("bool"), value="1"),
    JsonError("null_in_non_nullable", bad_line(id=None), "id", NULL),
    JsonError("missing_non_nullable_key", b'{"name": "no id"}', "id", NULL),
    JsonError("duplicate_key", b'{"id": 40, "name": "a", "name": "b"}', "name", DUPLICATE),
    JsonError("unknown_key_refused", bad_line(extra=1), "extra", UNKNOWN_KEY, args=["--unknown-fields", "error"]),
    JsonError("last_line_without_newline", bad_line(small=300), "small", PARSE.format("uint8"), after=0, value="300"),
    JsonError("first_line", bad_line(0, small=300), "small", PARSE.format("uint8"), before=0, value="300"),
]
ERRORS += [IntEdge(t, v) for t, (lo, hi) in INT_RANGES.items() for v in (lo - 1, hi + 1)]


def err_param(c: JsonError):
    marks = [pytest.mark.xfail(reason=c.xfail, strict=True)] if c.xfail else []
    return pytest.param(c, id=c.id, marks=marks)


FAIL = ["--on-error", "fail"]


@pytest.mark.parametrize("case", [err_param(c) for c in ERRORS])
def test_bad_line_is_rejected_and_the_rest_written(case: JsonError, tmp_path):
    """Under the default reject policy the bad line is set aside, located as
    the fail policy reports it, and every other line is written."""
    schema = write_schema(tmp_path / "schema.json", case.schema)
    src = tmp_path / "input.ndjson"
    src.write_bytes(case.data())
    out = tmp_path / "out.parquet"
    run = convert(src, out, schema=schema, args=NDJSON + case.args + ["--report", tmp_path / "report.json"])
    assert run.returncode == 0, run.stderr
    rejects = [json.loads(line) for line in Path(f"{out}.rejects.ndjson").read_text().splitlines()]
    assert len(rejects) == 1, rejects
    line, byte, record = case.location()
    assert (rejects[0]["line"], rejects[0]["byte_offset"], rejects[0]["record"]) == (line, byte, record)
    assert rejects[0]["problems"][0]["column"] == case.column
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["rows_rejected"] == 1 and report["rows_read"] == report["rows_written"] + 1
    assert pq.read_table(out).num_rows == report["rows_written"]


def run_error(case: JsonError, tmp_path, chunk, threads, *, stdin=False, pack=None, name="input.ndjson"):
    schema = write_schema(tmp_path / "schema.json", case.schema)
    data = pack(case.data()) if pack else case.data()
    out = tmp_path / "out.parquet"
    if stdin:
        run = convert("-", out, schema=schema, args=NDJSON + case.args + FAIL, chunk=chunk, threads=threads,
                      stdin=data)
    else:
        src = tmp_path / name
        src.write_bytes(data)
        run = convert(src, out, schema=schema, args=NDJSON + case.args + FAIL, chunk=chunk, threads=threads)
    assert run.returncode == 1, f"exit code {run.returncode}, stderr:\n{run.stderr}"
    assert leftovers(out) == [], "a failed run left files behind"
    return parse_error(run.stderr)


def check_error(case: JsonError, err: dict):
    line, byte, record = case.location()
    assert (err["line"], err["byte"], err["record"], err["column"]) == (line, byte, record, case.column), err["text"]
    if case.message == SYNTAX:
        # The parser's reason is its own: only its place in the message is checked.
        assert err["message"].startswith(SYNTAX), err["text"]
        assert err["message"].endswith(f"): {case.shown()}"), err["text"]
    else:
        assert err["message"] == f"{case.message}: {case.shown()}", err["text"]


@pytest.mark.parametrize("case", [err_param(c) for c in ERRORS])
def test_error_location_at_every_chunk_size_and_thread_count(case: JsonError, tmp_path):
    for chunk in chunk_sizes(case.longest()):
        for threads in THREADS:
            err = run_error(case, tmp_path, chunk, threads)
            where = f"chunk={chunk or 'default'} threads={threads}: "
            assert err["source"] == str(tmp_path / "input.ndjson"), where + err["text"]
            try:
                check_error(case, err)
            except AssertionError as e:
                raise AssertionError(where + str(e)) from None


@pytest.mark.parametrize("variant", ["stdin", "gzip_file", "zstd_stdin"])
@pytest.mark.parametrize("case", [err_param(c) for c in ERRORS])
def test_stream_inputs_report_the_same_error(case: JsonError, variant, tmp_path):
    pack = {"stdin": None, "gzip_file": gz, "zstd_stdin": zst}[variant]
    err = run_error(case, tmp_path, None, 2, stdin=variant.endswith("stdin"), pack=pack, name="input.bin")
    assert err["source"] == ("-" if variant.endswith("stdin") else str(tmp_path / "input.bin"))
    check_error(case, err)


@pytest.mark.parametrize("source", ["file", "stdin", "gzip"])
@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"t{t}")
def test_line_longer_than_the_chunk(source, threads, tmp_path):
    case = JsonError("line_too_large", bad_line(name="x" * 5000), None, "")
    front, back = case.parts()
    longest_good = max(longest_line(front), longest_line(back))
    for chunk in (longest_good + 3, 4096, len(case.bad)):
        assert longest_good < chunk <= len(case.bad)  # the bad line's LF makes it one byte too long
        pack = gz if source == "gzip" else None
        err = run_error(case, tmp_path, chunk, threads, stdin=source == "stdin", pack=pack)
        line, byte, record = case.location()
        assert (err["line"], err["byte"], err["record"], err["column"]) == (line, byte, record, None), err["text"]
        assert err["message"].startswith(TOO_LARGE.format(chunk) + ': "{'), err["text"]
