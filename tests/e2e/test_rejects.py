"""The reject policies from the command line: the rejects file beside the
output (and nowhere when nothing is rejected), --rejects, --max-rejects,
--on-error null, and `validate` with its exit code and JSON report. Every
run accounts for every row: read = written + rejected."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from helpers import convert, leftovers, sluicegate, write_schema

SCHEMA = {"columns": [
    {"name": "id", "type": "int64", "nullable": False},
    {"name": "name", "type": "string"},
    {"name": "n", "type": "int32"},
]}
GOOD = "id,name,n\n1,a,1\n2,b,2\n3,c,3\n"
BAD = 'id,name,n\n1,a,1\nx,b,y\n3,"c"d,3\n4,d\n5,e,5\n'


def setup(tmp_path, text):
    src = tmp_path / "in.csv"
    src.write_text(text)
    return src, write_schema(tmp_path / "schema.json", SCHEMA), tmp_path / "out.parquet"


def test_rejects_go_beside_the_output_and_the_rest_is_written(tmp_path):
    src, schema, out = setup(tmp_path, BAD)
    run = convert(src, out, schema=schema, args=["--report", tmp_path / "report.json"])
    assert run.returncode == 0, run.stderr
    assert pq.read_table(out).column("id").to_pylist() == [1, 5]
    lines = [json.loads(line) for line in Path(f"{out}.rejects.ndjson").read_text().splitlines()]
    offsets = [BAD.index(r) for r in ("x,b,y", '3,"c"d', "4,d")]
    assert [(r["line"], r["byte_offset"], r["record"]) for r in lines] == list(zip([3, 4, 5], offsets, [1, 2, 3]))
    assert [[p["code"] for p in r["problems"]] for r in lines] == [
        ["type-error", "type-error"], ["malformed-quote"], ["missing-cell"]]
    assert lines[0]["problems"][1] == {"code": "type-error", "column": "n",
                                       "message": "value does not parse as int32", "value": "y"}
    assert lines[1]["raw"] == '3,"c"d,3'
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["rows_read"], report["rows_written"], report["rows_rejected"]) == (5, 2, 3)
    assert report["rows_read"] == report["rows_written"] + report["rows_rejected"]
    assert report["rejects_by_code"] == {"malformed-quote": 1, "missing-cell": 1, "type-error": 2}
    assert report["rejects_file"] == f"{out}.rejects.ndjson"


def test_no_rejects_no_file_and_a_stale_one_is_removed(tmp_path):
    src, schema, out = setup(tmp_path, GOOD)
    stale = Path(f"{out}.rejects.ndjson")
    stale.write_text("from an earlier run\n")
    run = convert(src, out, schema=schema)
    assert run.returncode == 0, run.stderr
    assert not stale.exists()
    assert pq.read_table(out).num_rows == 3


def test_rejects_path_flag(tmp_path):
    src, schema, out = setup(tmp_path, BAD)
    dead = tmp_path / "dead" / "letters.ndjson"
    dead.parent.mkdir()
    run = convert(src, out, schema=schema, args=["--rejects", dead])
    assert run.returncode == 0, run.stderr
    assert len(dead.read_text().splitlines()) == 3
    assert not Path(f"{out}.rejects.ndjson").exists()


def test_max_rejects_fails_the_run_and_leaves_nothing(tmp_path):
    src, schema, out = setup(tmp_path, BAD)
    for limit in ["2", "50%"]:
        run = convert(src, out, schema=schema, args=["--max-rejects", limit])
        assert run.returncode == 1
        assert "3 of " in run.stderr and "rows rejected, more than the limit" in run.stderr, run.stderr
        assert leftovers(out) == [] and not Path(f"{out}.rejects.ndjson").exists()
    run = convert(src, out, schema=schema, args=["--max-rejects", "3"])
    assert run.returncode == 0, run.stderr
    run = convert(src, out, schema=schema, args=["--max-rejects", "60%"])
    assert run.returncode == 0, run.stderr


def test_fail_policy_stops_at_the_first_bad_row(tmp_path):
    src, schema, out = setup(tmp_path, BAD)
    run = convert(src, out, schema=schema, args=["--on-error", "fail"])
    assert run.returncode == 1
    at = BAD.index("x,b,y")
    assert f'line 3, byte {at}, record 1, column "id": value does not parse as int64: "x"' in run.stderr
    assert leftovers(out) == []


def test_null_policy_keeps_rows_whose_bad_values_can_be_null(tmp_path):
    src, schema, out = setup(tmp_path, "id,name,n\n1,a,zz\nx,b,2\n3,c,3\n")
    run = convert(src, out, schema=schema, args=["--on-error", "null", "--report", tmp_path / "r.json"])
    assert run.returncode == 0, run.stderr
    t = pq.read_table(out)
    assert t.column("id").to_pylist() == [1, 3] and t.column("n").to_pylist() == [None, 3]
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["rows_read"], report["rows_written"], report["rows_rejected"]) == (3, 2, 1)
    assert report["values_nulled"] == 1


def test_validate_exit_codes_and_json_report(tmp_path):
    src, schema, _ = setup(tmp_path, GOOD)
    run = sluicegate("validate", src, "--schema", schema)
    assert run.returncode == 0 and run.stdout.startswith("valid:"), run.stdout
    src, schema, _ = setup(tmp_path, BAD)
    run = sluicegate("validate", src, "--schema", schema)
    assert run.returncode == 1
    assert run.stdout.startswith(f"invalid: {src}: 3 of 5 rows bad"), run.stdout
    run = sluicegate("validate", src, "--schema", schema, "--json", "--limit-errors", "2")
    assert run.returncode == 1
    report = json.loads(run.stdout)
    assert report["valid"] is False
    assert report["stats"]["rows"] == 5 and report["stats"]["invalid_rows"] == 3
    assert [(e["line"], e["field"], e["code"]) for e in report["errors"]] == [
        (3, "id", "type-error"), (3, "n", "type-error"), (4, None, "malformed-quote")]
    assert report["errors_truncated"] is True
    assert list(tmp_path.glob("*.parquet")) == []
