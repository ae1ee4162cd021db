"""The SQLite file holds personal data: it, its -wal/-shm files and a folder the bot creates are private."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from sqlalchemy import text

from storage.db import create_db_engine


async def _write_in_wal_mode(path: Path) -> None:
    engine = create_db_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        assert (path.parent / (path.name + "-wal")).exists()
        modes = {p.name: p.stat().st_mode & 0o777 for p in path.parent.iterdir()}
    finally:
        await engine.dispose()
    assert modes == {"qunke.db": 0o600, "qunke.db-wal": 0o600, "qunke.db-shm": 0o600}


def test_database_files_and_folder_are_private_when_the_bot_creates_them(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, under which SQLite alone made the file 0644
    try:
        path = tmp_path / "var" / "qunke.db"
        asyncio.run(_write_in_wal_mode(path))
    finally:
        os.umask(old)
    assert path.parent.stat().st_mode & 0o777 == 0o700
