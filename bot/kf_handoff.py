"""After a kf hand-off: note the session's new state and tell the customer on the code WeCom gave, or fall back to
the pool when the chosen servicer cannot take it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.apiclient import JsonObject
from bot.outgoing import Claim
from services import conversations
from services.messages import Text
from services.outbox import KF_STATE_HUMAN, queue_kf_event_message, queue_kf_trans
from storage.repos import windows
from storage.repos.windows import split_kf_recipient

# A session or pool msg_code lives 48 h (WECOM.md §2d); a margin keeps us off its last seconds.
SESSION_CODE_TTL: Final = timedelta(hours=48) - timedelta(minutes=5)
NOT_A_SERVICER: Final = 95014  # the userid is not a servicer of this kf account, or is not receiving


async def after_kf_trans(session: AsyncSession, claim: Claim, data: JsonObject, now: datetime) -> None:
    """Record state 3 with its servicer (WeCom pushes no event for a change we made ourselves), then queue the
    customer's notice on the returned msg_code: kf/send_msg is refused once a person holds the session."""
    open_kfid, external_userid = split_kf_recipient(claim.recipient)
    state, servicer = int(claim.payload["service_state"]), str(claim.payload["servicer_userid"])
    row = await conversations.kf_session(session, open_kfid, external_userid, now)
    row.state, row.servicer_userid, row.updated_at = state, servicer, now
    await windows.note_kf_session_state(session, open_kfid, external_userid, state, servicer, at=now)
    notice, code = claim.payload.get("notice"), data.get("msg_code")
    if notice and isinstance(code, str) and code:
        await queue_kf_event_message(
            session,
            now,
            open_kfid,
            external_userid,
            code,
            now + SESSION_CODE_TTL,
            Text(str(notice["content"])),
            key=f"trans-notice:{claim.row_id}",
        )


async def after_kf_trans_refused(session: AsyncSession, claim: Claim, errcode: int | None, now: datetime) -> None:
    """The owner rep is often not a servicer of the kf account (95014): hand the session to the pool instead, where
    WeCom assigns one who is receiving; the customer's notice goes with it."""
    if errcode != NOT_A_SERVICER or int(claim.payload["service_state"]) != KF_STATE_HUMAN:
        return
    open_kfid, external_userid = split_kf_recipient(claim.recipient)
    notice = claim.payload.get("notice")
    await queue_kf_trans(
        session,
        now,
        open_kfid,
        external_userid,
        "",
        notice=Text(str(notice["content"])) if notice else None,
        key=f"trans-pool:{claim.row_id}",
    )
