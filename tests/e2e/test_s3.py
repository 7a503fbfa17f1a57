"""s3:// inputs and outputs against a real S3-compatible server on loopback
(moto's server, started here and stopped at the end): objects converted
bucket to bucket, keys with spaces, `+` and unicode, outputs large enough to
go up as multipart uploads, partitioned outputs with their manifest, a rerun
that replaces the same objects, a failed or killed run that leaves no
object, two runs racing on one manifest."""

from __future__ import annotations

import io
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import orders
from helpers import BIN, REPO

SCHEMA = REPO / "testdata" / "orders_sample.schema.json"
boto3 = pytest.importorskip("boto3")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3():
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": endpoint}
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test",
                          region_name="us-east-1")
    for _ in range(100):
        try:
            client.list_buckets()
            break
        except Exception:
            time.sleep(0.1)
    else:
        server.kill()
        pytest.fail("moto_server did not start")
    for bucket in ("raw", "curated"):
        client.create_bucket(Bucket=bucket)
    yield client, env
    server.terminate()
    server.wait(timeout=10)


def run(env: dict, *args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **env})


def read_object(client, bucket: str, key: str):
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return pq.read_table(io.BytesIO(body))


def keys(client, bucket: str, prefix: str = "") -> list[str]:
    out = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out += [o["Key"] for o in page.get("Contents", [])]
    return sorted(out)


@pytest.mark.parametrize("key", ["in/orders.csv", "in/with space+plus ünï.csv"])
def test_object_to_object_equals_a_local_conversion(s3, tmp_path, key):
    client, env = s3
    text = orders.csv_text(2000, seed=9)
    client.put_object(Bucket="raw", Key=key, Body=text.encode())
    local_in = tmp_path / "in.csv"
    local_in.write_text(text)
    local_out = tmp_path / "local.parquet"
    r = run(env, "convert", local_in, "--schema", SCHEMA, "-o", local_out, "--quiet")
    assert r.returncode == 0, r.stderr
    out_key = "out/" + key.rsplit("/", 1)[1].replace(".csv", ".parquet")
    report = tmp_path / "report.json"
    r = run(env, "convert", f"s3://raw/{key}", "--schema", SCHEMA, "-o", f"s3://curated/{out_key}",
            "--report", report, "--quiet")
    assert r.returncode == 0, r.stderr
    assert read_object(client, "curated", out_key).equals(pq.read_table(local_out))
    rep = json.loads(report.read_text())
    assert rep["output"] == f"s3://curated/{out_key}" and rep["rows_written"] == 2000


@pytest.fixture(scope="module")
def big(s3, tmp_path_factory):
    """A 60 MB object: read in several ranged GETs, and its output (stored
    uncompressed, over 8 MiB) goes up as a multipart upload."""
    client, _ = s3
    path = tmp_path_factory.mktemp("big") / "big.csv"
    rows, _ = orders.write_large(path, 60 * 1000 * 1000)
    client.upload_file(str(path), "raw", "big/orders.csv")
    return path, rows


def test_a_large_object_goes_up_in_parts(s3, big, tmp_path):
    client, env = s3
    path, rows = big
    r = run(env, "convert", "s3://raw/big/orders.csv", "--schema", SCHEMA, "-o", "s3://curated/big/orders.parquet",
            "--compression", "none", "--memory", "256", "--quiet")
    assert r.returncode == 0, r.stderr
    head = client.head_object(Bucket="curated", Key="big/orders.parquet")
    assert head["ContentLength"] > 8 << 20
    assert "-" in head["ETag"], "a multipart upload's ETag names its part count"
    t = read_object(client, "curated", "big/orders.parquet")
    assert t.num_rows == rows


def test_a_large_output_streams_to_the_store_without_a_local_copy(s3, big, tmp_path):
    """Files may grow to 1 MiB at most (RLIMIT_FSIZE): an output of over
    8 MiB staged on local disk would kill the run; streamed, it goes up part
    by part as it is written."""
    client, env = s3
    _, rows = big

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    r = subprocess.run([str(BIN), "convert", "s3://raw/big/orders.csv", "--schema", str(SCHEMA), "-o",
                        "s3://curated/streamed/orders.parquet", "--compression", "none", "--memory", "256", "--quiet"],
                       capture_output=True, text=True, timeout=300, env={**os.environ, **env}, preexec_fn=small_files)
    assert r.returncode == 0, r.stderr
    head = client.head_object(Bucket="curated", Key="streamed/orders.parquet")
    assert head["ContentLength"] > 8 << 20 and "-" in head["ETag"]
    assert read_object(client, "curated", "streamed/orders.parquet").num_rows == rows


def test_a_run_failing_after_parts_went_up_aborts_its_upload(s3, big, tmp_path):
    client, env = s3
    path, _ = big
    bad = tmp_path / "bad.csv"
    bad.write_bytes(path.read_bytes() + b"not,a,valid,row\n")
    client.upload_file(str(bad), "raw", "late/orders.csv")
    r = run(env, "convert", "s3://raw/late/orders.csv", "--schema", SCHEMA, "-o", "s3://curated/late/orders.parquet",
            "--compression", "none", "--memory", "256", "--on-error", "fail", "--quiet")
    assert r.returncode == 1
    assert "line" in r.stderr, r.stderr
    assert keys(client, "curated", "late/") == []
    open_uploads = client.list_multipart_uploads(Bucket="curated", Prefix="late/").get("Uploads", [])
    assert open_uploads == [], "the run's multipart upload is aborted, not left open"


def test_partitioned_output_to_a_prefix_with_its_manifest(s3, tmp_path):
    client, env = s3
    client.put_object(Bucket="raw", Key="p/orders.csv", Body=orders.csv_text(3000, seed=4).encode())
    p = tmp_path / "p.toml"
    p.write_text(f'[input]\nschema = "{SCHEMA}"\n[output]\npartition_by = ["country"]\n')
    r = run(env, "convert", "s3://raw/p/orders.csv", "--pipeline", p, "-o", "s3://curated/part/", "--quiet")
    assert r.returncode == 0, r.stderr
    listed = keys(client, "curated", "part/")
    assert "part/_manifest.json" in listed
    manifest = json.loads(client.get_object(Bucket="curated", Key="part/_manifest.json")["Body"].read())
    assert sorted(f"part/{f['path']}" for f in manifest["files"]) == [k for k in listed if k.endswith(".parquet")]
    assert sum(read_object(client, "curated", f"part/{f['path']}").num_rows for f in manifest["files"]) == 3000

    # A redelivered run rewrites the same objects, and no more.
    r = run(env, "convert", "s3://raw/p/orders.csv", "--pipeline", p, "-o", "s3://curated/part/", "--quiet")
    assert r.returncode == 0, r.stderr
    assert keys(client, "curated", "part/") == listed

    # Fewer partitions this time: the parts the new run did not write go.
    client.put_object(Bucket="raw", Key="p/orders.csv", Body=orders.csv_text(3000, seed=4).replace(",FR,", ",DE,").encode())
    r = run(env, "convert", "s3://raw/p/orders.csv", "--pipeline", p, "-o", "s3://curated/part/", "--quiet")
    assert r.returncode == 0, r.stderr
    assert not [k for k in keys(client, "curated", "part/") if "country=FR/" in k]


def test_a_failed_run_leaves_no_object(s3, tmp_path):
    client, env = s3
    text = orders.csv_text(500, seed=2).splitlines(keepends=True)
    text[300] = "not,a,valid,row\n"
    client.put_object(Bucket="raw", Key="bad/orders.csv", Body="".join(text).encode())
    r = run(env, "convert", "s3://raw/bad/orders.csv", "--schema", SCHEMA, "-o", "s3://curated/bad/orders.parquet",
            "--on-error", "fail", "--quiet")
    assert r.returncode == 1
    assert "line" in r.stderr
    assert keys(client, "curated", "bad/") == []


def test_a_missing_object_is_a_clear_error(s3):
    _, env = s3
    r = run(env, "convert", "s3://raw/nope.csv", "--schema", SCHEMA, "-o", "s3://curated/x.parquet")
    assert r.returncode == 1
    assert "s3://raw/nope.csv" in r.stderr and "not found" in r.stderr.lower(), r.stderr


def test_a_killed_run_leaves_no_partial_object_and_a_rerun_completes(s3, big, tmp_path):
    client, env = s3
    _, rows = big
    args = [str(BIN), "convert", "s3://raw/big/orders.csv", "--schema", str(SCHEMA), "-o",
            "s3://curated/killed/orders.parquet", "--compression", "none", "--memory", "256", "--quiet"]
    p = subprocess.Popen(args, env={**os.environ, **env}, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    p.send_signal(signal.SIGKILL)
    p.wait()
    found = keys(client, "curated", "killed/")
    if found:  # it finished before the kill: then the object is whole
        assert read_object(client, "curated", "killed/orders.parquet").num_rows == rows
    r = run(env, *args[1:])
    assert r.returncode == 0, r.stderr
    assert read_object(client, "curated", "killed/orders.parquet").num_rows == rows


def test_two_runs_racing_on_one_manifest(s3, tmp_path):
    client, env = s3
    client.put_object(Bucket="raw", Key="race/orders.csv", Body=orders.csv_text(2000, seed=8).encode())
    p = tmp_path / "p.toml"
    p.write_text(f'[input]\nschema = "{SCHEMA}"\n[output]\nmax_file_mb = 64\n')
    args = [str(BIN), "convert", "s3://raw/race/orders.csv", "--pipeline", str(p), "-o", "s3://curated/race/", "--quiet"]
    procs = [subprocess.Popen(args, env={**os.environ, **env}, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(q.wait(timeout=120), q.stderr.read()) for q in procs]
    assert any(code == 0 for code, _ in results), results
    for code, err in results:
        assert code == 0 or "another run changed the manifest" in err, err
    manifest = json.loads(client.get_object(Bucket="curated", Key="race/_manifest.json")["Body"].read())
    for f in manifest["files"]:
        assert read_object(client, "curated", f"race/{f['path']}").num_rows == f["rows"]
