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
from typing import Any, Final, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from services.outbox.messages import CustomerMessage, MassContent, MemberMessage
from storage.kf_state import KfState
from storage.models.outbox import OutboxKind, Priority
from storage.repos import masstasks
from storage.repos import outbox as outbox_repo
from storage.repos.outbox import NewOutbox
from storage.repos.windows import kf_recipient

MAX_MEMBERS_PER_MESSAGE: Final = 1000  # message/send's touser limit
MAX_SINGLE_TARGETS: Final = 10_000  # add_msg_template: external_userid
MAX_GROUP_TARGETS: Final = 2000  # add_msg_template: chat_id_list

ChatType = Literal["single", "group"]


def _key(kind: str, key: str | None) -> str:
    return f"{kind}:{key}" if key else f"{kind}:{uuid.uuid4().hex}"


def content_key(kind: str, recipient: str, payload: dict[str, Any]) -> str:
    """Same kind, recipient and content give the same key: WeCom's duplicate check would treat them as one."""
    blob = json.dumps([kind, recipient, payload], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


async def _queue(
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
    return await _queue(
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
    return await _queue(
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
    return await _queue(
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
    return await _queue(
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
    return await _queue(
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
) -> int:
    """An Official Account customer-service message, within the follower's window."""
    return await _queue(
        session, now, OutboxKind.OA_MESSAGE, openid, message.to_payload(), key=key, priority=priority, not_before=None
    )


async def queue_mass_task(
    session: AsyncSession,
    now: datetime,
    *,
    sender: str,
    chat_type: ChatType,
    targets: Sequence[str],
    content: MassContent,
    key: str | None = None,
    priority: int = Priority.LOW,
    not_before: datetime | None = None,
) -> int:
    """An add_msg_template task from `sender` to customers (single) or customer groups (group); returns the task id.

    Nothing reaches a customer until the member confirms it in WeCom; the sender then tracks the funnel.
    """
    limit = MAX_GROUP_TARGETS if chat_type == "group" else MAX_SINGLE_TARGETS
    unique = list(dict.fromkeys(t for t in targets if t))
    if not 1 <= len(unique) <= limit:
        raise ValueError(f"a {chat_type} mass task goes to 1 to {limit} targets, got {len(unique)}")
    task_id, _ = await _mass_task_row(session, now, sender, chat_type, content, key, priority, not_before, unique)
    return task_id


async def _mass_task_row(
    session: AsyncSession,
    now: datetime,
    sender: str,
    chat_type: ChatType,
    content: MassContent,
    key: str | None,
    priority: int,
    not_before: datetime | None,
    target_ids: Sequence[str],
) -> tuple[int, bool]:
    """The task's outbox row and task (with `target_ids`): (task id, True), or (its id, False) when the same key
    queued it before."""
    payload = {"chat_type": chat_type, **content.to_payload()}
    outbox_id = await _queue(
        session, now, OutboxKind.MASS_TASK, sender, payload, key=key, priority=priority, not_before=not_before
    )
    existing = await masstasks.task_by_outbox(session, outbox_id)
    if existing is not None:
        return existing.id, False
    task_id = await masstasks.create_task(
        session,
        outbox_id=outbox_id,
        sender=sender,
        chat_type=chat_type,
        text=str(payload["text"]),
        target_ids=target_ids,
        now=now,
    )
    return task_id, True


async def queue_mass_task_from(
    session: AsyncSession,
    now: datetime,
    *,
    sender: str,
    targets: Any,
    content: MassContent,
    key: str,
    priority: int = Priority.LOW,
) -> int:
    """queue_mass_task to the customers whose external_userids a SELECT yields (a campaign's span of up to 10,000):
    they go from the database into the task in one INSERT … SELECT. The SELECT must yield 1 to 10,000 ids."""
    task_id, new = await _mass_task_row(session, now, sender, "single", content, key, priority, None, ())
    if not new:  # the same key queued it before
        return task_id
    added = await masstasks.add_targets_from(session, task_id, "customer", targets)
    if not 1 <= added <= MAX_SINGLE_TARGETS:  # raised inside the caller's transaction: nothing is kept
        raise ValueError(f"a single mass task goes to 1 to {MAX_SINGLE_TARGETS} targets, got {added}")
    return task_id


async def queue_task_followup(
    session: AsyncSession,
    now: datetime,
    kind: Literal[OutboxKind.MASS_POLL, OutboxKind.MASS_RESULTS, OutboxKind.MASS_REMIND, OutboxKind.MASS_CANCEL],
    task_id: int,
    msgid: str,
    *,
    key: str,
    not_before: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> int:
    """A call about an existing mass task (poll, results page, reminder, cancel); it goes through the sender too."""
    payload = {"task_id": task_id, **(extra or {})}
    priority = Priority.HIGH if kind == OutboxKind.MASS_CANCEL else Priority.NORMAL
    return await _queue(session, now, kind, msgid, payload, key=key, priority=priority, not_before=not_before)


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
    return await _queue(
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
    return await _queue(
        session, now, OutboxKind.MARK_TAG, external_userid, payload, key=key, priority=Priority.NORMAL, not_before=None
    )
