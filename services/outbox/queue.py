"""Queue outgoing messages: each call writes an outbox row in the caller's transaction; only the sender sends.

Every function takes the caller's AsyncSession, so the row commits (or rolls back) with the state change that
caused it (DESIGN.md §2 rule 2). An idempotency `key` makes a replayed cause queue the message once; without one a
fresh key is drawn.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from services.outbox.messages import CustomerMessage, MemberMessage
from storage.kf_state import KfState
from storage.models.outbox import OutboxKind, Priority
from storage.repos import outbox as outbox_repo
from storage.repos.outbox import NewOutbox
from storage.repos.windows import kf_recipient

MAX_MEMBERS_PER_MESSAGE: Final = 1000  # message/send's touser limit


def _key(kind: str, key: str | None) -> str:
    return f"{kind}:{key}" if key else f"{kind}:{uuid.uuid4().hex}"


async def already_queued(session: AsyncSession, kind: OutboxKind, key: str) -> bool:
    """A message with this key (as given to a `queue_*` function) was queued before: a redelivered request."""
    return await outbox_repo.exists_key(session, _key(kind, key))


def content_key(kind: str, recipient: str, payload: dict[str, Any]) -> str:
    """Same kind, recipient and content give the same key: WeCom's duplicate check would treat them as one."""
    blob = json.dumps([kind, recipient, payload], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


async def queue_row(
    session: AsyncSession,
    now: datetime,
    kind: OutboxKind,
    recipient: str,
    payload: dict[str, Any],
    *,
    key: str | None,
    priority: int,
    not_before: datetime | None,
    dedupe_content: bool = False,
) -> int:
    row = NewOutbox(
        kind=kind,
        recipient=recipient,
        payload=payload,
        priority=priority,
        idempotency_key=_key(kind, key),
        not_before=not_before or now,
        content_key=content_key(kind, recipient, payload) if dedupe_content else None,
    )
    row_id, _ = await outbox_repo.insert_if_new(session, row, now)
    return row_id


async def queue_app_message(
    session: AsyncSession,
    now: datetime,
    userids: Sequence[str],
    message: MemberMessage,
    *,
    key: str | None = None,
    priority: int = Priority.HIGH,
    not_before: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> int:
    """An app message (text, markdown or card) to up to 1,000 members; returns the outbox id.

    `extra` rides along in the payload for Qunke's own use (an alert digest keeps its items there).
    """
    members = sorted(dict.fromkeys(u for u in userids if u))
    if not 1 <= len(members) <= MAX_MEMBERS_PER_MESSAGE:
        raise ValueError(f"an app message goes to 1 to {MAX_MEMBERS_PER_MESSAGE} members, got {len(members)}")
    recipient = "|".join(members)
    return await queue_row(
        session,
        now,
        OutboxKind.APP_MESSAGE,
        recipient,
        {**message.to_payload(), **(extra or {})},
        key=key,
        priority=priority,
        not_before=not_before,
        dedupe_content=True,
    )


async def queue_kf_reply(
    session: AsyncSession,
    now: datetime,
    open_kfid: str,
    external_userid: str,
    message: CustomerMessage,
    *,
    key: str | None = None,
    priority: int = Priority.HIGH,
) -> int:
    """A reply in a kf session (text or menu); it spends one of the customer's 5 sends in 48 h."""
    recipient = kf_recipient(open_kfid, external_userid)
    return await queue_row(
        session,
        now,
        OutboxKind.KF_MESSAGE,
        recipient,
        message.to_payload(),
        key=key,
        priority=priority,
        not_before=None,
    )


async def queue_kf_event_message(
    session: AsyncSession,
    now: datetime,
    open_kfid: str,
    external_userid: str,
    code: str,
    code_expires_at: datetime,
    message: CustomerMessage,
    *,
    key: str | None = None,
) -> int:
    """A message on a kf event code (welcome_code or a session msg_code); it fails if the code expires first."""
    payload = {
        **message.to_payload(),
        "code_expires_at": code_expires_at.isoformat(),
        "open_kfid": open_kfid,
        "external_userid": external_userid,
    }
    return await queue_row(
        session, now, OutboxKind.KF_EVENT_MESSAGE, code, payload, key=key, priority=Priority.HIGH, not_before=None
    )


async def queue_welcome_message(
    session: AsyncSession,
    now: datetime,
    welcome_code: str,
    code_expires_at: datetime,
    message: CustomerMessage,
    *,
    key: str | None = None,
) -> int:
    """A welcome to a customer who just added a rep (send_welcome_msg); it fails if the code expires first."""
    payload = {**message.to_payload(), "code_expires_at": code_expires_at.isoformat()}
    return await queue_row(
        session,
        now,
        OutboxKind.WELCOME_MESSAGE,
        welcome_code,
        payload,
        key=key,
        priority=Priority.HIGH,
        not_before=None,
    )


async def queue_oa_template(
    session: AsyncSession,
    now: datetime,
    openid: str,
    template_id: str,
    data: dict[str, str],
    url: str | None,
    *,
    key: str | None = None,
    priority: int = Priority.LOW,
) -> int:
    """An OA template message (campaigns): outside any window, to a follower of the account."""
    payload = {"template_id": template_id, "data": data, "url": url or ""}
    return await queue_row(
        session, now, OutboxKind.OA_TEMPLATE, openid, payload, key=key, priority=priority, not_before=None
    )


async def queue_oa_message(
    session: AsyncSession,
    now: datetime,
    openid: str,
    message: CustomerMessage,
    *,
    key: str | None = None,
    priority: int = Priority.HIGH,
    extra: dict[str, Any] | None = None,
) -> int:
    """An Official Account customer-service message, within the follower's window.

    `extra` rides along in the payload for Qunke's own use (a rep's relayed reply names the rep and the ticket).
    """
    payload = {**message.to_payload(), **(extra or {})}
    return await queue_row(
        session, now, OutboxKind.OA_MESSAGE, openid, payload, key=key, priority=priority, not_before=None
    )


async def queue_kf_trans(
    session: AsyncSession,
    now: datetime,
    open_kfid: str,
    external_userid: str,
    servicer_userid: str,
    *,
    notice: CustomerMessage | None = None,
    alert: dict[str, Any] | None = None,
    key: str | None = None,
) -> int:
    """Hand a kf session to `servicer_userid` (service_state 3), or to the pool (2) when it is ""; it is not a
    customer message and spends no quota.

    `notice` is told to the customer after the hand-off, on the msg_code WeCom returns for it (send_msg_on_event):
    once a person holds the session, kf/send_msg is refused (95018), so the code is the way to say it. `alert`
    (services/faq/notify.py) says who hears about it, once WeCom's answer tells where the session really went.
    """
    state = KfState.HUMAN if servicer_userid else KfState.POOL
    payload: dict[str, Any] = {"service_state": state, "servicer_userid": servicer_userid}
    if notice is not None:
        payload["notice"] = notice.to_payload()
    if alert is not None:
        payload["alert"] = alert
    recipient = kf_recipient(open_kfid, external_userid)
    return await queue_row(
        session, now, OutboxKind.KF_TRANS, recipient, payload, key=key, priority=Priority.HIGH, not_before=None
    )


async def queue_mark_tag(
    session: AsyncSession,
    now: datetime,
    userid: str,
    external_userid: str,
    add: Sequence[str],
    remove: Sequence[str],
    *,
    key: str | None = None,
) -> int:
    """Add and remove corp tags (by tag id) on a customer, as the rep `userid` who has them as a contact; WeCom then
    sends the edit_external_contact callback and the customer's tags are re-read from it."""
    payload = {"userid": userid, "add_tag": list(add), "remove_tag": list(remove)}
    return await queue_row(
        session, now, OutboxKind.MARK_TAG, external_userid, payload, key=key, priority=Priority.NORMAL, not_before=None
    )
