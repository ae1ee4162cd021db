"""Marketing consent: "退订" opts a customer out of every campaign, "订阅" back in; recorded on the timeline and
confirmed to the customer where the channel lets the bot reply (kf, the Official Account)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.customers.optout_sentences import asks_to_stop_marketing
from services.outbox.messages import Text
from services.outbox.queue import queue_kf_reply, queue_oa_message
from storage.db import dialect_of
from storage.models.campaigns import ContactPref
from storage.repos import timeline

OPTED_OUT_REPLY = "已为您退订营销消息，之后不再向您推送活动信息。如需恢复，请回复“订阅”。"
OPTED_IN_REPLY = "已为您恢复订阅，之后会继续向您推送活动信息。回复“退订”可随时退订。"


class Preference(StrEnum):
    OUT = "opted_out"
    IN = "opted_in"


@dataclass(frozen=True, slots=True)
class Reach:
    """Where the customer spoke, so the confirmation goes back the same way (kf or OA); None fields: no reply."""

    channel: str  # kf | oa | archive
    chat_id: str  # open_kfid for kf, the openid for the OA
    external_userid: str = ""


def preference_word(
    text: str, optout_words: Sequence[str], optin_words: Sequence[str], sentences: bool = True
) -> Preference | None:
    """The whole message must be the word ("退订", "TD"): a sentence that mentions it is not a request. With
    `sentences`, a short message that refuses marketing in words ("以后别给我发广告了") opts out too."""
    said = text.strip().strip("。.!！ ").upper()
    if said in {w.upper() for w in optout_words}:
        return Preference.OUT
    if said in {w.upper() for w in optin_words}:
        return Preference.IN
    if sentences and asks_to_stop_marketing(text):
        return Preference.OUT
    return None


async def set_preference(
    session: AsyncSession, customer_id: int, preference: Preference, now: datetime, reach: Reach, source_key: str
) -> None:
    values = (
        {"opted_out_at": now, "source": reach.channel}
        if preference is Preference.OUT
        else {
            "opted_out_at": None,
            "opted_in_at": now,
            "source": reach.channel,
        }
    )
    insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
    await session.execute(
        insert(ContactPref)
        .values(customer_id=customer_id, **values)
        .on_conflict_do_update(index_elements=["customer_id"], set_=values)
    )
    await timeline.add_event_once(
        session,
        customer_id=customer_id,
        kind=preference.value,
        occurred_at=now,
        source_key=f"{preference.value}:{source_key}",
        chat_id=reach.chat_id or None,
        detail={"channel": reach.channel},
    )
    reply = Text(OPTED_OUT_REPLY if preference is Preference.OUT else OPTED_IN_REPLY)
    key = f"pref:{source_key}"
    if reach.channel == "kf" and reach.external_userid:
        await queue_kf_reply(session, now, reach.chat_id, reach.external_userid, reply, key=key)
    elif reach.channel == "oa":
        await queue_oa_message(session, now, reach.chat_id, reply, key=key)
