"""Outgoing messages as platform-free dataclasses; the outbox stores them as plain JSON and the sender renders them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

# WeCom's byte limits (WECOM.md §2d, §3.2, §3.6): text and markdown 2048 B, a mass-task text 4000 B.
TEXT_MAX_BYTES: Final = 2048
MASS_TEXT_MAX_BYTES: Final = 4000
MENU_MAX_ITEMS: Final = 10
MENU_HEAD_MAX_BYTES: Final = 1024
MENU_ITEM_MAX_BYTES: Final = 128
MASS_MAX_ATTACHMENTS: Final = 9
ELLIPSIS: Final = "…"


class MessageType(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    CARD = "card"
    MENU = "menu"


def fit_bytes(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes on a character boundary, marked with an ellipsis when cut."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    room = limit - len(ELLIPSIS.encode())
    return raw[:room].decode(errors="ignore") + ELLIPSIS


@dataclass(frozen=True, slots=True)
class Text:
    content: str

    def to_payload(self) -> dict[str, Any]:
        return {"type": MessageType.TEXT, "content": fit_bytes(self.content, TEXT_MAX_BYTES)}


@dataclass(frozen=True, slots=True)
class Markdown:
    content: str

    def to_payload(self) -> dict[str, Any]:
        return {"type": MessageType.MARKDOWN, "content": fit_bytes(self.content, TEXT_MAX_BYTES)}


@dataclass(frozen=True, slots=True)
class Card:
    """A notice card a member taps to open `url` (rendered as WeCom's text_notice template card)."""

    title: str
    url: str
    description: str = ""
    fields: tuple[tuple[str, str], ...] = ()

    def to_payload(self) -> dict[str, Any]:
        return {
            "type": MessageType.CARD,
            "title": fit_bytes(self.title, 128),
            "description": fit_bytes(self.description, 512),
            "url": self.url,
            "fields": [[fit_bytes(k, 16), fit_bytes(v, 128)] for k, v in self.fields[:6]],
        }


@dataclass(frozen=True, slots=True)
class MenuItem:
    id: str
    text: str


@dataclass(frozen=True, slots=True)
class Menu:
    """Choices a kf or OA customer taps (kf msgmenu); a tap comes back as a message carrying the item's id."""

    head: str
    items: tuple[MenuItem, ...]
    tail: str = ""

    def __post_init__(self) -> None:
        if not 1 <= len(self.items) <= MENU_MAX_ITEMS:
            raise ValueError(f"a menu holds 1 to {MENU_MAX_ITEMS} items, got {len(self.items)}")
        for item in self.items:
            if not 1 <= len(item.id.encode()) <= 64:
                raise ValueError(f"menu item id must be 1-64 bytes: {item.id!r}")

    def to_payload(self) -> dict[str, Any]:
        return {
            "type": MessageType.MENU,
            "head": fit_bytes(self.head, MENU_HEAD_MAX_BYTES),
            "items": [{"id": i.id, "text": fit_bytes(i.text, MENU_ITEM_MAX_BYTES)} for i in self.items],
            "tail": fit_bytes(self.tail, MENU_HEAD_MAX_BYTES),
        }


@dataclass(frozen=True, slots=True)
class ImageAttachment:
    media_id: str = ""
    pic_url: str = ""

    def to_payload(self) -> dict[str, Any]:
        return {"type": "image", "media_id": self.media_id, "pic_url": self.pic_url}


@dataclass(frozen=True, slots=True)
class LinkAttachment:
    title: str
    url: str
    desc: str = ""
    pic_url: str = ""

    def to_payload(self) -> dict[str, Any]:
        return {"type": "link", "title": self.title, "url": self.url, "desc": self.desc, "pic_url": self.pic_url}


MemberMessage = Text | Markdown | Card
CustomerMessage = Text | Menu
Attachment = ImageAttachment | LinkAttachment


@dataclass(frozen=True, slots=True)
class MassContent:
    """What a mass task sends: text plus up to nine attachments."""

    text: str
    attachments: tuple[Attachment, ...] = field(default=())

    def __post_init__(self) -> None:
        if len(self.attachments) > MASS_MAX_ATTACHMENTS:
            raise ValueError(f"a mass task carries at most {MASS_MAX_ATTACHMENTS} attachments")
        if not self.text and not self.attachments:
            raise ValueError("a mass task needs text or an attachment")

    def to_payload(self) -> dict[str, Any]:
        return {
            "text": fit_bytes(self.text, MASS_TEXT_MAX_BYTES),
            "attachments": [a.to_payload() for a in self.attachments],
        }
