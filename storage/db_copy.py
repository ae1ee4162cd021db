"""Copy every row of one Qunke database into another, empty one at the same migration: SQLite → PostgreSQL.

`qunke db copy --to URL` is the documented way to grow from the single-process SQLite install to PostgreSQL.
Tables go parents first (foreign keys hold at every commit), in keyset batches so memory stays flat, and on
PostgreSQL every identity sequence is moved past the copied ids so new rows do not collide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, ColumnElement, Table, func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.db import create_db_engine
from storage.schema import metadata

BATCH_ROWS = 2_000
VERSION_TABLE = "alembic_version"


class CopyRefused(RuntimeError):
    """The copy cannot start safely: the message says what to do."""


@dataclass(frozen=True)
class TableCopied:
    table: str
    rows: int


async def copy_database(
    source_url: str, target_url: str, *, on_table: Callable[[TableCopied], None] | None = None
) -> list[TableCopied]:
    """Copy all rows; refuses (CopyRefused) unless both sides are at the same revision and the target is empty."""
    source, target = create_db_engine(source_url), create_db_engine(target_url)
    try:
        await _check_ready(source, target)
        copied: list[TableCopied] = []
        for table in metadata.sorted_tables:
            async with source.connect() as reading, target.begin() as writing:
                rows = await _copy_table(table, reading, writing)
            done = TableCopied(table.name, rows)
            copied.append(done)
            if on_table is not None:
                on_table(done)
        if target.dialect.name == "postgresql":
            async with target.begin() as writing:
                await _advance_sequences(writing)
        return copied
    finally:
        await source.dispose()
        await target.dispose()


async def _check_ready(source: AsyncEngine, target: AsyncEngine) -> None:
    source_rev, target_rev = await _revision(source, "源库 (source)"), await _revision(target, "目标库 (target)")
    if source_rev != target_rev:
        raise CopyRefused(
            f"两个数据库的结构版本不同（源 {source_rev}，目标 {target_rev}）：先对两者运行 qunke db upgrade "
            "(migrate both databases to the same revision first)"
        )
    async with target.connect() as conn:
        for table in metadata.sorted_tables:
            if (await conn.execute(select(func.count()).select_from(table))).scalar_one():
                raise CopyRefused(
                    f"目标库的表 {table.name} 已有数据：只能复制到空库 (the target must be empty; table {table.name} "
                    "has rows)"
                )


async def _revision(engine: AsyncEngine, which: str) -> str:
    try:
        async with engine.connect() as conn:
            found = (await conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))).scalar_one_or_none()
    except Exception as exc:  # any driver error here means "not a migrated Qunke database"
        raise CopyRefused(f"{which}无法读取结构版本（{type(exc).__name__}）：先运行 qunke db upgrade") from None
    if found is None:
        raise CopyRefused(f"{which}尚未迁移：先运行 qunke db upgrade (not migrated)")
    return str(found)


async def _copy_table(table: Table, reading: AsyncConnection, writing: AsyncConnection) -> int:
    """Keyset pages ordered by the primary key: one page in memory at a time, whatever the table's size."""
    key = list(table.primary_key.columns)
    query = select(table).order_by(*key).limit(BATCH_ROWS)
    total, last = 0, None
    while True:
        page_query = query if last is None else query.where(_after(key, last))
        rows = [dict(row._mapping) for row in await reading.execute(page_query)]
        if not rows:
            return total
        await writing.execute(table.insert(), rows)
        total += len(rows)
        last = tuple(rows[-1][column.name] for column in key)


def _after(key: list[Column[Any]], last: tuple[Any, ...]) -> ColumnElement[bool]:
    if len(key) == 1:
        after: ColumnElement[bool] = key[0] > last[0]
        return after
    return tuple_(*key) > tuple_(*last)


async def _advance_sequences(conn: AsyncConnection) -> None:
    """Every column with a sequence behind it (PostgreSQL knows which) moves past the largest copied value."""
    for table in metadata.sorted_tables:
        for column in table.primary_key.columns:
            sequence = (
                await conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name})
            ).scalar_one_or_none()
            if sequence is None:
                continue
            await conn.execute(
                text(f"SELECT setval(:s, COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"),
                {"s": sequence},
            )
