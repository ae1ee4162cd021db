"""Whether a customer's send window has room for an FAQ answer: the kf 5-in-48h and the OA allowances are budgets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.outbox import OutboxKind
from storage.repos import outbox as outbox_repo
from storage.repos import windows
from storage.repos.windows import OA_MESSAGE, kf_recipient


@dataclass(frozen=True, slots=True)
class Budgets:
    """The sender's limits (config `sender.*`), read here so the FAQ never queues what could not go."""

    kf_quota: int = 5
    kf_window: timedelta = timedelta(hours=48)
    oa_message_quota: int = 5
    oa_message_window: timedelta = timedelta(hours=48)
    oa_action_quota: int = 3
    oa_action_window: timedelta = timedelta(seconds=60)
    margin: timedelta = timedelta(seconds=2)


async def kf_room(session: AsyncSession, budgets: Budgets, open_kfid: str, external_userid: str, now: datetime) -> int:
    """Sends left in the customer's kf window, after our replies already queued for it (0 when closed)."""
    window = (await windows.kf_windows(session, [(open_kfid, external_userid)])).get((open_kfid, external_userid))
    if window is None or window.last_customer_message_at is None:
        return 0
    if now + budgets.margin >= window.last_customer_message_at + budgets.kf_window:
        return 0
    if window.session_state not in (None, 0, 1):
        return 0
    queued = await outbox_repo.pending_for(session, OutboxKind.KF_MESSAGE, kf_recipient(open_kfid, external_userid))
    return max(0, budgets.kf_quota - window.sends_since - len(queued))


async def oa_room(session: AsyncSession, budgets: Budgets, openid: str, now: datetime) -> int:
    """Customer-service messages left in the follower's window, after those already queued."""
    window = (await windows.oa_windows(session, [openid])).get(openid)
    if window is None:
        return 0
    if window.window_kind == OA_MESSAGE:
        length, quota = budgets.oa_message_window, budgets.oa_message_quota
    else:
        length, quota = budgets.oa_action_window, budgets.oa_action_quota
    if now + budgets.margin >= window.opened_at + length:
        return 0
    queued = await outbox_repo.pending_for(session, OutboxKind.OA_MESSAGE, openid)
    return max(0, quota - window.sends - len(queued))
