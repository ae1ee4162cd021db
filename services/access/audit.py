"""The audit log: every privileged action (login, user change, export, erasure, ticket change) in one table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.console import AuditEntry


@dataclass(frozen=True, slots=True)
class Origin:
    """Who acted and from where: `user:<login>` with the client IP, or `cli:<os user>`."""

    actor: str
    ip: str = ""


async def record(
    session: AsyncSession,
    now: datetime,
    origin: Origin,
    action: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Add one entry in the caller's transaction, so the action and its record commit together."""
    session.add(
        AuditEntry(
            at=now, actor=origin.actor, action=action, target=target[:128], ip=origin.ip[:64], detail=detail or {}
        )
    )


async def recent(session: AsyncSession, limit: int = 50, offset: int = 0) -> tuple[list[AuditEntry], int]:
    """Newest first, with the total count for paging."""
    total = int((await session.execute(select(func.count()).select_from(AuditEntry))).scalar_one())
    rows = await session.execute(
        select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset)
    )
    return list(rows.scalars()), total


async def about(session: AsyncSession, target: str) -> list[AuditEntry]:
    rows = await session.execute(select(AuditEntry).where(AuditEntry.target == target).order_by(AuditEntry.id))
    return list(rows.scalars())
