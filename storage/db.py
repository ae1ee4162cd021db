"""Engine and session factory: SQLite in WAL mode with foreign keys, or PostgreSQL via asyncpg."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

# Every model registered: a lazily imported CLI command may load one model module whose foreign keys name the
# tables of others by string, and SQLAlchemy resolves them only against the tables it has seen.
import storage.schema  # noqa: F401
from storage.db_errors import check_url

SQLITE_BUSY_TIMEOUT_MS: Final = 10_000

log = logging.getLogger(__name__)


def create_db_engine(url: str, *, echo: bool = False, application_name: str = "") -> AsyncEngine:
    """Build the engine; for SQLite, create the file's folder and set the pragmas on every connection. On
    PostgreSQL `application_name` names the connections in pg_stat_activity (a follower reads who leads from it)."""
    check_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
            prepare_sqlite_file(Path(parsed.database))
        engine = create_async_engine(url, echo=echo)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = {"server_settings": {"application_name": application_name[:63]}} if application_name else {}
    return create_async_engine(
        url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True, connect_args=connect_args
    )


def prepare_sqlite_file(path: Path) -> None:
    """The file holds personal data: make its folder 0700 and the file 0600 before SQLite would create it 0644
    (the umask's usual result). SQLite gives the -wal and -shm files the main file's mode, so they follow."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning(
            "database file %s is readable by others (mode %o): it holds personal data, chmod 600 it", path, mode
        )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # FULL, not NORMAL: an acknowledged callback must survive a power loss; group commit pays the fsync.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def dialect_of(session: AsyncSession) -> str:
    """The session's dialect name ("sqlite" or "postgresql"), for the few statements that differ."""
    bind = session.bind
    if bind is None:
        raise RuntimeError("session is not bound to an engine")
    return bind.dialect.name
