"""message/send's message body: one object named by msgtype, checked against WeCom's per-type limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from sandbox.qyapi.reply import QyapiError
from sandbox.wire import Json

TEXT_MAX_BYTES: Final = 2048
TEXTCARD_TITLE_MAX: Final = 128
TEXTCARD_DESCRIPTION_MAX: Final = 512
TEXTCARD_BTNTXT_MAX: Final = 4
ARTICLES_MAX: Final = 8
INTERACTIVE_CARDS: Final = frozenset({"button_interaction", "vote_interaction", "multiple_interaction"})
CARD_TYPES: Final = frozenset({"text_notice", "news_notice"}) | INTERACTIVE_CARDS


@dataclass(frozen=True, slots=True)
class MessageContent:
    msgtype: str
    payload: Json
    # What a person would read first, for the delivery log and the duplicate key's readers.
    summary: str
    interactive: bool = False


def _field(payload: Json, name: str) -> str:
    value = payload.get(name, "")
    if not isinstance(value, str):
        raise QyapiError(40058, f"invalid Request Parameter: {name}")
    return value


def _required(payload: Json, name: str, missing_code: int) -> str:
    value = _field(payload, name)
    if not value.strip():
        raise QyapiError(missing_code)
    return value


def _bytes_at_most(value: str, limit: int, code: int, name: str) -> str:
    if len(value.encode()) > limit:
        raise QyapiError(code, f"{name} size out of limit ({limit} bytes)")
    return value


def _text(payload: Json) -> str:
    # 44004 "文本消息content参数为空" and 45002 "消息内容大小超过限制 … 文本消息类型：最长不超过2048个字节" [D:90313].
    content = _required(payload, "content", 44004)
    return _bytes_at_most(content, TEXT_MAX_BYTES, 45002, "content")


def _markdown(payload: Json) -> str:
    # UNCONFIRMED which codes markdown uses; the sandbox answers as for text (45002 over 2048 bytes).
    content = _required(payload, "content", 40058)
    return _bytes_at_most(content, TEXT_MAX_BYTES, 45002, "content")


def _media(payload: Json) -> str:
    return _required(payload, "media_id", 41006)


def _textcard(payload: Json) -> str:
    title = _bytes_at_most(_required(payload, "title", 41016), TEXTCARD_TITLE_MAX, 40058, "title")
    description = _required(payload, "description", 41033)
    _bytes_at_most(description, TEXTCARD_DESCRIPTION_MAX, 40058, "description")
    _required(payload, "url", 41010)
    if len(_field(payload, "btntxt")) > TEXTCARD_BTNTXT_MAX:
        raise QyapiError(40058, "invalid Request Parameter: btntxt")
    return title


def _articles(payload: Json) -> str:
    articles = payload.get("articles")
    if not isinstance(articles, list) or not articles or not all(isinstance(a, dict) for a in articles):
        raise QyapiError(40058, "invalid Request Parameter: articles")
    if len(articles) > ARTICLES_MAX:
        raise QyapiError(45008)
    titles = [_required(article, "title", 41016) for article in articles]
    return titles[0]


def _miniprogram_notice(payload: Json) -> str:
    _required(payload, "appid", 90200)
    return _required(payload, "title", 41016)


def _template_card(payload: Json) -> str:
    card_type = _field(payload, "card_type")
    if card_type not in CARD_TYPES:
        raise QyapiError(42031)
    # Interactive cards call back with their task_id; UNCONFIRMED code for a missing one, 42014 is "task_id不合法".
    if card_type in INTERACTIVE_CARDS and not _field(payload, "task_id").strip():
        raise QyapiError(42014)
    main_title = payload.get("main_title")
    title = main_title.get("title") if isinstance(main_title, dict) else None
    return title if isinstance(title, str) and title else card_type


CHECKS: Final[dict[str, Callable[[Json], str]]] = {
    "text": _text,
    "markdown": _markdown,
    "image": _media,
    "voice": _media,
    "video": _media,
    "file": _media,
    "textcard": _textcard,
    "news": _articles,
    "mpnews": _articles,
    "miniprogram_notice": _miniprogram_notice,
    "template_card": _template_card,
}


def message_content(body: Json) -> MessageContent:
    """The body's message, or the errcode WeCom gives for it (40008 for an unknown msgtype)."""
    msgtype = body.get("msgtype")
    if not isinstance(msgtype, str) or msgtype not in CHECKS:
        raise QyapiError(40008)
    payload = body.get(msgtype)
    if not isinstance(payload, dict):
        raise QyapiError(40058, f"invalid Request Parameter: {msgtype}")
    summary = CHECKS[msgtype](payload)
    interactive = msgtype == "template_card" and payload.get("card_type") in INTERACTIVE_CARDS
    return MessageContent(msgtype, payload, summary, interactive)
