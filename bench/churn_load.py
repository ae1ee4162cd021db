"""Bulk loading for bench/churn.py: generated histories into SQLite (executemany) or PostgreSQL (COPY)."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import asyncpg

from tests.support.churn_histories import Generated, generate

# Tables in insertion order (parents first), named as in the schema.
TABLES: Final = (
    ("customers", "customers"),
    ("follows", "customer_follows"),
    ("messages", "messages"),
    ("purchases", "purchases"),
    ("surveys", "surveys"),
    ("tickets", "tickets"),
    ("events", "customer_events"),
)
# A realistic mix: most customers are fine, about one in eight drifts away in one of the known ways.
MIX: Final = {
    "steady": 40,
    "steady_buyer": 25,
    "seasonal": 8,
    "new": 5,
    "new_quiet": 3,
    "open_ticket": 6,
    "fading": 4,
    "overdue": 3,
    "unhappy": 2,
    "ticket": 1.5,
    "leaver": 1.5,
    "lost": 1,
}
REPS: Final = 200


def kinds_for(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    names, weights = zip(*MIX.items(), strict=True)
    return rng.choices(names, weights=weights, k=count)


def slice_of(kinds: Sequence[str], start: int, stop: int, now: datetime, rate: float) -> Generated:
    """Customers start+1..stop, each owned by one of REPS reps (as in a real corp, alerts spread over reps)."""
    generated = generate(kinds[start:stop], now, first_id=start + 1, rate=rate)
    for row in generated.tables["customers"]:
        row["owner_userid"] = f"rep{row['id'] % REPS:03d}"
    for row in generated.tables["follows"]:
        row["userid"] = f"rep{row['customer_id'] % REPS:03d}"
    for row in generated.tables["messages"]:
        row["member_userid"] = f"rep{row['customer_id'] % REPS:03d}"
    return generated


def _sqlite_value(value: Any) -> Any:
    # The exact text SQLAlchemy's SQLite DateTime writes (naive UTC), so range comparisons stay textual and right.
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def load_sqlite(path: str, generated: Generated) -> int:
    """One transaction per slice with executemany; returns the rows written."""
    written = 0
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA synchronous=OFF")
        for key, table in TABLES:
            rows = generated.tables[key]
            if not rows:
                continue
            columns = list(rows[0])
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            db.executemany(sql, ([_sqlite_value(r[c]) for c in columns] for r in rows))
            written += len(rows)
    return written


async def load_postgres(conn: asyncpg.Connection, generated: Generated) -> int:
    """COPY each table's rows in (binary COPY through asyncpg); returns the rows written."""
    written = 0
    for key, table in TABLES:
        rows = generated.tables[key]
        if not rows:
            continue
        columns = list(rows[0])
        records = [tuple(json.dumps(r[c]) if isinstance(r[c], dict) else r[c] for c in columns) for r in rows]
        await conn.copy_records_to_table(table, records=records, columns=columns)
        written += len(rows)
    return written
