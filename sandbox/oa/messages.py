"""Official Account message XML: what a follower's action looks like in plaintext, and the safe-mode envelope."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sandbox.events import cdata


@dataclass(frozen=True, slots=True)
class OAPush:
    """One message or event the platform pushes to the developer URL on a follower's behalf."""

    openid: str
    msg_type: str
    event: str
    plaintext: str


def _head(original_id: str, openid: str, now: int, msg_type: str) -> str:
    return (
        f"<ToUserName>{cdata(original_id)}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType>{cdata(msg_type)}</MsgType>"
    )


def text_push(original_id: str, openid: str, now: int, content: str, msgid: str, menu_id: str = "") -> OAPush:
    """A text message; a click on a msgmenu option arrives as text carrying bizmsgmenuid."""
    extra = f"<bizmsgmenuid>{cdata(menu_id)}</bizmsgmenuid>" if menu_id else ""
    body = f"<Content>{cdata(content)}</Content><MsgId>{msgid}</MsgId>{extra}"
    return OAPush(openid, "text", "", f"<xml>{_head(original_id, openid, now, 'text')}{body}</xml>")


def event_push(original_id: str, openid: str, now: int, event: str, event_key: str | None = None) -> OAPush:
    """subscribe / unsubscribe carry no key; a custom-menu CLICK carries its EventKey."""
    key = f"<EventKey>{cdata(event_key)}</EventKey>" if event_key is not None else ""
    plaintext = f"<xml>{_head(original_id, openid, now, 'event')}<Event>{cdata(event)}</Event>{key}</xml>"
    return OAPush(openid, "event", event, plaintext)


def envelope_xml(original_id: str, encrypted: str) -> str:
    """The safe-mode POST body: the account's original id and the ciphertext, nothing else."""
    return f"<xml><ToUserName>{cdata(original_id)}</ToUserName><Encrypt>{cdata(encrypted)}</Encrypt></xml>"


def plain_signature(token: str, timestamp: str, nonce: str) -> str:
    """The plain-mode `signature`: sha1 over the sorted token, timestamp and nonce (WECOM.md §4)."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
