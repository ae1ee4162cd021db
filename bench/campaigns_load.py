"""Bulk loading for bench/campaigns.py: 1,000,000 customers, their tags, messages and opt-outs in one SQL statement
per table, on SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from typing import Final

import asyncpg

REPS: Final = 50

# One statement per table: every customer, a VIP tag on one in five, one in ten in the broadcast's tag, one customer
# message each spread over 90 days, one in a hundred opted out. `{n}` is the customer count, `{series}` the row source.
LOAD: Final = (
    "INSERT INTO members (userid, name, position) SELECT 'rep' || x, '代表' || x, '' FROM {reps}",
    "INSERT INTO customers (id, external_userid, name, avatar, corp_name, contact_type, gender, owner_userid,"
    " first_seen_at, became_contact_at) SELECT x, 'wm' || x, '客户' || x, '', '', 1, 0, 'rep' || (x % {r}),"
    " {t0}, {t0} FROM {series}",
    "INSERT INTO customer_tags (customer_id, userid, tag_id, tag_name, group_name) SELECT x, 'rep' || (x % {r}),"
    " 'etVIP', 'VIP', '' FROM {series} WHERE x % 5 = 0",
    "INSERT INTO customer_tags (customer_id, userid, tag_id, tag_name, group_name) SELECT x, 'rep' || (x % {r}),"
    " 'etB', '双十二', '' FROM {series} WHERE x % 10 = 0",
    "INSERT INTO messages (source_key, channel, chat_type, chat_id, sender_kind, sender_id, customer_id, msgtype,"
    " text, body, sent_at) SELECT 'kf:m' || x, 'kf', 'kf', 'wk1', 'customer', 'wm' || x, x, 'text', '你好', '{{}}',"
    " {spread} FROM {series}",
    "INSERT INTO contact_prefs (customer_id, opted_out_at, source) SELECT x, {t0}, 'kf' FROM {series}"
    " WHERE x % 100 = 7",
)


def _dialect_sql(backend: str, n: int) -> dict[str, str]:
    if backend == "postgresql":
        return {
            "series": f"generate_series(1, {n}) AS g(x)",
            "reps": f"generate_series(0, {REPS - 1}) AS g(x)",
            "t0": "TIMESTAMPTZ '2026-01-01 00:00:00+00'",
            "spread": "TIMESTAMPTZ '2026-12-07 02:00:00+00' - (x % 90) * INTERVAL '1 day'",
            "r": str(REPS),
            "n": str(n),
        }
    return {
        "series": f"(WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {n}) SELECT x FROM s)",
        "reps": f"(WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE x < {REPS - 1})"
        " SELECT x FROM s)",
        "t0": "'2026-01-01 00:00:00.000000'",
        "spread": "strftime('%Y-%m-%d %H:%M:%f', '2026-12-07 02:00:00', '-' || (x % 90) || ' days')",
        "r": str(REPS),
        "n": str(n),
    }


async def load(backend: str, url: str, n: int) -> float:
    start = time.perf_counter()
    parts = _dialect_sql(backend, n)
    if backend == "postgresql":
        conn = await asyncpg.connect(url.replace("+asyncpg", ""))
        try:
            for statement in LOAD:
                await conn.execute(statement.format(**parts))
            await conn.execute(
                "SELECT setval(pg_get_serial_sequence('customers', 'id'), (SELECT max(id) FROM customers))"
            )
            await conn.execute("VACUUM ANALYZE")  # the steady state autovacuum keeps: visibility map set
        finally:
            await conn.close()
    else:
        import sqlite3

        def run() -> None:
            db = sqlite3.connect(url.split("///", 1)[1])
            try:
                for statement in LOAD:
                    db.execute(statement.format(**parts))
                db.commit()
                db.execute("ANALYZE")
            finally:
                db.close()

        await asyncio.to_thread(run)
    return time.perf_counter() - start
