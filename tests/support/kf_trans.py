"""WeCom's answer to a queued kf service_state/trans, applied as the sender records it (without the HTTP call)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.kf_handoff import after_kf_trans, after_kf_trans_refused
from bot.delivery.wire import Claim
from storage.models.outbox import Outbox


def claim_of(row: Outbox, now: datetime) -> Claim:
    return Claim(
        row_id=row.id,
        attempt=1,
        kind=row.kind,
        api=row.api,
        recipient=row.recipient,
        payload=dict(row.payload),
        result={},
        idempotency_key=row.idempotency_key,
        priority=row.priority,
        lease_until=now + timedelta(minutes=1),
        first_attempt_at=now,
        unknown_since=None,
    )


async def answer_trans(
    sessions: async_sessionmaker[AsyncSession], row_id: int, now: datetime, errcode: int = 0, msg_code: str = "CODE"
) -> None:
    """WeCom accepted the trans (errcode 0, with a msg_code) or refused it with `errcode`."""
    async with sessions() as session, session.begin():
        row = await session.get(Outbox, row_id)
        assert row is not None
        claim = claim_of(row, now)
        if errcode == 0:
            await after_kf_trans(session, claim, {"errcode": 0, "msg_code": msg_code}, now)
        else:
            await after_kf_trans_refused(session, claim, errcode, now)
