"""The Official Account API under /oa (the bot's WECHAT_API_BASE): cgi-bin/token and message/custom/send."""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from sandbox import appkeys
from sandbox.http_json import error_response, json_response
from sandbox.model import ActionError
from sandbox.oa.model import Follower
from sandbox.qyapi.tokens import TokenCheck
from sandbox.wire import Json

OA_PREFIX: Final = "/oa"
ERRMSG: Final = {
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40008: "invalid message type",
    40013: "invalid appid",
    40125: "invalid appsecret",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    42001: "access_token expired",
    43004: "require subscribe",
    44002: "empty post data",
    44004: "empty content",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    47001: "data format error",
}
# The OA API answers an unknown token with 40001 (its 40014 is rarely seen); expired with 42001.
TOKEN_ERRORS: Final = {TokenCheck.MISSING: 41001, TokenCheck.INVALID: 40001, TokenCheck.EXPIRED: 42001}
MENU_MAX: Final = 10


class OAError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def oa_error(code: int) -> web.Response:
    """OA errors carry a request id in errmsg; clients branch on errcode only."""
    rid = "-".join(secrets.token_hex(4) for _ in range(3))
    return web.json_response({"errcode": code, "errmsg": f"{ERRMSG.get(code, 'error')} rid: {rid}"})


async def token(request: web.Request) -> web.Response:
    """GET /oa/cgi-bin/token?grant_type=client_credential&appid=&secret= -> {access_token, expires_in}."""
    oa = request.app[appkeys.CONFIG].oa
    query = request.query
    if query.get("grant_type") != "client_credential":
        return oa_error(40002)
    appid, secret = query.get("appid", ""), query.get("secret", "")
    if not appid:
        return oa_error(41002)
    if appid != oa.app_id:
        return oa_error(40013)
    if not secret:
        return oa_error(41004)
    if not hmac.compare_digest(secret.encode(), oa.secret.encode()):
        return oa_error(40125)
    issued = request.app[appkeys.OA_TOKENS].issue()
    # A success carries no errcode on the OA API.
    return web.json_response({"access_token": issued.access_token, "expires_in": issued.expires_in})


@dataclass(frozen=True, slots=True)
class OASend:
    """One custom/send call as the delivery log keeps it: accepted (`oa_send`) or refused (`oa_send_rejected`)."""

    touser: str
    msgtype: str
    errcode: int
    payload: object

    @property
    def kind(self) -> str:
        return "oa_send" if self.errcode == 0 else "oa_send_rejected"

    def fields(self) -> Json:
        outcome = "ok" if self.errcode == 0 else f"errcode_{self.errcode}"
        return {
            "touser": self.touser,
            "msgtype": self.msgtype,
            "errcode": self.errcode,
            "ok": self.errcode == 0,
            "outcome": outcome,
            "payload": self.payload,
        }


async def custom_send(request: web.Request) -> web.Response:
    """POST /oa/cgi-bin/message/custom/send: text or msgmenu, only inside the follower's window (WECOM.md §4)."""
    raw = await request.read()
    payload: object = None
    try:
        check = request.app[appkeys.OA_TOKENS].check(request.query.get("access_token"))
        if check is not TokenCheck.OK:
            raise OAError(TOKEN_ERRORS[check])
        payload = _json(raw)
        follower, msgtype, shown = _validated(request.app, payload)
        now = request.app[appkeys.CLOCK].epoch()
        refusal = request.app[appkeys.OA].take_send(follower, now)
        if refusal is not None:
            raise OAError(int(refusal))
    except OAError as error:
        _log(request.app, payload, error.code)
        return oa_error(error.code)
    request.app[appkeys.OA].record(follower.openid, "out", msgtype, shown, now)
    _log(request.app, payload, 0)
    return web.json_response({"errcode": 0, "errmsg": "ok"})


def _json(raw: bytes) -> Json:
    if not raw.strip():
        raise OAError(44002)
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise OAError(47001) from None
    if not isinstance(body, dict):
        raise OAError(47001)
    return body


def _validated(app: web.Application, body: Json) -> tuple[Follower, str, str]:
    """(follower, msgtype, what the follower sees as text)."""
    touser = body.get("touser")
    followers = app[appkeys.OA].followers
    if not isinstance(touser, str) or touser not in followers:
        raise OAError(40003)
    msgtype = body.get("msgtype")
    if msgtype == "text":
        return followers[touser], "text", _text(body.get("text"))
    if msgtype == "msgmenu":
        return followers[touser], "msgmenu", _menu(body.get("msgmenu"))
    # Images, news and the rest need media the sandbox does not host: refused as unsupported types.
    raise OAError(40008)


def _text(section: object) -> str:
    if not isinstance(section, dict) or not isinstance(section.get("content"), str):
        raise OAError(47001)
    content: str = section["content"]
    if not content.strip():
        raise OAError(44004)
    return content


def _menu(section: object) -> str:
    """{"head_content","list":[{"id","content"}],"tail_content"}; shown as lines the follower can tap."""
    if not isinstance(section, dict):
        raise OAError(47001)
    items = section.get("list")
    head, tail = section.get("head_content", ""), section.get("tail_content", "")
    if not isinstance(head, str) or not isinstance(tail, str) or not isinstance(items, list):
        raise OAError(47001)
    # UNCONFIRMED how many options the OA allows; kf allows 10 (WECOM.md §2d) and the sandbox keeps to that.
    if not 1 <= len(items) <= MENU_MAX:
        raise OAError(47001)
    options: list[str] = []
    for item in items:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("id"), str)
            or not isinstance(item.get("content"), str)
        ):
            raise OAError(47001)
        options.append(f"[{item['id']}] {item['content']}")
    return "\n".join(part for part in (head, *options, tail) if part)


def _log(app: web.Application, payload: object, errcode: int) -> None:
    body = payload if isinstance(payload, dict) else {}
    touser, msgtype = body.get("touser"), body.get("msgtype")
    app[appkeys.LOG].append(
        OASend(
            touser if isinstance(touser, str) else "",
            msgtype if isinstance(msgtype, str) else "",
            errcode,
            payload,
        )
    )


async def get_messages(request: web.Request) -> web.Response:
    """The admin view of OA conversations after line `since`, for the page and tests."""
    raw = request.query.get("since", "0")
    if not raw.isdigit():
        return error_response(
            ActionError(400, "bad_since", "since 应为非负整数", "since must be a non-negative integer")
        )
    since = int(raw)
    oa = request.app[appkeys.OA]
    return json_response({"messages": [line.to_json() for line in oa.since(since)], "last_n": oa.last_n})


def setup_oa_api(app: web.Application) -> None:
    """/oa/... is outside /cgi-bin/, so the qyapi token middleware never sees it; the OA checks its own tokens."""
    app.router.add_get(f"{OA_PREFIX}/cgi-bin/token", token)
    app.router.add_post(f"{OA_PREFIX}/cgi-bin/message/custom/send", custom_send)
    app.router.add_get("/sandbox/oa/messages", get_messages)
