"""Chat actions under /sandbox/act/: say, recall, media, robot messages, archive injections, and OA followers.

They need more than the contact actions' World (the archive, its notifier, the OA and its sender), so admin_act
hands them the request; each answers {"ok": true, "action", "message", "delivery_ids"} or a bilingual error.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Final

import aiohttp
from aiohttp import web

from sandbox import appkeys
from sandbox.archive.actions import (
    ChatWorld,
    Speaker,
    default_envelope,
    inject_broken,
    inject_custom,
    inject_raw,
    recall,
    robot_say,
    say_media,
    say_text,
)
from sandbox.archive.messages import MediaKind, MediaSpec
from sandbox.archive.store import ArchivedMessage, Fault
from sandbox.http_json import Body, error_response, json_response, read_object
from sandbox.model import ActionError
from sandbox.oa.actions import NewFollower, OAResult, OAWorld, follow, menu_click, unfollow
from sandbox.oa.actions import say as oa_say
from sandbox.oa.model import follower_json
from sandbox.wire import Json

# The demo corp's one robot, for robot-say without an explicit id.
DEMO_ROBOT_ID: Final = "wbk2Xr7QbV1m9JcN4sTa8yLzEe0uHpWd"
KF_FORWARD_TIMEOUT_S: Final = 15.0

Handler = Callable[[web.Request, Body, Json], Awaitable[web.Response]]


def _chat_world(app: web.Application) -> ChatWorld:
    return ChatWorld(app[appkeys.CORP], app[appkeys.ARCHIVE], app[appkeys.MSGIDS])


def _oa_world(app: web.Application) -> OAWorld:
    config = app[appkeys.CONFIG]
    return OAWorld(app[appkeys.CORP], app[appkeys.OA], config.oa.original_id, app[appkeys.CLOCK].epoch())


def _speaker(body: Body) -> Speaker:
    return Speaker(body.optional_text("as") or None, body.optional_text("member") or None)


def _message_text(raw: Json, name: str = "text") -> str:
    """Message text is kept as typed (no trimming): it is what the customer said."""
    value = raw.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ActionError(400, "missing_field", f"缺少字段 {name}", f"missing field {name}")
    return value


def _archived(request: web.Request, action: str, item: ArchivedMessage) -> web.Response:
    app = request.app
    delivery_ids = app[appkeys.NOTIFIER].note_new() if app[appkeys.ARCHIVE].enabled else []
    message = {
        "channel": "archive",
        "seq": item.seq,
        "msgid": item.msgid,
        "chat": item.chat,
        "action": item.plain.get("action"),
        "msgtype": item.plain.get("msgtype"),
        "msgtime": item.msgtime_ms,
    }
    return json_response({"ok": True, "action": action, "message": message, "delivery_ids": delivery_ids})


def _pushed(request: web.Request, action: str, result: OAResult) -> web.Response:
    app = request.app
    delivery_id = app[appkeys.OA_SENDER].submit(result.push)
    message = {
        "channel": "oa",
        "openid": result.follower.openid,
        "msgid": result.msgid,
        "msgtype": result.push.msg_type,
        "event": result.push.event,
    }
    follower = follower_json(app[appkeys.CORP], result.follower)
    body = {"ok": True, "action": action, "message": message, "follower": follower, "delivery_ids": [delivery_id]}
    return json_response(body)


async def _say(request: web.Request, body: Body, raw: Json) -> web.Response:
    target = body.text("in")
    text = _message_text(raw)
    if target == "kf":
        return await _forward_kf(request, body, text)
    if target == "oa":
        return _pushed(request, "say", oa_say(_oa_world(request.app), body.text("as"), text))
    return _archived(request, "say", say_text(_chat_world(request.app), _speaker(body), target, text))


async def _forward_kf(request: web.Request, body: Body, text: str) -> web.Response:
    """kf belongs to the kf engine: `say --in kf` is posted on to its kf-say or kf-servicer-say action."""
    customer, member = body.text("as"), body.optional_text("member")
    payload: Json = {"customer": customer, "text": text}
    if member:
        path, payload = "kf-servicer-say", {"member": member, **payload}
    else:
        path = "kf-say"
        if open_kfid := body.optional_text("open_kfid"):
            payload["open_kfid"] = open_kfid
    url = request.url.with_path(f"/sandbox/act/{path}").with_query(None)
    timeout = aiohttp.ClientTimeout(total=KF_FORWARD_TIMEOUT_S)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, session.post(url, json=payload) as response:
            status, answer = response.status, await response.text()
        relayed = json.loads(answer)
    except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError):
        raise ActionError(502, "kf_unavailable", "微信客服引擎没有应答", f"{path} did not answer") from None
    return json_response(relayed, status)


async def _say_media(request: web.Request, body: Body, raw: Json) -> web.Response:
    kind = body.text("kind")
    if kind not in set(MediaKind):
        raise ActionError(400, "bad_kind", "kind 只能是 image、file 或 voice", "kind must be image, file or voice")
    size = raw.get("size")
    play_length = raw.get("play_length")
    spec = MediaSpec(
        MediaKind(kind),
        body.optional_text("filename") or "",
        body.integer("size", 0) if size is not None else None,
        body.integer("play_length", 0) if play_length is not None else None,
    )
    item = say_media(_chat_world(request.app), _speaker(body), body.text("in"), spec)
    return _archived(request, "say-media", item)


async def _robot_say(request: web.Request, body: Body, raw: Json) -> web.Response:
    robot = body.optional_text("robot") or DEMO_ROBOT_ID
    item = robot_say(_chat_world(request.app), body.text("group"), robot, _message_text(raw))
    return _archived(request, "robot-say", item)


async def _recall(request: web.Request, body: Body, raw: Json) -> web.Response:
    return _archived(request, "recall", recall(_chat_world(request.app), body.text("msgid")))


async def _inject(request: web.Request, body: Body, raw: Json) -> web.Response:
    """{"plain": {...}} stored as given, or {"msgtype", "content": {...}} in a chat like say's."""
    world = _chat_world(request.app)
    plain = raw.get("plain")
    if plain is not None:
        if not isinstance(plain, dict):
            raise ActionError(400, "bad_field", "字段 plain 应为 JSON 对象", "field plain must be a JSON object")
        return _archived(request, "archive-inject", inject_raw(world, plain))
    content = raw.get("content", {})
    if not isinstance(content, dict):
        raise ActionError(400, "bad_field", "字段 content 应为 JSON 对象", "field content must be a JSON object")
    envelope = default_envelope(world, _speaker(body), body.optional_text("in"))
    item = inject_custom(world, body.text("msgtype"), content, envelope, body.optional_text("action") or "send")
    return _archived(request, "archive-inject", item)


async def _inject_corrupt(request: web.Request, body: Body, raw: Json) -> web.Response:
    part = body.optional_text("part") or "msg"
    faults = {"msg": Fault.CORRUPT_MSG, "key": Fault.CORRUPT_KEY}
    if part not in faults:
        raise ActionError(400, "bad_part", "part 只能是 msg 或 key", "part must be msg or key")
    world = _chat_world(request.app)
    envelope = default_envelope(world, _speaker(body), body.optional_text("in"))
    return _archived(request, "archive-inject-corrupt", inject_broken(world, envelope, faults[part]))


async def _inject_unknown_key(request: web.Request, body: Body, raw: Json) -> web.Response:
    world = _chat_world(request.app)
    version = body.integer("publickey_ver", world.archive.key_version + 1)
    if version == world.archive.key_version or version < 1:
        raise ActionError(
            400,
            "bad_version",
            "publickey_ver 应为未配置的正整数版本",
            "publickey_ver must be a positive unconfigured version",
        )
    envelope = default_envelope(world, _speaker(body), body.optional_text("in"))
    if world.archive.enabled:
        await world.archive.stranger_key()
    item = inject_broken(world, envelope, Fault.UNKNOWN_KEY, version)
    return _archived(request, "archive-inject-unknown-key", item)


async def _oa_follow(request: web.Request, body: Body, raw: Json) -> web.Response:
    who = NewFollower(
        nickname=body.optional_text("nickname") or "",
        unionid=body.optional_text("unionid") or "",
        customer=body.optional_text("customer") or "",
        openid=body.optional_text("openid") or "",
    )
    return _pushed(request, "oa-follow", follow(_oa_world(request.app), who))


async def _oa_unfollow(request: web.Request, body: Body, raw: Json) -> web.Response:
    return _pushed(request, "oa-unfollow", unfollow(_oa_world(request.app), body.text("openid")))


async def _oa_say(request: web.Request, body: Body, raw: Json) -> web.Response:
    world = _oa_world(request.app)
    result = oa_say(world, body.text("openid"), _message_text(raw), body.optional_text("menu_id") or "")
    return _pushed(request, "oa-say", result)


async def _oa_menu_click(request: web.Request, body: Body, raw: Json) -> web.Response:
    return _pushed(request, "oa-menu-click", menu_click(_oa_world(request.app), body.text("openid"), body.text("key")))


def _guarded(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def run(request: web.Request) -> web.Response:
        try:
            raw = await read_object(request)
            return await handler(request, Body(raw), raw)
        except ActionError as error:
            return error_response(error)

    return run


CHAT_ACTIONS: Final = {
    name: _guarded(handler)
    for name, handler in (
        ("say", _say),
        ("say-media", _say_media),
        ("robot-say", _robot_say),
        ("recall", _recall),
        ("archive-inject", _inject),
        ("archive-inject-corrupt", _inject_corrupt),
        ("archive-inject-unknown-key", _inject_unknown_key),
        ("oa-follow", _oa_follow),
        ("oa-unfollow", _oa_unfollow),
        ("oa-say", _oa_say),
        ("oa-menu-click", _oa_menu_click),
    )
}
