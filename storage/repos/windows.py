"""Send windows opened by customers: kf (5 within 48 h of their last message) and OA customer-service messages.

The kf and OA pullers call the `note_*` functions in their own transactions; the sender locks the rows it
reserves from, so a window that reopens while one of our sends is in flight still counts that send.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of
from storage.kf_state import KfState
from storage.models.messages import KfSession
from storage.models.outbox import KfWindow, OaWindow, Outbox, OutboxKind, OutboxStatus

KfPair = tuple[str, str]
OA_MESSAGE: Final = "message"
OA_ACTION: Final = "action"


def kf_recipient(open_kfid: str, external_userid: str) -> str:
    """How a kf customer is written in `outbox.recipient`."""
    return f"{open_kfid}/{external_userid}"


def split_kf_recipient(recipient: str) -> KfPair:
    open_kfid, _, external_userid = recipient.partition("/")
    return open_kfid, external_userid


async def _in_flight(session: AsyncSession, kind: str, recipient: str) -> int:
    """Our sends to this recipient whose outcome is not known yet: WeCom may count them in the new window."""
    stmt = select(func.count()).where(
        Outbox.kind == kind, Outbox.recipient == recipient, Outbox.status == OutboxStatus.SENDING
    )
    return int(await session.scalar(stmt) or 0)


def _insert(session: AsyncSession) -> Any:
    """The dialect's INSERT, for its ON CONFLICT clause."""
    return pg_insert if dialect_of(session) == "postgresql" else sqlite_insert


async def note_kf_customer_message(session: AsyncSession, open_kfid: str, external_userid: str, at: datetime) -> None:
    """The customer wrote to the kf account at `at`: a fresh allowance opens for 48 h."""
    in_flight = await _in_flight(session, OutboxKind.KF_MESSAGE, kf_recipient(open_kfid, external_userid))
    stmt = _insert(session)(KfWindow).values(
        open_kfid=open_kfid,
        external_userid=external_userid,
        last_customer_message_at=at,
        sends_since=in_flight,
        servicer_userid="",
        updated_at=at,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["open_kfid", "external_userid"],
        set_={"last_customer_message_at": at, "sends_since": in_flight, "updated_at": at},
        # Messages may be noted out of order; only a later message opens a new allowance.
        where=(KfWindow.last_customer_message_at.is_(None)) | (KfWindow.last_customer_message_at < at),
    )
    await session.execute(stmt)


async def note_kf_session_state(
    session: AsyncSession,
    open_kfid: str,
    external_userid: str,
    state: int,
    servicer: str,
    at: datetime | None = None,
) -> None:
    """The kf session moved to `state` (0 untreated, 1 bot, 2 pool, 3 human, 4 ended); sends need 0 or 1."""
    stmt = _insert(session)(KfWindow).values(
        open_kfid=open_kfid,
        external_userid=external_userid,
        sends_since=0,
        session_state=state,
        servicer_userid=servicer or "",
        updated_at=at,
    )
    changes = {"session_state": state, "servicer_userid": servicer or ""}
    stmt = stmt.on_conflict_do_update(
        index_elements=["open_kfid", "external_userid"],
        set_={**changes, "updated_at": at} if at is not None else changes,
    )
    await session.execute(stmt)


async def note_oa_user_message(session: AsyncSession, openid: str, at: datetime) -> None:
    """An OA follower sent a message: 5 customer-service messages may follow within 48 h."""
    await _open_oa_window(session, openid, OA_MESSAGE, at)


async def note_oa_user_action(session: AsyncSession, openid: str, at: datetime) -> None:
    """An OA follower followed, clicked a menu or scanned a code: 3 messages may follow within 1 min."""
    await _open_oa_window(session, openid, OA_ACTION, at)


async def _open_oa_window(session: AsyncSession, openid: str, kind: str, at: datetime) -> None:
    # The latest interaction decides (UNCONFIRMED how windows combine; this is the stricter reading).
    in_flight = await _in_flight(session, OutboxKind.OA_MESSAGE, openid)
    stmt = _insert(session)(OaWindow).values(
        openid=openid, window_kind=kind, opened_at=at, sends=in_flight, updated_at=at
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["openid"],
        set_={"window_kind": kind, "opened_at": at, "sends": in_flight, "updated_at": at},
        where=OaWindow.opened_at < at,
    )
    await session.execute(stmt)


async def kf_windows(session: AsyncSession, pairs: Collection[KfPair]) -> dict[KfPair, KfWindow]:
    """The windows the sender will reserve from, locked on PostgreSQL until its claim commits."""
    if not pairs:
        return {}
    kfids = sorted({p[0] for p in pairs})
    users = sorted({p[1] for p in pairs})
    stmt = select(KfWindow).where(KfWindow.open_kfid.in_(kfids), KfWindow.external_userid.in_(users))
    if dialect_of(session) == "postgresql":
        stmt = stmt.order_by(KfWindow.open_kfid, KfWindow.external_userid).with_for_update()
    rows = (await session.execute(stmt)).scalars()
    return {(w.open_kfid, w.external_userid): w for w in rows if (w.open_kfid, w.external_userid) in pairs}


async def oa_windows(session: AsyncSession, openids: Collection[str]) -> dict[str, OaWindow]:
    if not openids:
        return {}
    stmt = select(OaWindow).where(OaWindow.openid.in_(sorted(openids)))
    if dialect_of(session) == "postgresql":
        stmt = stmt.order_by(OaWindow.openid).with_for_update()
    return {w.openid: w for w in (await session.execute(stmt)).scalars()}


async def release_kf_send(session: AsyncSession, pair: KfPair, window_at: datetime) -> None:
    """A reserved send definitely did not go out: give it back, if its window is still the current one."""
    await session.execute(
        update(KfWindow)
        .where(
            KfWindow.open_kfid == pair[0],
            KfWindow.external_userid == pair[1],
            KfWindow.last_customer_message_at == window_at,
            KfWindow.sends_since > 0,
        )
        .values(sends_since=KfWindow.sends_since - 1)
    )


async def exhaust_kf_window(session: AsyncSession, pair: KfPair, quota: int) -> None:
    """WeCom said 95001: its count is the truth, so this window has nothing left."""
    await session.execute(
        update(KfWindow)
        .where(KfWindow.open_kfid == pair[0], KfWindow.external_userid == pair[1])
        .values(sends_since=quota)
    )


async def close_kf_window(session: AsyncSession, pair: KfPair) -> None:
    """WeCom said 95002 (outside 48 h) or the session cannot send: nothing goes until the customer writes."""
    await session.execute(
        update(KfWindow)
        .where(KfWindow.open_kfid == pair[0], KfWindow.external_userid == pair[1])
        .values(last_customer_message_at=None)
    )


async def count_waiting_in_pool(session: AsyncSession, since: datetime) -> int:
    """kf sessions last seen waiting in the pool (state 2) and touched since `since` (older ones have lapsed)."""
    stmt = (
        select(func.count())
        .select_from(KfSession)
        .where(KfSession.state == KfState.POOL, KfSession.updated_at >= since)
    )
    return int((await session.execute(stmt)).scalar_one())
