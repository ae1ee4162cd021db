"""qyapi conventions: the errcode envelope (always HTTP 200), JSON body parsing and opaque paging cursors."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from functools import partial
from typing import Final

from aiohttp import web

from sandbox.wire import Json

ERRMSG: Final = {
    -1: "system busy",
    40001: "invalid credential",
    40003: "invalid userid",
    40008: "invalid message type",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40032: "invalid userid list size",
    40056: "invalid agentid",
    40058: "invalid Request Parameter",
    40068: "invalid tagid",
    40096: "invalid external userid",
    41001: "access_token missing",
    41002: "corpid missing",
    41004: "corpsecret missing",
    41006: "media_id missing",
    41009: "missing userid",
    41010: "url missing",
    41011: "missing agentid",
    41016: "title missing",
    41033: "description missing",
    41035: "missing external userid",
    41049: "missing welcome_code",
    41046: "missing msgid",
    41047: "invalid msgid",
    41048: "no available external userid to send",
    41063: "msg is being dispatched, please try later",
    41064: "attachments size out of limit",
    41065: "invalid attachment type",
    41093: "msg task has been cancelled",
    41094: "remind frequency out of limit",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    42014: "invalid task_id",
    42031: "invalid template_card card_type",
    44004: "empty content",
    45002: "content size out of limit",
    45008: "article size out of limit",
    45009: "api freq out of limit",
    48001: "api unauthorized",
    45033: "api concurrent out of limit",
    50100: "invalid cursor",
    60111: "userid not found",
    81013: "user & party & tag all invalid",
    82001: "All touser & toparty & totag invalid",
    82002: "invalid party size",
    82003: "invalid tag size",
    84061: "not external contact",
    86214: "invalid chat type",
    90200: "appid missing",
    90501: "not external group chat",
}
WRONG_JSON: Final = "Warning: wrong json format. "

_dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


class QyapiError(Exception):
    """An errcode answer; the middleware turns it into WeCom's envelope."""

    def __init__(self, code: int, text: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.text = text if text is not None else ERRMSG.get(code, "error")


def api_ok(payload: Json | None = None) -> web.Response:
    body: Json = {"errcode": 0, "errmsg": "ok"}
    body.update(payload or {})
    return web.json_response(body, dumps=_dumps)


def api_error(request: web.Request, error: QyapiError) -> web.Response:
    """errmsg carries a hint and the caller's IP like WeCom's, so clients learn to branch on errcode only."""
    hint = f"{secrets.randbelow(10**10):010d}_{secrets.randbelow(1000)}_{secrets.token_hex(16)}"
    errmsg = (
        f"{error.text}, hint: [{hint}], from ip: {request.remote or '127.0.0.1'}, "
        f"more info at https://open.work.weixin.qq.com/devtool/query?e={error.code}"
    )
    return web.json_response({"errcode": error.code, "errmsg": errmsg}, dumps=_dumps)


async def json_body(request: web.Request) -> Json:
    """A JSON object body, or 40058 with WeCom's "wrong json format" text (still HTTP 200)."""
    raw = await request.read()
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise QyapiError(40058, WRONG_JSON) from None
    if not isinstance(body, dict):
        raise QyapiError(40058, WRONG_JSON)
    return body


def body_int(body: Json, name: str, default: int | None = None) -> int:
    value = body.get(name, default)
    # bool is an int in Python but not in JSON's eyes.
    if not isinstance(value, int) or isinstance(value, bool):
        raise QyapiError(40058, f"invalid Request Parameter: {name}")
    return value


def body_str(body: Json, name: str, default: str = "") -> str:
    value = body.get(name, default)
    if not isinstance(value, str):
        raise QyapiError(40058, f"invalid Request Parameter: {name}")
    return value


def encode_cursor(kind: str, position: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> int:
    """0 for an empty cursor; 50100 for one this API did not hand out."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        position = int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise QyapiError(50100) from None
    if prefix != kind or position < 0:
        raise QyapiError(50100)
    return position
