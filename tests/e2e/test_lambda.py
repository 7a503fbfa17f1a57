"""The Lambda function end to end: `sluicegate-lambda` started against
cargo-lambda's emulation of the Lambda runtime API (`cargo lambda watch
--only-lambda-apis`), invoked with `cargo lambda invoke --data-file` on the
fixture events aws_lambda_events ships (testdata/lambda), adjusted to point
at buckets in moto's S3 server. Everything on 127.0.0.1."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import orders
from helpers import BIN, REPO
from test_s3 import free_port, keys, read_object, s3  # noqa: F401 (s3 is a fixture)

LAMBDA_BIN = BIN.parent / "sluicegate-lambda"
CARGO_LAMBDA = Path(sys.executable).parent / "cargo-lambda"
FIXTURES = REPO / "testdata" / "lambda"
SCHEMA = REPO / "testdata" / "orders_sample.schema.json"

pytestmark = pytest.mark.skipif(not LAMBDA_BIN.exists() or not CARGO_LAMBDA.exists(),
                                reason="needs the lambda build (cargo build --release --all-features) and cargo-lambda")


def wait_port(port: int, proc: subprocess.Popen, what: str):
    for _ in range(200):
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"{what} did not listen on {port}")


@contextlib.contextmanager
def running_function(s3, d: Path, pipeline: str, output: str, **settings: str):
    """sluicegate-lambda with this pipeline (TOML) and output prefix, and
    these more settings, under its own emulator; yields (client, invoke, log)."""
    client, env = s3
    d.mkdir(parents=True, exist_ok=True)
    (d / "pipeline.toml").write_text(pipeline)
    port = free_port()
    watch = subprocess.Popen([str(CARGO_LAMBDA), "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1",
                              "-P", str(port)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, watch, "cargo lambda watch")
    log = open(d / "function.log", "w")
    fn_env = {**os.environ, **env, "AWS_LAMBDA_FUNCTION_VERSION": "1", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
              "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{port}/.rt", "AWS_LAMBDA_FUNCTION_NAME": "_",
              "SLUICEGATE_PIPELINE": str(d / "pipeline.toml"), "SLUICEGATE_OUTPUT": output, **settings}
    fn = subprocess.Popen([str(LAMBDA_BIN)], env=fn_env, stdout=log, stderr=subprocess.STDOUT)

    def invoke(event: dict) -> tuple[int, str]:
        path = d / f"event-{time.monotonic_ns()}.json"
        path.write_text(json.dumps(event))
        p = subprocess.run([str(CARGO_LAMBDA), "lambda", "invoke", "-A", "127.0.0.1", "-P", str(port), "--data-file",
                            str(path), "-o", "json", "_"], cwd=REPO, capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout + p.stderr

    try:
        yield client, invoke, d / "function.log"
    finally:
        fn.terminate()
        watch.terminate()
        fn.wait(timeout=10)
        watch.wait(timeout=10)
        log.close()


ORDERS = f'name = "orders"\n[input]\nschema = "{SCHEMA}"\n[errors]\npolicy = "fail"\n'


@pytest.fixture(scope="module")
def function(s3, tmp_path_factory):
    with running_function(s3, tmp_path_factory.mktemp("lambda"), ORDERS, "s3://curated/lambda/",
                          SLUICEGATE_INPUT="s3://raw/sched/") as f:
        yield f


def s3_event(bucket: str, key: str, etag: str | None) -> dict:
    event = json.loads((FIXTURES / "s3-event.json").read_text())
    record = event["Records"][0]
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
    record["s3"]["object"]["key"] = key
    record["s3"]["object"]["eTag"] = etag or ""
    return event


def test_an_s3_event_converts_its_object_and_a_redelivery_rewrites_it(function):
    client, invoke, log = function
    put = client.put_object(Bucket="raw", Key="drop/in 1+ü.csv", Body=orders.csv_text(500, seed=6).encode())
    etag = put["ETag"].strip('"')
    # S3 writes the key with spaces as `+` and the rest percent-encoded.
    event = s3_event("raw", "drop/in+1%2B%C3%BC.csv", etag)
    code, out = invoke(event)
    assert code == 0, out + log.read_text()
    assert json.loads(out)["processed"] == 1
    assert read_object(client, "curated", "lambda/drop/in 1+ü.parquet").num_rows == 500
    before = keys(client, "curated", "lambda/")
    code, out = invoke(event)
    assert code == 0, out
    assert keys(client, "curated", "lambda/") == before
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    emf = [line for line in lines if "_aws" in line]
    assert emf and emf[-1]["pipeline"] == "orders" and emf[-1]["RowsRead"] == 500


def test_a_failed_record_fails_the_invocation_and_names_it(function):
    client, invoke, _ = function
    event = s3_event("raw", "drop/missing.csv", None)
    code, out = invoke(event)
    assert code != 0
    assert "record 0 (s3://raw/drop/missing.csv)" in out, out


def test_an_http_api_request_converts_its_body(function):
    client, invoke, _ = function
    event = json.loads((FIXTURES / "apigw-v2-request.json").read_text())
    event["body"] = base64.b64encode(orders.csv_text(40, seed=3).encode()).decode()
    event["isBase64Encoded"] = True
    code, out = invoke(event)
    assert code == 0, out
    response = json.loads(out)
    assert response["statusCode"] == 200, response
    report = json.loads(response["body"])
    assert report["rows_written"] == 40
    request_id = event["requestContext"]["requestId"]
    safe = "".join(c if c.isalnum() or c == "-" else "_" for c in request_id)
    assert read_object(client, "curated", f"lambda/api/{safe}.parquet").num_rows == 40

    # A bad row under the fail policy: 400, with where it is.
    text = orders.csv_text(10, seed=3).splitlines(keepends=True)
    text[4] = "1,2,3\n"
    event["body"] = base64.b64encode("".join(text).encode()).decode()
    code, out = invoke(event)
    assert code == 0, out
    response = json.loads(out)
    assert response["statusCode"] == 400, response
    assert json.loads(response["body"])["location"]["line"] == 5


def scheduled(detail: dict | None = None) -> dict:
    event = json.loads((FIXTURES / "eventbridge-schedule.json").read_text())
    event["detail"] = detail or {}
    return event


def test_a_schedule_converts_what_has_no_output_yet_oldest_first(function):
    client, invoke, log = function
    texts = {f"sched/{k}": orders.csv_text(100 + i, seed=20 + i) for i, k in enumerate(["b.csv", "a.csv", "x/c.csv"])}
    for key, text in texts.items():  # oldest first: put order, then key
        client.put_object(Bucket="raw", Key=key, Body=text.encode())
        time.sleep(1.1)  # LastModified has whole seconds
    client.put_object(Bucket="raw", Key="sched/", Body=b"")  # a directory marker
    client.put_object(Bucket="raw", Key="sched/_SUCCESS", Body=b"done")
    code, out = invoke(scheduled())
    assert code == 0, out + log.read_text()
    r = json.loads(out)
    assert (r["processed"], r["skipped"], r["remaining"], r["failed"]) == (3, 0, 0, 0), r
    assert [rep["source"] for rep in r["reports"]] == [f"s3://raw/{k}" for k in texts]
    for i, key in enumerate(texts):
        out_key = "lambda/" + key.replace(".csv", ".parquet")
        assert read_object(client, "curated", out_key).num_rows == 100 + i
    assert [k for k in keys(client, "curated", "lambda/sched/") if "_SUCCESS" in k] == []

    code, out = invoke(scheduled())
    assert code == 0, out
    r = json.loads(out)
    assert (r["processed"], r["skipped"], r["remaining"]) == (0, 3, 0), r

    client.put_object(Bucket="raw", Key="sched/d.csv", Body=orders.csv_text(7, seed=1).encode())
    code, out = invoke(scheduled())
    assert code == 0, out
    r = json.loads(out)
    assert (r["processed"], r["skipped"]) == (1, 3), r
    assert r["reports"][0]["source"] == "s3://raw/sched/d.csv"
    assert read_object(client, "curated", "lambda/sched/d.parquet").num_rows == 7


def test_a_schedule_names_the_objects_that_failed_and_converts_the_others(function):
    client, invoke, _ = function
    client.put_object(Bucket="raw", Key="sched-bad/good.csv", Body=orders.csv_text(10, seed=2).encode())
    bad = orders.csv_text(10, seed=2).splitlines(keepends=True)
    bad[4] = "1,2,3\n"
    client.put_object(Bucket="raw", Key="sched-bad/bad.csv", Body="".join(bad).encode())
    code, out = invoke(scheduled({"input": "s3://raw/sched-bad/"}))
    assert code != 0
    assert "1 of 2 objects failed" in out and "s3://raw/sched-bad/bad.csv" in out, out
    assert read_object(client, "curated", "lambda/sched-bad/good.parquet").num_rows == 10


def test_a_schedule_into_a_partitioned_prefix_reads_its_manifest(s3, tmp_path):
    pipeline = f'name = "orders"\n[input]\nschema = "{SCHEMA}"\n[output]\npartition_by = ["country"]\n'
    with running_function(s3, tmp_path / "fn", pipeline, "s3://curated/lsched-part/") as (client, invoke, log):
        for k in ["a.csv", "b.csv"]:
            client.put_object(Bucket="raw", Key=f"psched/{k}", Body=orders.csv_text(300, seed=len(k)).encode())
        code, out = invoke(scheduled({"input": "s3://raw/psched/"}))
        assert code == 0, out + log.read_text()
        assert (json.loads(out)["processed"], json.loads(out)["skipped"]) == (2, 0), out
        manifest = json.loads(client.get_object(Bucket="curated", Key="lsched-part/_manifest.json")["Body"].read())
        assert [i["source"] for i in manifest["inputs"]] == ["s3://raw/psched/a.csv", "s3://raw/psched/b.csv"]
        listed = keys(client, "curated", "lsched-part/")
        assert sorted(f"lsched-part/{f['path']}" for f in manifest["files"]) == [k for k in listed if k.endswith(".parquet")]
        assert sum(read_object(client, "curated", f"lsched-part/{f['path']}").num_rows for f in manifest["files"]) == 600
        code, out = invoke(scheduled({"input": "s3://raw/psched/"}))
        assert code == 0, out
        assert (json.loads(out)["processed"], json.loads(out)["skipped"]) == (0, 2), out


@pytest.fixture(scope="module")
def late_function(s3, tmp_path_factory):
    """A margin longer than any invocation: every deadline has passed."""
    with running_function(s3, tmp_path_factory.mktemp("late"), ORDERS, "s3://curated/late/",
                          SLUICEGATE_INPUT="s3://raw/late/", SLUICEGATE_DEADLINE_MARGIN_MS="100000000") as f:
        yield f


def test_a_schedule_out_of_time_leaves_its_objects_for_the_next(late_function):
    client, invoke, log = late_function
    for k in ["a.csv", "b.csv"]:
        client.put_object(Bucket="raw", Key=f"late/{k}", Body=orders.csv_text(50, seed=3).encode())
    code, out = invoke(scheduled())
    assert code == 0, out + log.read_text()
    r = json.loads(out)
    assert (r["processed"], r["remaining"], r["failed"], r["next"]) == (0, 2, 0, "s3://raw/late/a.csv"), r
    assert keys(client, "curated", "late/") == []


def test_an_s3_event_out_of_time_fails_as_retryable_and_writes_nothing(late_function):
    client, invoke, _ = late_function
    put = client.put_object(Bucket="raw", Key="late/event.csv", Body=orders.csv_text(50, seed=4).encode())
    code, out = invoke(s3_event("raw", "late/event.csv", put["ETag"].strip('"')))
    assert code != 0
    said = " ".join(out.replace("│", " ").split())  # the invoker wraps the error's lines
    assert "record 0 (s3://raw/late/event.csv): stopped before the deadline" in said and "retryable" in said, out
    assert keys(client, "curated", "late/") == []


def test_init_is_logged_before_the_first_event(function):
    _, _, log = function
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    init = [line for line in lines if line.get("message") == "init"]
    assert len(init) == 1 and 0 <= init[0]["init_ms"] < 1000, init
