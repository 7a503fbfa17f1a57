"""Orders/events CSV in the shape of the benchmark data (../shared/bench):
the columns of testdata/orders_sample.schema.json, RFC 4180 minimal quoting,
LF line ends, nulls as empty unquoted fields, notes with commas, doubled
quotes and (about 1 in 50) an embedded newline, timestamps with offsets.

The NDJSON twin holds the same rows as gen.py writes them: one object per
line with every key, nulls as JSON null, `unit_price`, `event_ts` and
`order_date` as strings, `is_gift` as a JSON boolean, non-ASCII text raw.

Deterministic for a seed. `write_large` and `write_large_ndjson` repeat one
varied block to reach a size quickly, without numpy or polars.

    python tests/e2e/orders.py ROWS [SEED] [csv|ndjson] > file
"""

from __future__ import annotations

import csv
import io
import json
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO / "testdata" / "orders_sample.schema.json"

COLUMNS = ["event_id", "order_id", "customer_id", "quantity", "amount", "unit_price", "event_ts",
           "order_date", "is_gift", "category", "country", "email", "note", "discount"]
CATEGORIES = ["electronics", "books", "toys", "garden", "kitchen", "sports", "beauty", "automotive",
              "grocery", "music", "movies", "office", "pet_supplies", "baby", "clothing", "shoes",
              "jewelry", "tools", "health", "furniture"]
COUNTRIES = ["US", "DE", "FR", "GB", "JP", "IN", "BR", "CA", "AU", "ES", "IT", "NL", "SE", "PL", "MX",
             "KR", "CN", "ZA", "NG", "AR", "CH", "AT", "BE", "DK", "FI", "NO", "IE", "PT", "NZ", "SG"]
OFFSETS = [("Z", 0), ("+00:00", 0), ("-05:00", -300), ("-08:00", -480), ("+01:00", 60),
           ("+02:00", 120), ("+05:30", 330), ("+09:00", 540)]
FIRST = ["anna", "ben", "carla", "dmitri", "eva", "farid", "gina", "hiro", "ines", "jon", "zoë", "søren"]
DOMAINS = ["example.com", "mail.example.org", "shop.test", "corp.example.net"]
NOTE_A = ["Delivered on time", "Customer called twice", "Gift wrap requested", "Left at front door",
          "Box slightly dented", "Paid with voucher", "Returned, refund pending", "Fragile item"]
NOTE_B = [", thanks!", ', said "great service"', ", no issues", ', marked "urgent"', "", ", ok",
          ', "do not bend"', ", 3 items, 2 boxes", ' — café "Zoë" ☕']
NOTE_C = ["", "", " Follow-up needed.", ' Rated 5/5 ("excellent").', " Contact via email."]
NOTE_NL = "\nP.S. second line of the note, with a comma"
BASE = datetime(2024, 1, 1, tzinfo=timezone.utc)


def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def rows(n: int, seed: int = 7, first_event_id: int = 1):
    rng = random.Random(seed)

    def maybe(value, null_rate=0.05):
        return None if rng.random() < null_rate else value

    for i in range(n):
        event_id = first_event_id + i
        quantity = min(int(rng.expovariate(0.4)) + 1, 500)
        if rng.random() < 0.01:
            quantity = rng.randrange(2**31, 2**32)
        cents = int(rng.lognormvariate(7.0, 1.2)) + 1
        amount = round(quantity * cents / 100 * rng.uniform(0.8, 1.0), 4)
        utc = BASE + timedelta(seconds=rng.randrange(365 * 86400), milliseconds=rng.randrange(1000))
        off, minutes = rng.choice(OFFSETS)
        local = (utc + timedelta(minutes=minutes)).replace(tzinfo=None)
        ts = local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + off
        note = rng.choice(NOTE_A) + rng.choice(NOTE_B) + rng.choice(NOTE_C)
        if rng.random() < 0.02:
            note += NOTE_NL
        yield [
            event_id,
            10_000_000_000 + event_id // 3 * 7 + rng.randrange(7),
            maybe(rng.randrange(1, 5_000_000)),
            quantity,
            maybe(amount),
            f"{cents // 100}.{cents % 100:02d}",
            ts,
            utc.date().isoformat(),
            maybe(rng.choice(["true", "false", "false", "false"])),
            rng.choice(CATEGORIES),
            maybe(rng.choice(COUNTRIES)),
            maybe(f"{rng.choice(FIRST)}.{rng.randrange(1, 100000)}@{rng.choice(DOMAINS)}"),
            maybe(note),
            None if rng.random() < 0.3 else round(rng.uniform(0, 0.5), 3),
        ]


def csv_text(n: int, seed: int = 7, header: bool = True, first_event_id: int = 1) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if header:
        w.writerow(COLUMNS)
    for row in rows(n, seed, first_event_id):
        w.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


def write_large(path: Path, min_bytes: int, block_rows: int = 5000, seed: int = 11) -> tuple[int, bytes]:
    """Writes a CSV of at least `min_bytes` by repeating one block; returns
    the data row count and the block."""
    block = csv_text(block_rows, seed, header=False).encode()
    header = (",".join(COLUMNS) + "\n").encode()
    repeats = -(-(min_bytes - len(header)) // len(block))
    with open(path, "wb") as f:
        f.write(header)
        for _ in range(repeats):
            f.write(block)
    return repeats * block_rows, block


def ndjson_text(n: int, seed: int = 7, first_event_id: int = 1) -> str:
    lines = []
    for row in rows(n, seed, first_event_id):
        obj = dict(zip(COLUMNS, row))
        if obj["is_gift"] is not None:
            obj["is_gift"] = obj["is_gift"] == "true"
        lines.append(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
    return "".join(lines)


def write_large_ndjson(path: Path, min_bytes: int, block_rows: int = 5000, seed: int = 11) -> tuple[int, bytes]:
    """Writes an NDJSON file of at least `min_bytes` by repeating one block;
    returns the row count and the block."""
    block = ndjson_text(block_rows, seed).encode()
    repeats = -(-min_bytes // len(block))
    with open(path, "wb") as f:
        for _ in range(repeats):
            f.write(block)
    return repeats * block_rows, block


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    fmt = sys.argv[3] if len(sys.argv) > 3 else "csv"
    sys.stdout.write(ndjson_text(n, seed) if fmt == "ndjson" else csv_text(n, seed))
