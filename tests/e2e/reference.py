"""The independent reference: what a CSV file should become.

The engine is never consulted here. Records come from Python's `csv` module
and values from plain Python conversions (int(), Decimal, datetime, date), so
a test that compares the Parquet file with `expected_rows` checks the engine
against a second, unrelated implementation.

Values are normalised to what `normalise_table` makes of a pyarrow table:
timestamps become integers in the column's unit since the epoch (UTC for an
offset or a zone, wall-clock time otherwise), floats become their bit-exact
value with NaN spelled "NaN", everything else is the Python value pyarrow
returns (int, Decimal, date, bool, str, None).
"""

from __future__ import annotations

import csv
import io
import math
import re
import struct
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal, localcontext
from zoneinfo import ZoneInfo

INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}

UNIT_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
EPOCH = datetime(1970, 1, 1)
BOOLS = {"true": True, "false": False, "1": True, "0": False, "t": True, "f": False,
         "yes": True, "no": False, "y": True, "n": False}

DECIMAL_RE = re.compile(r"decimal(?:128)?\((\d+)\s*(?:,\s*(\d+))?\)")
TIMESTAMP_RE = re.compile(r"timestamp\[(s|ms|us|ns)(?:,\s*tz=([^\]]+))?\]")
ISO_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<hm>\d{2}:\d{2})(?P<sec>:\d{2})?(?:[.,](?P<frac>\d+))?)?"
    r"(?P<off>Z|[+-]\d{2}(?::?\d{2})?)?"
)


@dataclass
class Dialect:
    delimiter: str = ","
    quote: str = '"'
    escape: str | None = None
    header: bool = True
    nulls: list[str] = field(default_factory=lambda: [""])

    def cli_args(self) -> list[str]:
        args = []
        if self.delimiter != ",":
            args += ["--delimiter", "\\t" if self.delimiter == "\t" else self.delimiter]
        if self.quote != '"':
            args += ["--quote", self.quote]
        if self.escape is not None:
            args += ["--escape", self.escape]
        if not self.header:
            args.append("--no-header")
        if self.nulls != [""]:
            for marker in self.nulls:
                args += ["--null", marker]
        return args


def read_records(data: bytes, dialect: Dialect) -> list[list[str]]:
    """Every record of the file (the header included), BOM removed, blank
    lines skipped."""
    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=dialect.delimiter,
                        quotechar=dialect.quote, escapechar=dialect.escape, doublequote=True, strict=True)
    return [r for r in reader if r]


def longest_record(data: bytes, dialect: Dialect) -> int:
    return max(record_lengths(data, dialect.quote.encode(), dialect.escape.encode() if dialect.escape else None))


def record_lengths(data: bytes, quote: bytes = b'"', escape: bytes | None = None) -> list[int]:
    """Byte length of each record, the terminator included (BOM removed), by
    a quote scan: a newline inside quotes does not end a record, nor does a
    quote after the escape character end the quotes."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lengths, start, in_quotes, escaped = [], 0, False, False
    q, nl, esc = quote[0], ord("\n"), escape[0] if escape else None
    for i, b in enumerate(data):
        if escaped:
            escaped = False
        elif in_quotes and b == esc:
            escaped = True
        elif b == q:
            in_quotes = not in_quotes
        elif b == nl and not in_quotes:
            lengths.append(i + 1 - start)
            start = i + 1
    if start < len(data):
        lengths.append(len(data) - start)
    return lengths


def float32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def norm_float(x):
    if x is None:
        return None
    if math.isnan(x):
        return "NaN"
    return x


def timestamp_value(text: str, unit: str, tz: str | None, fmt: str | None) -> int:
    """Epoch value in `unit`: UTC when the text has an offset or the column
    a zone other than UTC's wall clock; the wall-clock reading otherwise."""
    if fmt is not None:
        dt = datetime.strptime(text, fmt)
        nanos = dt.microsecond * 1000
        dt = dt.replace(microsecond=0)
    else:
        m = ISO_RE.fullmatch(text)
        if not m:
            raise ValueError(f"not ISO 8601: {text!r}")
        base = m["date"] + "T" + (m["hm"] or "00:00") + (m["sec"] or ":00")
        off = m["off"] or ""
        if off and off != "Z" and len(off) == 5 and ":" not in off:
            off = off[:3] + ":" + off[3:]
        if len(off) == 3:
            off += ":00"
        dt = datetime.fromisoformat(base + off)
        frac = m["frac"] or ""
        nanos = int((frac + "000000000")[:9])
    if dt.tzinfo is None and tz is not None and tz.upper() != "UTC":
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    delta = dt - EPOCH
    whole_seconds = delta.days * 86_400 + delta.seconds
    per = UNIT_PER_SECOND[unit]
    return whole_seconds * per + nanos * per // 1_000_000_000


def stored_unit(unit: str) -> str:
    """Parquet has no seconds unit: like pyarrow, seconds are stored as ms."""
    return "ms" if unit == "s" else unit


def stored_type(type_name: str) -> str:
    """The type a schema-file type reads back as from the Parquet file."""
    return type_name.replace("timestamp[s,", "timestamp[ms,").replace("timestamp[s]", "timestamp[ms]")


def convert(text: str, column: dict):
    """One non-null field to the reference value of its column's type."""
    t = column["type"].strip().lower()
    if t in INT_RANGES:
        v = int(text)
        lo, hi = INT_RANGES[t]
        if not lo <= v <= hi:
            raise ValueError(f"{text} out of range for {t}")
        return v
    if t in ("float64", "double"):
        return norm_float(float(text))
    if t in ("float32", "float"):
        return norm_float(float32(float(text)))
    if t in ("bool", "boolean"):
        return BOOLS[text.lower()]
    if t in ("string", "utf8"):
        return text
    if t in ("date32", "date"):
        if column.get("format"):
            return datetime.strptime(text, column["format"]).date()
        return date.fromisoformat(text)
    m = DECIMAL_RE.fullmatch(t)
    if m:
        scale = int(m[2] or 0)
        with localcontext() as ctx:
            ctx.prec = 80  # decimal128 holds 38 digits; the default context keeps 28
            return Decimal(text).quantize(Decimal(1).scaleb(-scale))
    m = TIMESTAMP_RE.fullmatch(column["type"].strip())
    if m:
        return timestamp_value(text, stored_unit(m[1]), m[2], column.get("format"))
    raise ValueError(f"reference does not know type {column['type']!r}")


def expected_rows(data: bytes, schema: dict | None, dialect: Dialect) -> list[tuple]:
    """The rows the Parquet file must hold, in order, as tuples in schema order."""
    records = read_records(data, dialect)
    if dialect.header:
        header, records = records[0], records[1:]
    else:
        header = None
    if schema is None:
        columns = [{"name": n, "type": "string"} for n in header]
    else:
        columns = schema.get("columns", schema.get("fields"))
    if header is None:
        index = list(range(len(columns)))
    else:
        index = [header.index(c["name"]) for c in columns]
    rows = []
    for rec in records:
        assert len(rec) == len(header if header is not None else columns), rec
        row = []
        for c, i in zip(columns, index):
            text = rec[i]
            row.append(None if text in dialect.nulls else convert(text, c))
        rows.append(tuple(row))
    return rows


def normalise_table(table) -> list[tuple]:
    """A pyarrow table as rows of reference values (see the module doc)."""
    import pyarrow as pa

    cols = []
    for col in table.columns:
        col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        t = col.type
        if pa.types.is_timestamp(t):
            cols.append(col.cast(pa.int64()).to_pylist())
        elif pa.types.is_floating(t):
            cols.append([norm_float(v) for v in col.to_pylist()])
        else:
            cols.append(col.to_pylist())
    return list(zip(*cols)) if cols else []


def arrow_type_name(t) -> str:
    """pyarrow's spelling of a type, as schema files write it."""
    import pyarrow as pa

    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return f"timestamp[{t.unit}, tz={t.tz}]" if t.tz else f"timestamp[{t.unit}]"
    if pa.types.is_date32(t):
        return "date32"
    return {"double": "float64", "float": "float32"}.get(str(t), str(t))
