"""Decrypted archive messages (WECOM.md §2c) to normalized events: who spoke, in which chat, about which customer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from bot.events import ChatKind, ChatMessage, Event, MessageChannel, MessageRecalled, Person, Speaker

# external_userid prefixes: wm (WeChat customers), wo (older ids); robots start with wb.
CUSTOMER_PREFIXES: Final = ("wm", "wo")
ROBOT_PREFIX: Final = "wb"
MEDIA_TYPES: Final = frozenset({"image", "voice", "video", "file", "emotion", "location", "link", "card", "weapp"})
UNKNOWN: Final = "unknown"


def speaker_of(userid: str) -> Speaker:
    if userid.startswith(CUSTOMER_PREFIXES):
        return Speaker.CUSTOMER
    if userid.startswith(ROBOT_PREFIX):
        return Speaker.ROBOT
    return Speaker.MEMBER


def to_events(message: dict[str, Any], fallback: datetime) -> list[Event]:
    """One decrypted message to its events. Internal chats (no customer in them) give none: they are not ours to
    keep. An unknown msgtype is kept with its raw body."""
    msgid = str(message.get("msgid", ""))
    action = str(message.get("action", "send"))
    sender = str(message.get("from", ""))
    at = _time(message.get("msgtime"), fallback)
    key = f"archive:{msgid}"
    if action == "recall" or message.get("msgtype") == "revoke":
        revoke = message.get("revoke") if isinstance(message.get("revoke"), dict) else {}
        original = str((revoke or {}).get("pre_msgid", ""))
        return [MessageRecalled(at, key, MessageChannel.ARCHIVE, original, sender)] if original else []
    if action != "send":
        return []  # "switch": a member switched corps in the client; nothing said
    roomid = str(message.get("roomid", "") or "")
    tolist = [str(t) for t in message.get("tolist") or []]
    speaker = speaker_of(sender)
    if roomid:
        chat_kind, chat_id = ChatKind.GROUP, roomid
        customer = Person(external_userid=sender) if speaker is Speaker.CUSTOMER else None
        member = sender if speaker is Speaker.MEMBER else None
    else:
        pair = [sender, *tolist[:1]]
        externals = [p for p in pair if speaker_of(p) is Speaker.CUSTOMER]
        members = [p for p in pair if speaker_of(p) is Speaker.MEMBER]
        if not externals or not members:
            return []
        chat_kind, chat_id = ChatKind.SINGLE, f"single:{members[0]}:{externals[0]}"
        customer, member = Person(external_userid=externals[0]), members[0]
    msgtype = str(message.get("msgtype", "")) or "unknown"
    body_raw = message.get(msgtype)
    body = dict(body_raw) if isinstance(body_raw, dict) else {"raw": message}
    text = ""
    if msgtype == "text":
        text = str(body.get("content", ""))
    elif msgtype in ("file",):
        text = str(body.get("filename", ""))
    elif msgtype == "link":
        text = str(body.get("title", ""))
    elif msgtype not in MEDIA_TYPES:
        # Not modelled (yet): an `unknown` entry that keeps the whole message, never a silent drop.
        body, msgtype = {"original_msgtype": msgtype, "raw": message}, UNKNOWN
    return [
        ChatMessage(
            occurred_at=at,
            source_key=key,
            channel=MessageChannel.ARCHIVE,
            chat_kind=chat_kind,
            chat_id=chat_id,
            msgid=msgid,
            speaker=speaker,
            speaker_id=sender,
            customer=customer,
            member_userid=member,
            msgtype=msgtype,
            text=text,
            body=body,
        )
    ]


def _time(value: object, fallback: datetime) -> datetime:
    try:
        millis = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return fallback
    return datetime.fromtimestamp(millis / 1000, UTC) if millis > 0 else fallback
