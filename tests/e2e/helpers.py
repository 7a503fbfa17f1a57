"""Running the binary and reading what it wrote."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from reference import normalise_table

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SLUICEGATE_BIN", REPO / "target" / "release" / "sluicegate"))

# Every test input runs through this grid and must give the same rows.
THREADS = (1, 2, 4)
# How long one conversion of a test input may take before it counts as a hang (s).
RUN_TIMEOUT_S = 120


def chunk_sizes(longest_record: int) -> list[int | None]:
    """Chunk sizes for an input whose longest record is `longest_record`
    bytes: just over it, a little over it, a page, and the budget's default
    (None)."""
    return [longest_record + 3, longest_record + 17, 4096, None]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def sluicegate(*args, stdin: bytes | None = None, timeout: float = RUN_TIMEOUT_S) -> Run:
    p = subprocess.run([str(BIN), *map(str, args)], input=stdin, capture_output=True, timeout=timeout)
    return Run(p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))


def convert(src, out, *, schema=None, args=(), chunk=None, threads=None, stdin: bytes | None = None) -> Run:
    cmd = ["convert", src, "-o", out, "--quiet"]
    if schema is not None:
        cmd += ["--schema", schema]
    if chunk is not None:
        cmd += ["--chunk-bytes", chunk]
    if threads is not None:
        cmd += ["--threads", threads]
    return sluicegate(*cmd, *args, stdin=stdin)


def write_schema(path: Path, schema: dict) -> Path:
    path.write_text(json.dumps(schema))
    return path


def read_rows(path) -> list[tuple]:
    return normalise_table(pq.read_table(path))


def leftovers(out: Path) -> list[str]:
    """The output file or a temporary file beside it, if any is there."""
    found = []
    if out.exists():
        found.append(out.name)
    found += [p.name for p in out.parent.glob(f".{out.name}.*.sluicegate-tmp")]
    return found


def temp_files(directory: Path) -> list[str]:
    return [p.name for p in directory.glob(".*.sluicegate-tmp")]


ERROR_RE = re.compile(
    r"^sluicegate: error: (?P<source>.*?):line (?P<line>\d+), byte (?P<byte>\d+), record (?P<record>\d+)"
    r'(?:, column "(?P<column>[^"]*)")?: (?P<message>.*)$'
)


def parse_error(stderr: str) -> dict:
    """The located error line of a failed run, as its parts."""
    lines = [line for line in stderr.splitlines() if line.startswith("sluicegate: error:")]
    assert len(lines) == 1, f"expected one error line, stderr was:\n{stderr}"
    m = ERROR_RE.match(lines[0])
    assert m, f"error line has no location: {lines[0]!r}"
    d = m.groupdict()
    d["line"], d["byte"], d["record"] = int(d["line"]), int(d["byte"]), int(d["record"])
    d["text"] = lines[0]
    return d


def rust_debug(s: str) -> str:
    """A string as Rust's `{:?}` prints it (the error's value)."""
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\0":
            out.append("\\0")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{{{ord(ch):x}}}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
