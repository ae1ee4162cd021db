"""`qunke db copy`: a populated SQLite database moves to an empty PostgreSQL one, row for row, and keeps working."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.db import create_db_engine, make_sessionmaker
from storage.db_copy import CopyRefused, copy_database
from storage.models.messages import Message
from storage.schema import metadata
from tests.support.console_world import seed
from tests.support.postgres import Cluster

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def pg_url(pg_cluster: Cluster | None) -> Iterator[str]:
    if pg_cluster is None:
        pytest.skip("PostgreSQL unavailable (set QUNKE_REQUIRE_PG=1 to make this a failure)")
    name = f"copy_{uuid.uuid4().hex[:12]}"
    pg_cluster.psql(f"CREATE DATABASE {name} TEMPLATE qunke_template")
    yield pg_cluster.url(name)
    pg_cluster.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "qunke.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_db_engine(url)
    try:
        await seed(make_sessionmaker(engine), NOW)
    finally:
        await engine.dispose()
    return url


async def _counts(url: str) -> dict[str, int]:
    engine = create_db_engine(url)
    try:
        async with engine.connect() as conn:
            return {
                table.name: (await conn.execute(select(func.count()).select_from(table))).scalar_one()
                for table in metadata.sorted_tables
            }
    finally:
        await engine.dispose()


async def test_every_row_arrives_and_new_rows_get_fresh_ids_when_sqlite_is_copied_to_postgres(
    sqlite_url: str, pg_url: str
) -> None:
    copied = await copy_database(sqlite_url, pg_url)
    before, after = await _counts(sqlite_url), await _counts(pg_url)
    assert after == before and sum(before.values()) > 20
    assert {done.table: done.rows for done in copied} == before
    engine = create_db_engine(pg_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            template = (await session.execute(select(Message).limit(1))).scalar_one()
            highest = (await session.execute(select(func.max(Message.id)))).scalar_one()
            values = {column.key: getattr(template, column.key) for column in Message.__table__.columns}
            values.update(id=None, source_key=f"after-copy-{uuid.uuid4().hex}")
            fresh = Message(**values)
            session.add(fresh)
        assert fresh.id > highest
    finally:
        await engine.dispose()


async def test_copy_is_refused_when_the_target_already_has_rows(sqlite_url: str, pg_url: str) -> None:
    await copy_database(sqlite_url, pg_url)
    with pytest.raises(CopyRefused, match="已有数据"):
        await copy_database(sqlite_url, pg_url)


async def test_copy_is_refused_when_the_target_is_not_migrated(sqlite_url: str, pg_cluster: Cluster | None) -> None:
    if pg_cluster is None:
        pytest.skip("PostgreSQL unavailable")
    name = f"bare_{uuid.uuid4().hex[:12]}"
    pg_cluster.psql(f"CREATE DATABASE {name}")
    try:
        with pytest.raises(CopyRefused, match="qunke db upgrade"):
            await copy_database(sqlite_url, pg_cluster.url(name))
    finally:
        pg_cluster.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
