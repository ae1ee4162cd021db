"""One `qunke serve` per SQLite file: a second server on the same file is refused at start, with the reason.

SQLite has one writer; two servers on one file would each run every scheduled job, puller and sender (only
PostgreSQL has the leader lock). An exclusive `flock` on `<file>.serve.lock`, held for the process's life, says who
owns the file; the kernel drops it when the process dies, even by SIGKILL, so a crash never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sqlalchemy.engine import make_url


class SqliteAlreadyServed(RuntimeError):
    """Another live process already serves this SQLite database file."""


def claim_sqlite_file(url: str) -> int | None:
    """Lock the database file for this process and return the lock's descriptor (keep it open), or None on
    PostgreSQL and in-memory SQLite. Raises SqliteAlreadyServed, naming the holder's pid, when it is taken."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    if parsed.database.startswith("file:"):
        return None
    path = Path(parsed.database).resolve()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".serve.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise SqliteAlreadyServed(
            f"另一个 qunke serve（pid {holder}）正在使用数据库文件 {path}：SQLite 只能由一个进程服务；"
            "多进程请改用 PostgreSQL (another server already uses this SQLite file; use PostgreSQL for several)"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd
