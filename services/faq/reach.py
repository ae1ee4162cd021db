"""Where the FAQ writes to a customer itself: a kf session or an OA follower, each with its own send path and window.

The answer, the "did you mean" menu, the greeting and a tap's answer are the same on both channels; only the outbox
kind, the recipient and the window (kf 5 in 48 h, OA 5 in 48 h after a message) differ, and they are decided here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.faq.budget import Budgets, kf_room, oa_room
from services.outbox.messages import CustomerMessage
from services.outbox.queue import queue_kf_reply, queue_oa_message
from storage.models.outbox import OutboxKind
from storage.repos.windows import kf_recipient

KF = "kf"
OA = "oa"


@dataclass(frozen=True, slots=True)
class Reach:
    """A customer the bot can message directly: a kf pair (open_kfid, external_userid) or an OA openid."""

    channel: str  # KF | OA
    open_kfid: str = ""
    external_userid: str = ""
    openid: str = ""

    @property
    def outbox_kind(self) -> str:
        return OutboxKind.KF_MESSAGE if self.channel == KF else OutboxKind.OA_MESSAGE

    @property
    def recipient(self) -> str:
        """The outbox row's recipient, as the sender and the greeting's "already sent" check read it."""
        return kf_recipient(self.open_kfid, self.external_userid) if self.channel == KF else self.openid


def reach_of(chat_type: str, chat_id: str, external_userid: str, openid: str) -> Reach | None:
    """The reach of a question's chat, or None for chats the bot cannot write in (groups, reps' 1:1 chats)."""
    if chat_type == KF:
        return Reach(KF, open_kfid=chat_id, external_userid=external_userid)
    if chat_type == OA:
        return Reach(OA, openid=openid)
    return None


def window_length(reach: Reach, budgets: Budgets) -> timedelta:
    """How long one conversation lasts: a kf session, or the OA's window after a follower's message."""
    return budgets.kf_window if reach.channel == KF else budgets.oa_message_window


async def room(session: AsyncSession, budgets: Budgets, reach: Reach, now: datetime) -> int:
    """Sends left in the customer's window after those already queued (0 when it is closed)."""
    if reach.channel == KF:
        return await kf_room(session, budgets, reach.open_kfid, reach.external_userid, now)
    return await oa_room(session, budgets, reach.openid, now)


async def send(session: AsyncSession, now: datetime, reach: Reach, message: CustomerMessage, key: str) -> int:
    """Queue `message` to the customer on their channel's path; the outbox row's id."""
    if reach.channel == KF:
        return await queue_kf_reply(session, now, reach.open_kfid, reach.external_userid, message, key=key)
    return await queue_oa_message(session, now, reach.openid, message, key=key)
