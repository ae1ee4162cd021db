"""After a kf hand-off: note the session's new state, tell the customer on the code WeCom gave and the reps where the
session really went, or fall back to the pool when the chosen servicer cannot take it."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.apiclient import JsonObject
from bot.delivery.wire import Claim
from services.conversations import recording as conversations
from services.faq.notify import HandoffAlert, HandoffOutcome, handoff_alert
from services.outbox.messages import Text
from services.outbox.queue import queue_kf_event_message, queue_kf_trans
from storage.kf_state import KfState
from storage.repos import windows
from storage.repos.windows import split_kf_recipient

log = logging.getLogger("qunke.kf")

# A session or pool msg_code lives 48 h (WECOM.md §2d); a margin keeps us off its last seconds.
SESSION_CODE_TTL: Final = timedelta(hours=48) - timedelta(minutes=5)
NOT_A_SERVICER: Final = 95014  # the userid is not a servicer of this kf account, or is not receiving


async def after_kf_trans(session: AsyncSession, claim: Claim, data: JsonObject, now: datetime) -> None:
    """Record the new state with its servicer (WeCom pushes no event for a change we made ourselves), queue the
    customer's notice on the returned msg_code (kf/send_msg is refused once a person holds the session), and tell
    the reps on the hand-off's alert where the session went."""
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
    alert = claim.payload.get("alert")
    if isinstance(alert, dict):
        await handoff_alert(session, now, HandoffAlert.from_payload(alert), _outcome(state, alert))


def _outcome(state: int, alert: dict[str, Any]) -> HandoffOutcome:
    if state == KfState.HUMAN:
        return HandoffOutcome.TAKEN
    return HandoffOutcome.POOL_FALLBACK if alert.get("fallback_from") else HandoffOutcome.UNATTENDED


async def after_kf_trans_refused(session: AsyncSession, claim: Claim, errcode: int | None, now: datetime) -> bool:
    """The owner rep is often not a servicer of the kf account, or has stopped receiving (95014): hand the session to
    the pool instead, where a receiving servicer takes it; the customer's notice goes with it, and the rep is told
    the truth once the pool has it. True when the session was sent to the pool."""
    if errcode != NOT_A_SERVICER or int(claim.payload["service_state"]) != KfState.HUMAN:
        return False
    open_kfid, external_userid = split_kf_recipient(claim.recipient)
    servicer = str(claim.payload["servicer_userid"])
    log.warning(
        "kf hand-off to %s refused (95014: not a servicer of %s, or not receiving); the session goes to the pool",
        servicer,
        open_kfid,
    )
    notice, alert = claim.payload.get("notice"), claim.payload.get("alert")
    await queue_kf_trans(
        session,
        now,
        open_kfid,
        external_userid,
        "",
        notice=Text(str(notice["content"])) if notice else None,
        alert={**alert, "fallback_from": servicer} if isinstance(alert, dict) else None,
        key=f"trans-pool:{claim.row_id}",
    )
    return True


async def pool_health(session: AsyncSession, managers: tuple[str, ...], now: datetime) -> dict[str, Any]:
    """/healthz detail: kf customers waiting in the pool, and a warning when no manager hears about them."""
    waiting = await windows.count_waiting_in_pool(session, now - timedelta(hours=48))
    detail: dict[str, Any] = {"waiting_in_pool": waiting, "unattended": 0 if managers else waiting}
    if waiting and not managers:
        detail["warning"] = (
            f"{waiting} kf customer(s) asked for a person and wait in the pool; no service.managers to alert "
            "(set service.managers and service.on_duty)"
        )
    return detail
