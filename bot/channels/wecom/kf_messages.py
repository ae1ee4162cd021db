"""kf/sync_msg items (WECOM.md §2d) to normalized events: customer and servicer messages, recalls, session events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from bot.channels.apiclient import JsonObject
from bot.events import (
    ChatKind,
    ChatMessage,
    Event,
    KfSessionChanged,
    MessageChannel,
    MessageRecalled,
    Person,
    Speaker,
)

ORIGIN_CUSTOMER: Final = 3
ORIGIN_SYSTEM: Final = 4
ORIGIN_SERVICER: Final = 5
# session_status_change.change_type → what happened (WECOM.md §2d).
SESSION_CHANGES: Final = {1: "taken", 2: "transferred", 3: "ended", 4: "reentered"}
# The state each change leaves the session in, when WeCom's own answer is not at hand.
STATE_AFTER: Final = {"taken": 3, "transferred": 3, "ended": 4}
KNOWN_BODIES: Final = frozenset(
    {"text", "image", "voice", "video", "file", "location", "link", "business_card", "miniprogram", "msgmenu"}
)


def sent_at(item: JsonObject, fallback: datetime) -> datetime:
    try:
        seconds = int(item.get("send_time", 0))
    except (TypeError, ValueError):
        return fallback
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else fallback


def to_events(item: JsonObject, names: dict[str, Person], fallback: datetime) -> list[Event]:
    """One sync_msg item to its events; an unknown msgtype is kept as a message with the raw item as its body."""
    msgid = str(item.get("msgid", ""))
    open_kfid = str(item.get("open_kfid", ""))
    external_userid = str(item.get("external_userid", ""))
    msgtype = str(item.get("msgtype", "")) or "unknown"
    at = sent_at(item, fallback)
    origin = _int(item.get("origin"))
    if msgtype == "event" or origin == ORIGIN_SYSTEM:
        return _system_event(item, names, at)
    person = names.get(external_userid) or Person(external_userid=external_userid)
    servicer = str(item.get("servicer_userid", "")) if origin == ORIGIN_SERVICER else ""
    body = item.get(msgtype) if msgtype in KNOWN_BODIES and isinstance(item.get(msgtype), dict) else None
    if body is None:
        # Not modelled (yet): an `unknown` entry that keeps the whole item, never a silent drop.
        body, msgtype = {"original_msgtype": msgtype, "raw": item}, "unknown"
    text, menu_id = "", ""
    if msgtype == "text" and body is not None:
        text, menu_id = str(body.get("content", "")), str(body.get("menu_id", ""))
    elif msgtype == "location" and body is not None:
        text = str(body.get("name") or body.get("address") or "")
    elif msgtype == "link" and body is not None:
        text = str(body.get("title", ""))
    return [
        ChatMessage(
            occurred_at=at,
            source_key=f"kf:{msgid}",
            channel=MessageChannel.KF,
            chat_kind=ChatKind.KF,
            chat_id=open_kfid,
            msgid=msgid,
            speaker=Speaker.MEMBER if servicer else Speaker.CUSTOMER,
            speaker_id=servicer or external_userid,
            customer=person,
            member_userid=servicer or None,
            msgtype=msgtype,
            text=text,
            body=dict(body),
            menu_id=menu_id,
        )
    ]


def _system_event(item: JsonObject, names: dict[str, Person], at: datetime) -> list[Event]:
    msgid = str(item.get("msgid", ""))
    event = item.get("event") if isinstance(item.get("event"), dict) else {}
    assert isinstance(event, dict)
    kind = str(event.get("event_type", ""))
    open_kfid = str(event.get("open_kfid") or item.get("open_kfid", ""))
    external_userid = str(event.get("external_userid") or item.get("external_userid", ""))
    person = names.get(external_userid) or Person(external_userid=external_userid)
    key = f"kf:{msgid}"
    if kind in ("user_recall_msg", "servicer_recall_msg"):
        by = "customer" if kind == "user_recall_msg" else str(event.get("servicer_userid", ""))
        return [MessageRecalled(at, key, MessageChannel.KF, str(event.get("recall_msgid", "")), by)]
    if not external_userid:
        # servicer_status_change and other account-level events: nothing to put on a customer's timeline.
        return []
    if kind == "enter_session":
        code = str(event.get("welcome_code", ""))
        detail = {"scene": event.get("scene", ""), "scene_param": event.get("scene_param", "")}
        return [_session(at, key, open_kfid, person, "enter", None, "", code, "welcome" if code else "", detail)]
    if kind == "session_status_change":
        change = SESSION_CHANGES.get(_int(event.get("change_type")), "changed")
        servicer = str(event.get("new_servicer_userid", ""))
        code = str(event.get("msg_code", ""))
        code_kind = "session_end" if change == "ended" else ("session" if code else "")
        state = STATE_AFTER.get(change)
        detail = {"old_servicer": event.get("old_servicer_userid", ""), "new_servicer": servicer}
        return [_session(at, key, open_kfid, person, change, state, servicer, code, code_kind, detail)]
    if kind == "msg_send_fail":
        detail = {"fail_msgid": event.get("fail_msgid", ""), "fail_type": _int(event.get("fail_type"))}
        return [_session(at, key, open_kfid, person, "send_failed", None, "", "", "", detail)]
    return [_session(at, key, open_kfid, person, kind or "event", None, "", "", "", {"raw": event})]


def _session(
    at: datetime,
    key: str,
    open_kfid: str,
    person: Person,
    change: str,
    state: int | None,
    servicer: str,
    code: str,
    code_kind: str,
    detail: dict[str, object],
) -> KfSessionChanged:
    return KfSessionChanged(at, key, open_kfid, person, change, state, servicer, code, code_kind, detail)


def customers_in(items: list[JsonObject]) -> set[str]:
    ids = {str(i.get("external_userid", "")) for i in items}
    ids |= {str(i["event"].get("external_userid", "")) for i in items if isinstance(i.get("event"), dict)}
    return {i for i in ids if i}


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return -1
