"""The bad-input corpus in testdata/bad: one input per case, each with the
outcome worked out by hand from its bytes in `<case>.expected.json`, run
under every policy at several chunk sizes and thread counts.

An expected file gives either a run that succeeds under `--on-error reject`:

    {"schema": "basic.schema.json", "args": [...], "fails": null,
     "rows_written": N,
     "rejects": [{"line", "byte_offset", "record", "codes", "columns", "raw"?}],
     "written": {"column": [values of the rows written, in order]},
     "null": {"rows_written", "values_nulled", "rejected": [record, ...]}}

(`raw`, when absent, is the line the record starts on, without its line
end; `null`, when absent, means the null policy rejects the same rows and
makes nothing null), or a fault of the file as a whole, which fails the run
under every policy:

    {"schema": ..., "fails": "part of the message", "line": L, "byte": B, "record": R}

(`line` null: the error has no location). Under `fail` a case with rejects
stops at its first one, named by its line, byte, record and first column,
and one without rejects succeeds.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import importlib.util
import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from helpers import REPO, THREADS, chunk_sizes, convert, leftovers, parse_error
from reference import record_lengths

CORPUS = REPO / "testdata" / "bad"
INPUT_SUFFIXES = (".csv", ".ndjson", ".json")
CHUNK_LABELS = ["longest+3", "longest+17", "4096", "default"]
POLICIES = ["reject", "fail", "null"]

# Where the engine disagrees with an expected outcome: (case, policy) or
# (case, policy, chunk label) -> why. None at present.
XFAIL: dict[tuple, str] = {}

# How each code's message starts, in the rejects file and in a failed run's error.
MESSAGES = {
    "type-error": ("value does not parse as ",),
    "constraint-error": ("null value in a column that is not nullable", "value violates constraint "),
    "missing-cell": ("record has ",),
    "extra-cell": ("record has ",),
    "malformed-quote": ("malformed quoting (a quote inside an unquoted field or text after a closing quote)",),
    "encoding-error": ("invalid UTF-8",),
    "json-syntax": ("invalid JSON (",),
    "json-shape": ("JSON record is not an object",),
    "duplicate-key": ("JSON object has the same key twice",),
    "unknown-field": ("JSON object has a key the schema does not name",),
    "too-deep": ("JSON record is nested deeper than ",),
}


def inputs() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir()
                  if p.name.endswith(INPUT_SUFFIXES) and ".schema." not in p.name and ".expected." not in p.name)


def case_name(src: Path) -> str:
    return src.name.rsplit(".", 1)[0]


def expected(src: Path) -> dict:
    return json.loads((CORPUS / f"{case_name(src)}.expected.json").read_text())


def longest(src: Path) -> int:
    """The longest record, its line end included: CSV records by a quote
    scan, NDJSON lines, JSON array elements (one line holds each whole)."""
    data = src.read_bytes()
    if src.suffix == ".csv":
        lengths = record_lengths(data)
    else:
        lengths = [len(line) + 1 for line in data.split(b"\n")]
    return max(lengths, default=1)


def raw_of(src: Path, reject: dict) -> bytes:
    """The record's bytes as the rejects file must show them."""
    if "raw" in reject:
        return reject["raw"].encode()
    line = src.read_bytes()[reject["byte_offset"]:].split(b"\n", 1)[0]
    return line.removesuffix(b"\r")


def plain(value):
    """A value read back from Parquet, as the expected files write it."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def params():
    for src in inputs():
        for policy in POLICIES:
            for label in CHUNK_LABELS:
                name = case_name(src)
                reason = XFAIL.get((name, policy)) or XFAIL.get((name, policy, label))
                marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
                yield pytest.param(src, policy, label, id=f"{name}-{policy}-{label}", marks=marks)


def run(src: Path, exp: dict, policy: str, chunk, threads, tmp_path):
    out = tmp_path / "out.parquet"
    report = tmp_path / "report.json"
    for stale in (out, report, Path(f"{out}.rejects.ndjson")):
        stale.unlink(missing_ok=True)
    args = [*exp.get("args", []), "--on-error", policy, "--report", report]
    result = convert(src, out, schema=CORPUS / exp["schema"], args=args, chunk=chunk, threads=threads)
    return result, out, report


def check_file_fault(src: Path, exp: dict, result, out: Path):
    assert result.returncode == 1, f"the run did not fail: {result.stderr}"
    assert leftovers(out) == [] and not Path(f"{out}.rejects.ndjson").exists()
    if exp["line"] is None:
        errors = [line for line in result.stderr.splitlines() if line.startswith("sluicegate: error:")]
        assert len(errors) == 1 and exp["fails"] in errors[0], result.stderr
        return
    err = parse_error(result.stderr)
    assert err["source"] == str(src), err["text"]
    assert exp["fails"] in err["message"], err["text"]
    assert err["line"] == exp["line"], err["text"]
    if "byte" in exp:
        assert err["byte"] == exp["byte"], err["text"]
    if "record" in exp:
        assert err["record"] == exp["record"], err["text"]


def check_rejects_file(src: Path, path: Path, rejects: list[dict]):
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["line"], r["byte_offset"], r["record"]) for r in lines] == \
        [(r["line"], r["byte_offset"], r["record"]) for r in rejects]
    for got, want in zip(lines, rejects):
        where = f'record {want["record"]}'
        assert got["source"] == str(src), where
        assert [p["code"] for p in got["problems"]] == want["codes"], (where, got["problems"])
        assert [p["column"] for p in got["problems"]] == want["columns"], (where, got["problems"])
        for p in got["problems"]:
            assert p["message"].startswith(MESSAGES[p["code"]]), (where, p)
            assert "value" in p, (where, p)
        raw = raw_of(src, want)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            assert set(got) == {"source", "line", "byte_offset", "record", "problems", "raw_base64"}, where
            assert base64.b64decode(got["raw_base64"]) == raw, where
        else:
            assert set(got) == {"source", "line", "byte_offset", "record", "problems", "raw"}, where
            assert got["raw"] == text, where


def check_written(out: Path, exp: dict, rows: int):
    table = pq.read_table(out)
    assert table.num_rows == rows
    for column, values in exp.get("written", {}).items():
        assert [plain(v) for v in table.column(column).to_pylist()] == values, column


def check_reject(src, exp, result, out, report):
    assert result.returncode == 0, result.stderr
    rejects = exp["rejects"]
    r = json.loads(report.read_text())
    assert (r["rows_read"], r["rows_written"], r["rows_rejected"]) == \
        (exp["rows_written"] + len(rejects), exp["rows_written"], len(rejects))
    assert r["rows_read"] == r["rows_written"] + r["rows_rejected"]
    assert r["rejects_by_code"] == dict(Counter(c for rej in rejects for c in rej["codes"]))
    assert r["values_nulled"] == 0
    rejects_file = Path(f"{out}.rejects.ndjson")
    if rejects:
        assert r["rejects_file"] == str(rejects_file)
        check_rejects_file(src, rejects_file, rejects)
    else:
        assert r["rejects_file"] is None and not rejects_file.exists()
    check_written(out, exp, exp["rows_written"])


def check_fail(src, exp, result, out, report):
    rejects = exp["rejects"]
    if not rejects:
        assert result.returncode == 0, result.stderr
        check_written(out, exp, exp["rows_written"])
        return
    assert result.returncode == 1, f"the run did not fail: {result.stderr}"
    assert leftovers(out) == [] and not Path(f"{out}.rejects.ndjson").exists()
    first = rejects[0]
    err = parse_error(result.stderr)
    assert (err["source"], err["line"], err["byte"], err["record"], err["column"]) == \
        (str(src), first["line"], first["byte_offset"], first["record"], first["columns"][0]), err["text"]
    assert err["message"].startswith(MESSAGES[first["codes"][0]]), err["text"]


def check_null(src, exp, result, out, report):
    assert result.returncode == 0, result.stderr
    by_record = {rej["record"]: rej for rej in exp["rejects"]}
    null = exp.get("null", {"rows_written": exp["rows_written"], "values_nulled": 0, "rejected": list(by_record)})
    rejected = [by_record[i] for i in null["rejected"]]
    r = json.loads(report.read_text())
    assert (r["rows_read"], r["rows_written"], r["rows_rejected"], r["values_nulled"]) == \
        (exp["rows_written"] + len(exp["rejects"]), null["rows_written"], len(rejected), null["values_nulled"])
    assert r["rows_read"] == r["rows_written"] + r["rows_rejected"]
    rejects_file = Path(f"{out}.rejects.ndjson")
    if rejected:
        lines = [json.loads(line) for line in rejects_file.read_text().splitlines()]
        assert [(x["line"], x["byte_offset"], x["record"]) for x in lines] == \
            [(x["line"], x["byte_offset"], x["record"]) for x in rejected]
    else:
        assert not rejects_file.exists()
    assert pq.read_table(out).num_rows == null["rows_written"]


CHECKS = {"reject": check_reject, "fail": check_fail, "null": check_null}


@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"t{t}")
@pytest.mark.parametrize("src,policy,chunk_label", list(params()))
def test_corpus_case(src: Path, policy: str, chunk_label: str, threads: int, tmp_path):
    exp = expected(src)
    chunk = chunk_sizes(longest(src))[CHUNK_LABELS.index(chunk_label)]
    result, out, report = run(src, exp, policy, chunk, threads, tmp_path)
    if exp["fails"] is not None:
        check_file_fault(src, exp, result, out)
    else:
        CHECKS[policy](src, exp, result, out, report)


def test_every_input_has_an_expected_outcome_and_a_schema():
    names = [case_name(p) for p in inputs()]
    assert len(names) >= 40
    for src in inputs():
        exp = expected(src)
        assert (CORPUS / exp["schema"]).is_file(), src.name
    listed = {p.name.removesuffix(".expected.json") for p in CORPUS.glob("*.expected.json")}
    assert listed == set(names)


def test_inputs_are_what_make_py_writes():
    """The committed inputs are byte for byte what the generator writes."""
    spec = importlib.util.spec_from_file_location("corpus_make", CORPUS / "make.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    assert sorted(make.CASES) == sorted(p.name for p in inputs())
    for name, data in make.CASES.items():
        assert (CORPUS / name).read_bytes() == data, name
