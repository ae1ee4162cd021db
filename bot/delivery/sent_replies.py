"""The bot's own kf and OA messages (and reps' relayed OA replies), once sent, go on the customer's timeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.officialaccount.normalize import oa_chat_id
from bot.delivery.wire import Claim
from services.conversations.recording import BotReply, PersonRef, record_bot_replies
from services.tickets.relay import relayed_by
from storage.models.outbox import OutboxKind
from storage.repos.windows import split_kf_recipient

CUSTOMER_MESSAGES: Final = frozenset({OutboxKind.KF_MESSAGE, OutboxKind.KF_EVENT_MESSAGE, OutboxKind.OA_MESSAGE})


async def record_sent_replies(session: AsyncSession, claims: Sequence[Claim], now: datetime) -> None:
    """Store a batch's sent customer messages as the bot's messages in their chats (kf: the account; OA: the
    follower), in one pass."""
    await record_bot_replies(session, [_reply(claim) for claim in claims], now)


def _reply(claim: Claim) -> BotReply:
    key = f"outbox:{claim.row_id}"
    if claim.kind == OutboxKind.OA_MESSAGE:
        openid = claim.recipient
        person = PersonRef(openid=openid)
        return BotReply("oa", oa_chat_id(openid), person, claim.payload, key, relayed_by(claim.payload))
    if claim.kind == OutboxKind.KF_EVENT_MESSAGE:
        open_kfid, external_userid = str(claim.payload["open_kfid"]), str(claim.payload["external_userid"])
    else:
        open_kfid, external_userid = split_kf_recipient(claim.recipient)
    return BotReply("kf", open_kfid, PersonRef(external_userid=external_userid), claim.payload, key)
