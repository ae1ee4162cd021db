"""Checks on what the bot sends through kf: the msgid, the msgtype and each type's body (WECOM.md §2d)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from sandbox.kf.errors import kf_error
from sandbox.wire import Json

MSGID_RE: Final = re.compile(r"^[0-9A-Za-z_-]{1,32}$")
TEXT_MAX_BYTES: Final = 2048
MENU_MAX_ITEMS: Final = 10
MENU_EDGE_MAX_BYTES: Final = 1024
CLICK_ID_MAX_BYTES: Final = 64
CLICK_CONTENT_MAX_BYTES: Final = 128
MENU_ITEM_MAX_BYTES: Final = 1024


@dataclass(frozen=True, slots=True)
class Outgoing:
    msgtype: str
    payload: Json


def _nbytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _obj(body: Json, name: str) -> Json:
    value = body.get(name)
    if not isinstance(value, dict):
        raise kf_error(40058, name)
    return value


def _text(body: Json, name: str, where: str, max_bytes: int, required: bool = True) -> str:
    value = body.get(name, None if required else "")
    if not isinstance(value, str) or (required and not value):
        raise kf_error(40058, f"{where}.{name}")
    if _nbytes(value) > max_bytes:
        raise kf_error(40058, f"{where}.{name} exceeds {max_bytes} bytes")
    return value


def _number(body: Json, name: str, where: str, bound: float) -> None:
    value = body.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool) or not -bound <= value <= bound:
        raise kf_error(40058, f"{where}.{name}")


def _check_text(payload: Json) -> None:
    content = payload.get("content")
    if not isinstance(content, str):
        raise kf_error(40058, "text.content")
    # UNCONFIRMED which codes kf uses here; 44004 and 45002 are WeCom's global "empty" and "too long" codes.
    if not content:
        raise kf_error(44004, "text.content")
    if _nbytes(content) > TEXT_MAX_BYTES:
        raise kf_error(45002, f"text.content exceeds {TEXT_MAX_BYTES} bytes")


def _check_media(msgtype: str) -> Callable[[Json], None]:
    def check(payload: Json) -> None:
        # No media upload exists in the sandbox, so any non-empty media_id is taken on trust.
        _text(payload, "media_id", msgtype, 256)

    return check


def _check_link(payload: Json) -> None:
    _text(payload, "title", "link", 128)
    _text(payload, "desc", "link", 512, required=False)
    _text(payload, "url", "link", 2048)
    _text(payload, "thumb_media_id", "link", 256)


def _check_miniprogram(payload: Json) -> None:
    _text(payload, "appid", "miniprogram", 64)
    _text(payload, "title", "miniprogram", 64, required=False)
    _text(payload, "thumb_media_id", "miniprogram", 256)
    _text(payload, "pagepath", "miniprogram", 1024)


def _check_location(payload: Json) -> None:
    _text(payload, "name", "location", 256, required=False)
    _text(payload, "address", "location", 1024, required=False)
    _number(payload, "latitude", "location", 90)
    _number(payload, "longitude", "location", 180)


def _check_menu_item(item: object, index: int, click_ids: set[str]) -> None:
    where = f"msgmenu.list[{index}]"
    if not isinstance(item, dict):
        raise kf_error(40058, where)
    kind = item.get("type")
    if kind not in ("click", "view", "miniprogram", "text"):
        raise kf_error(40058, f"{where}.type")
    body = _obj(item, kind)
    if kind == "click":
        # UNCONFIRMED whether the id may be left out; a click without one could not be told apart, so it is required.
        click_id = _text(body, "id", f"{where}.click", CLICK_ID_MAX_BYTES)
        _text(body, "content", f"{where}.click", CLICK_CONTENT_MAX_BYTES)
        if click_id in click_ids:
            raise kf_error(40058, f"{where}.click.id repeats {click_id}")
        click_ids.add(click_id)
    elif kind == "view":
        _text(body, "url", f"{where}.view", 2048)
        _text(body, "content", f"{where}.view", MENU_ITEM_MAX_BYTES)
    elif kind == "miniprogram":
        _text(body, "appid", f"{where}.miniprogram", 64)
        _text(body, "pagepath", f"{where}.miniprogram", 1024)
        _text(body, "content", f"{where}.miniprogram", MENU_ITEM_MAX_BYTES)
    else:
        _text(body, "content", f"{where}.text", MENU_ITEM_MAX_BYTES)


def _check_menu(payload: Json) -> None:
    _text(payload, "head_content", "msgmenu", MENU_EDGE_MAX_BYTES, required=False)
    _text(payload, "tail_content", "msgmenu", MENU_EDGE_MAX_BYTES, required=False)
    items = payload.get("list")
    if not isinstance(items, list) or not items:
        raise kf_error(40058, "msgmenu.list")
    if len(items) > MENU_MAX_ITEMS:
        raise kf_error(95008, f"{len(items)} items, at most {MENU_MAX_ITEMS}")
    click_ids: set[str] = set()
    for index, item in enumerate(items):
        _check_menu_item(item, index, click_ids)


# The types kf/send_msg accepts. The 获客链接 (acquisition link) type is left out: its msgtype name is UNCONFIRMED.
CHECKS: Final[dict[str, Callable[[Json], None]]] = {
    "text": _check_text,
    "image": _check_media("image"),
    "voice": _check_media("voice"),
    "video": _check_media("video"),
    "file": _check_media("file"),
    "link": _check_link,
    "miniprogram": _check_miniprogram,
    "msgmenu": _check_menu,
    "location": _check_location,
}


def check_msgid(body: Json) -> str | None:
    """The caller's own msgid (≤32 bytes of [0-9a-zA-Z_-]), or None when WeCom should make one."""
    value = body.get("msgid")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not MSGID_RE.match(value):
        raise kf_error(40058, "msgid")
    return value


def check_message(body: Json, allowed: frozenset[str] | None = None) -> Outgoing:
    msgtype = body.get("msgtype")
    if not isinstance(msgtype, str) or msgtype not in CHECKS or (allowed is not None and msgtype not in allowed):
        raise kf_error(40058, f"msgtype {msgtype}")
    payload = _obj(body, msgtype)
    CHECKS[msgtype](payload)
    return Outgoing(msgtype, payload)


def menu_click(payload: Json, menu_id: str) -> str | None:
    """The content of the click item `menu_id` in a msgmenu the bot sent, or None if it has no such item."""
    items = payload.get("list")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("type") == "click":
            click = item.get("click")
            if isinstance(click, dict) and click.get("id") == menu_id:
                return str(click.get("content", ""))
    return None
