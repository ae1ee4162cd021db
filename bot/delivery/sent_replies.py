"""The bot's own kf and OA messages, once sent, go on the customer's timeline (no pull ever returns them)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.officialaccount.normalize import oa_chat_id
from bot.delivery.wire import Claim
from services.conversations.recording import PersonRef, record_bot_reply
from storage.models.outbox import OutboxKind
from storage.repos.windows import split_kf_recipient

CUSTOMER_MESSAGES: Final = frozenset({OutboxKind.KF_MESSAGE, OutboxKind.KF_EVENT_MESSAGE, OutboxKind.OA_MESSAGE})


async def record_sent_reply(session: AsyncSession, claim: Claim, now: datetime) -> None:
    """Store a sent customer message as the bot's message in its chat (kf: the account; OA: the follower)."""
    key = f"outbox:{claim.row_id}"
    if claim.kind == OutboxKind.OA_MESSAGE:
        openid = claim.recipient
        await record_bot_reply(session, "oa", oa_chat_id(openid), PersonRef(openid=openid), claim.payload, key, now)
        return
    if claim.kind == OutboxKind.KF_EVENT_MESSAGE:
        open_kfid, external_userid = str(claim.payload["open_kfid"]), str(claim.payload["external_userid"])
    else:
        open_kfid, external_userid = split_kf_recipient(claim.recipient)
    person = PersonRef(external_userid=external_userid)
    await record_bot_reply(session, "kf", open_kfid, person, claim.payload, key, now)
