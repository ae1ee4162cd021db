"""Transaction-scoped PostgreSQL advisory locks on a name (e.g. one customer group), so two processes handling changes
of the same thing serialise while different things go in parallel; a no-op on SQLite (one writer by design)."""

from __future__ import annotations

from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of

# The two-int form (namespace, hashtext(name)) lives apart from the one-bigint keys of the duty leaders.
GROUP_SNAPSHOT: Final = 0x51_4B_47_52  # "QKGR": a customer group's stored snapshot
OA_CHAT: Final = 0x51_4B_4F_41  # "QKOA": an OA follower's chat, while the FAQ decides a message of theirs


async def lock_for_transaction(session: AsyncSession, namespace: int, name: str) -> None:
    """Wait for the lock on (namespace, name); it is released when the caller's transaction ends."""
    if dialect_of(session) != "postgresql":
        return
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:name))"), {"namespace": namespace, "name": name}
    )
