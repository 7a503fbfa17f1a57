"""The independent reference for NDJSON: what a file of JSON lines should
become.

The engine is never consulted here. Lines come from Python's `json` module
(numbers with a fraction or an exponent as `Decimal`, so that no digit of the
source is lost before a column type decides what to keep) and values from
plain Python conversions, the same ones `reference.py` applies to CSV fields:
a JSON string into any column is read as the CSV field would be.

Nested types are written as pyarrow prints them (`list<string>`,
`struct<city: string, zip: int32>`, `list<struct<sku: string, qty: int32>>`)
and become Python lists and dicts. `normalise_json_table` turns a pyarrow
table into the same shape: timestamps (at any depth) as integers in their
stored unit since the epoch, floats as a bit-exact token (so -0.0 differs
from 0.0), NaN as "NaN".
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal

from reference import DECIMAL_RE, INT_RANGES, convert, float32

# The bytes Rust's `u8::is_ascii_whitespace` accepts: a line of only these is blank.
BLANK = b" \t\n\x0c\r"


def split_type(text: str) -> list[str]:
    """Splits `a: t1, b: t2` (or `t1, t2`) at the commas outside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "<([":
            depth += 1
        elif ch in ">)]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def parse_type(column: dict):
    """A schema column's type as a tree: ("list", item), ("struct", [(name,
    tree)]) or ("scalar", column) for everything `reference.convert` knows."""
    t = column["type"].strip()
    m = re.fullmatch(r"(list|struct)\s*<(.*)>", t, re.S)
    if not m:
        return ("scalar", column)
    if m[1] == "list":
        return ("list", parse_type({"type": m[2]}))
    fields = []
    for part in split_type(m[2]):
        name, _, sub = part.partition(":")
        fields.append((name.strip(), parse_type({"type": sub})))
    return ("struct", fields)


def scalar_value(v, column: dict):
    """One non-null JSON scalar to the reference value of its column's type."""
    t = column["type"].strip().lower()
    if isinstance(v, str):
        return convert(v, column)
    if isinstance(v, bool):
        if t in ("bool", "boolean"):
            return v
        if t in ("string", "utf8"):
            return "true" if v else "false"
        raise ValueError(f"a JSON boolean does not go into {t}")
    if not isinstance(v, (int, Decimal)):
        raise ValueError(f"{v!r} is not a JSON scalar")
    # A JSON number.
    if t in INT_RANGES:
        if isinstance(v, Decimal):
            if v != v.to_integral_value():
                raise ValueError(f"{v} is not a whole number")
            v = int(v)
        lo, hi = INT_RANGES[t]
        if not lo <= v <= hi:
            raise ValueError(f"{v} out of range for {t}")
        return v
    if t in ("float64", "double"):
        return float(v)
    if t in ("float32", "float"):
        return float32(float(v))
    if DECIMAL_RE.fullmatch(t):
        return convert(str(v), column)
    if t in ("string", "utf8") and isinstance(v, int):
        return str(v)
    if t in ("string", "utf8"):
        # A number with a fraction or an exponent is read as a float64 and
        # written in its shortest round-trip digits, without an exponent.
        return format(Decimal(repr(float(v))).normalize(), "f")
    raise ValueError(f"a JSON number does not go into {t}")


def value(v, tree):
    """A JSON value (None for null or a missing key) under a type tree."""
    if v is None:
        return None
    kind, spec = tree
    if kind == "list":
        if not isinstance(v, list):
            raise ValueError(f"{v!r} is not a list")
        return [value(x, spec) for x in v]
    if kind == "struct":
        if not isinstance(v, dict):
            raise ValueError(f"{v!r} is not an object")
        return {name: value(v.get(name), sub) for name, sub in spec}
    return scalar_value(v, spec)


def records(data: bytes) -> list[dict]:
    """Every object of the file, blank lines skipped."""
    out = []
    for line in data.split(b"\n"):
        if line.strip(BLANK) == b"":
            continue
        obj = json.loads(line.decode("utf-8"), parse_float=Decimal)
        if not isinstance(obj, dict):
            raise ValueError(f"not an object: {line!r}")
        out.append(obj)
    return out


def line_lengths(data: bytes) -> list[int]:
    """Byte length of each line, its LF included."""
    lines = data.split(b"\n")
    lengths = [len(x) + 1 for x in lines[:-1]]
    if lines[-1]:
        lengths.append(len(lines[-1]))
    return lengths


def longest_line(data: bytes) -> int:
    return max(line_lengths(data))


def expected_json_rows(data: bytes, schema: dict) -> list[tuple]:
    """The rows the Parquet file must hold, in order, as tuples in schema
    order, normalised as `normalise_json_table` normalises the output."""
    columns = schema.get("columns", schema.get("fields"))
    trees = [(c["name"], parse_type(c)) for c in columns]
    return [tuple(exact(value(obj.get(name), tree)) for name, tree in trees) for obj in records(data)]


def exact(v):
    """Floats as a bit-exact token at any depth; everything else as it is."""
    if isinstance(v, float):
        return "NaN" if math.isnan(v) else f"f:{v.hex()}"
    if v == "NaN":  # reference.convert's spelling of NaN
        return v
    if isinstance(v, list):
        return [exact(x) for x in v]
    if isinstance(v, dict):
        return {k: exact(x) for k, x in v.items()}
    return v


def plain_type(t):
    """`t` with every timestamp, at any depth, as int64 (its stored value)."""
    import pyarrow as pa

    if pa.types.is_timestamp(t):
        return pa.int64()
    if pa.types.is_list(t):
        return pa.list_(pa.field(t.value_field.name, plain_type(t.value_type), t.value_field.nullable))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, plain_type(f.type), f.nullable) for f in t])
    return t


def normalise_json_table(table) -> list[tuple]:
    import pyarrow as pa

    cols = []
    for col in table.columns:
        col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        cols.append([exact(v) for v in col.cast(plain_type(col.type)).to_pylist()])
    return list(zip(*cols)) if cols else []
