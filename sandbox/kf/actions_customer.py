"""What a WeChat customer does in a kf chat: enter, type, click a menu, send media or anything else, recall."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from sandbox.http_json import Body
from sandbox.kf.actions_common import KfActionResult, KfWorld, customer_json, customer_of, existing_chat, raw_object
from sandbox.kf.model import WINDOW_S, CodeKind, Speaker
from sandbox.kf.outgoing import menu_click
from sandbox.kf.sessions import issue_code
from sandbox.kf.stream import chat_event, customer_message, injected_message
from sandbox.model import ActionError
from sandbox.wire import Json

TEXT_MAX: Final = 2048
# The WeChat client lets a sender recall a message for 2 minutes.
RECALL_S: Final = 120
MEDIA_TYPES: Final = ("image", "voice", "video", "file")


def kf_enter(w: KfWorld, b: Body, raw: Mapping[str, object]) -> KfActionResult:
    """enter_session; a welcome_code only if no welcome message went out in the last 48 h (WECOM.md §2d).

    Entering does not start a session: the state stays 4 ("未开始") until the customer writes.
    """
    account = w.store.account(b.optional_text("open_kfid"))
    customer = customer_of(w, b)
    chat = w.store.chat(account.open_kfid, customer.external_userid)
    context: Json = {}
    for name in ("scene", "scene_param"):
        if value := b.optional_text(name):
            context[name] = value
    event: Json = {"event_type": "enter_session", **context}
    if chat.last_welcome_at is None or w.now >= chat.last_welcome_at + WINDOW_S:
        event["welcome_code"] = issue_code(w.store, w.ids, chat, CodeKind.WELCOME, w.now)
    chat.last_enter = context
    chat.last_seen_at = w.now
    item = chat_event(w.store, w.ids, chat, event, w.now)
    extra: Json = {"customer": customer_json(customer)}
    if "welcome_code" in event:
        extra["welcome_code"] = event["welcome_code"]
    return KfActionResult(account, chat, [item], extra)


def kf_say(w: KfWorld, b: Body, raw: Mapping[str, object]) -> KfActionResult:
    account = w.store.account(b.optional_text("open_kfid"))
    text = b.text("text")
    if len(text) > TEXT_MAX:
        raise ActionError(400, "too_long", f"消息最多 {TEXT_MAX} 个字符", f"text is limited to {TEXT_MAX} characters")
    customer = customer_of(w, b)
    chat = w.store.chat(account.open_kfid, customer.external_userid)
    item = customer_message(w.store, w.ids, chat, "text", {"content": text}, w.now)
    return KfActionResult(account, chat, [item], {"customer": customer_json(customer)})


def kf_click(w: KfWorld, b: Body, raw: Mapping[str, object]) -> KfActionResult:
    """The customer taps a click item of a msgmenu the API sent; it arrives as text with text.menu_id."""
    account = w.store.account(b.optional_text("open_kfid"))
    customer = w.corp.customer(b.text("customer"))
    chat = existing_chat(w, account, customer.external_userid)
    menu_id, msgid = b.text("menu_id"), b.optional_text("msgid")
    for line in reversed(chat.transcript):
        if line.speaker is not Speaker.API or line.msgtype != "msgmenu" or (msgid and line.msgid != msgid):
            continue
        payload = line.message.get("msgmenu")
        content = menu_click(payload, menu_id) if isinstance(payload, dict) else None
        if content is not None:
            item = customer_message(w.store, w.ids, chat, "text", {"content": content, "menu_id": menu_id}, w.now)
            return KfActionResult(account, chat, [item], {"clicked_msgid": line.msgid})
    raise ActionError(
        404,
        "unknown_menu_item",
        f"没有找到发给该客户、含点击项 {menu_id} 的菜单消息",
        f"no msgmenu sent to this customer has a click item {menu_id}",
    )


def _media_defaults(w: KfWorld, msgtype: str) -> Json:
    if msgtype in MEDIA_TYPES:
        return {"media_id": w.ids.media_id()}
    defaults: dict[str, Json] = {
        "location": {"latitude": 30.274085, "longitude": 120.15507, "name": "西湖文化广场", "address": "中山北路"},
        "link": {"title": "活动报名", "desc": "秋季训练营报名入口", "url": "https://example.com/signup", "pic_url": ""},
        "business_card": {"userid": "wangwu"},
        "miniprogram": {
            "title": "群客商城",
            "appid": "wx1234567890abcdef",
            "pagepath": "pages/index",
            "thumb_media_id": w.ids.media_id(),
        },
    }
    if msgtype not in defaults:
        known = "、".join((*MEDIA_TYPES, *defaults))
        raise ActionError(400, "bad_msgtype", f"msgtype 只能是 {known}", f"msgtype must be one of {known}")
    return dict(defaults[msgtype])


def _check_location(body: Json) -> None:
    for name, bound in (("latitude", 90), ("longitude", 180)):
        value = body.get(name)
        if not isinstance(value, int | float) or isinstance(value, bool) or not -bound <= value <= bound:
            raise ActionError(400, "bad_field", f"{name} 应为 ±{bound} 以内的数字", f"{name} must be within ±{bound}")


def kf_send_media(w: KfWorld, b: Body, raw: Mapping[str, object]) -> KfActionResult:
    """An image, voice, video, file, location, link, business card or mini program; `fields` override defaults."""
    account = w.store.account(b.optional_text("open_kfid"))
    msgtype = b.text("msgtype")
    body = _media_defaults(w, msgtype)
    body.update(raw_object(raw, "fields", required=False) or {})
    if msgtype == "location":
        _check_location(body)
    customer = customer_of(w, b)
    chat = w.store.chat(account.open_kfid, customer.external_userid)
    item = customer_message(w.store, w.ids, chat, msgtype, body, w.now)
    return KfActionResult(account, chat, [item], {"customer": customer_json(customer)})


def kf_inject(w: KfWorld, b: Body, raw: Mapping[str, object]) -> KfActionResult:
    """`msg` is served verbatim over msgid/open_kfid/external_userid/send_time/origin (any of which it may set)."""
    account = w.store.account(b.optional_text("open_kfid"))
    msg = raw_object(raw, "msg") or {}
    if not isinstance(msg.get("msgtype"), str) or not msg["msgtype"]:
        raise ActionError(400, "bad_field", "msg.msgtype 应为非空字符串", "msg.msgtype must be a non-empty string")
    customer = customer_of(w, b)
    chat = w.store.chat(account.open_kfid, customer.external_userid)
    item = injected_message(w.store, w.ids, chat, msg, w.now)
    return KfActionResult(account, chat, [item], {"customer": customer_json(customer)})


def kf_recall(w: KfWorld, b: Body, raw: Mapping[str, object]) -> KfActionResult:
    """The customer (or, with `member`, a servicer) recalls one of their own messages within 2 minutes."""
    account = w.store.account(b.optional_text("open_kfid"))
    customer = w.corp.customer(b.text("customer"))
    chat = existing_chat(w, account, customer.external_userid)
    msgid, member = b.text("msgid"), b.optional_text("member")
    speaker = Speaker.SERVICER if member else Speaker.CUSTOMER
    line = next((x for x in chat.transcript if x.msgid == msgid and x.speaker is speaker), None)
    if line is None or (member and line.message.get("servicer_userid") != member):
        raise ActionError(
            404, "unknown_message", f"没有可撤回的消息 {msgid}", f"no message {msgid} of theirs to recall"
        )
    if w.now - line.send_time > RECALL_S:
        raise ActionError(
            409, "too_late", "超过 2 分钟的消息不能撤回", "messages older than 2 minutes cannot be recalled"
        )
    event: Json = {"event_type": "servicer_recall_msg" if member else "user_recall_msg", "recall_msgid": msgid}
    if member:
        event["servicer_userid"] = member
    item = chat_event(w.store, w.ids, chat, event, w.now)
    return KfActionResult(account, chat, [item])
