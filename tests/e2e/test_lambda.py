"""The Lambda function end to end: `sluicegate-lambda` started against
cargo-lambda's emulation of the Lambda runtime API (`cargo lambda watch
--only-lambda-apis`), invoked with `cargo lambda invoke --data-file` on the
fixture events aws_lambda_events ships (testdata/lambda), adjusted to point
at buckets in moto's S3 server. Everything on 127.0.0.1."""

from __future__ import annotations

import base64
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


@pytest.fixture(scope="module")
def function(s3, tmp_path_factory):
    client, env = s3
    d = tmp_path_factory.mktemp("lambda")
    pipeline = d / "orders.toml"
    pipeline.write_text(f'name = "orders"\n[input]\nschema = "{SCHEMA}"\n[errors]\npolicy = "fail"\n')
    port = free_port()
    watch = subprocess.Popen([str(CARGO_LAMBDA), "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1",
                              "-P", str(port)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, watch, "cargo lambda watch")
    log = open(d / "function.log", "w")
    fn_env = {**os.environ, **env, "AWS_LAMBDA_FUNCTION_VERSION": "1", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
              "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{port}/.rt", "AWS_LAMBDA_FUNCTION_NAME": "_",
              "SLUICEGATE_PIPELINE": str(pipeline), "SLUICEGATE_OUTPUT": "s3://curated/lambda/"}
    fn = subprocess.Popen([str(LAMBDA_BIN)], env=fn_env, stdout=log, stderr=subprocess.STDOUT)

    def invoke(event: dict) -> tuple[int, str]:
        path = d / f"event-{time.monotonic_ns()}.json"
        path.write_text(json.dumps(event))
        p = subprocess.run([str(CARGO_LAMBDA), "lambda", "invoke", "-A", "127.0.0.1", "-P", str(port), "--data-file",
                            str(path), "-o", "json", "_"], cwd=REPO, capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout + p.stderr

    yield client, invoke, d / "function.log"
    fn.terminate()
    watch.terminate()
    fn.wait(timeout=10)
    watch.wait(timeout=10)
    log.close()


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
