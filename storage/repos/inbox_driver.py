"""The webhook's inbox insert on the database driver itself: one call per group commit, no SQLAlchemy on the way.

Every callback waits for this statement, and on the webhook's event loop SQLAlchemy's per-statement work (compile
cache lookup, insertmanyvalues, bind processing, the greenlet hop, the result wrapper) cost ~200 µs per batch and
~10 µs per row: a third of the webhook's CPU per callback (bench/RESULTS.md). Here the statement is fixed text
with positional parameters, prepared by the driver and cached by it. The rows stored are exactly those of
`storage.repos.inbound.insert_many_if_new` (tests/integration/test_inbox_driver.py reads both back and compares).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models.inbox import InboundEvent, InboxStatus
from storage.repos.inbound import NewInbound

_TABLE: Final = InboundEvent.__tablename__
_COLUMNS: Final = "dedupe_key, source, kind, payload, received_at, status, attempts, next_attempt_at, last_error"
_NEW: Final = InboxStatus.NEW.value

# PostgreSQL: one text for every batch size (arrays, unnested in order), so asyncpg prepares it once.
_PG_INSERT: Final = (
    f"INSERT INTO {_TABLE} ({_COLUMNS}) "
    f"SELECT k, s, t, p, r, '{_NEW}', 0, r, '' "
    "FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::text[], $5::timestamptz[]) AS u(k, s, t, p, r) "
    "ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key"
)
_SQLITE_ROW: Final = f"(?, ?, ?, ?, ?, '{_NEW}', 0, ?, '')"


async def insert_new_rows(
    connection: AsyncConnection, rows: Sequence[NewInbound], timeout_s: float | None = None
) -> set[str]:
    """Insert the rows whose dedupe key is new, in order, as one statement; returns the keys inserted.

    `connection` must be in autocommit: the statement is its own transaction, committed (and on SQLite with
    synchronous=FULL, flushed) when this returns. A key twice in `rows` is inserted once. On PostgreSQL a statement
    not answered within `timeout_s` is cancelled and raises TimeoutError (SQLite's writes end at busy_timeout).
    """
    if not rows:
        return set()
    if any(r.received_at.tzinfo is None for r in rows):
        raise ValueError("naive received_at given to the inbox; pass an aware datetime")
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    if connection.dialect.name == "postgresql":
        found = await driver.fetch(
            _PG_INSERT,
            [r.dedupe_key for r in rows],
            [r.source for r in rows],
            [r.kind for r in rows],
            [r.payload for r in rows],
            [r.received_at for r in rows],
            timeout=timeout_s,
        )
        return {record[0] for record in found}
    params: list[object] = []
    for r in rows:
        # SQLAlchemy's SQLite DATETIME text ("2026-12-07 09:30:15.123456"), so these rows compare and read back
        # like every other row; its own bind processor took a fifth of this function's time.
        stamp = r.received_at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        params += (r.dedupe_key, r.source, r.kind, r.payload, stamp, stamp)
    found = await driver.execute_fetchall(_sqlite_insert(len(rows)), params)
    return {record[0] for record in found}


@functools.cache
def _sqlite_insert(count: int) -> str:
    values = ", ".join([_SQLITE_ROW] * count)
    return f"INSERT INTO {_TABLE} ({_COLUMNS}) VALUES {values} ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key"
