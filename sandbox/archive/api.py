"""POST /sandbox/finance/getchatdata, standing in for the SDK's GetChatData, and the archive's admin views.

The wire between the native SDK and qyapi is private (WECOM.md §2c), so the sandbox fakes the SDK's result
instead: the request carries GetChatData's arguments and the answer is the SDK's result JSON, byte for byte in
shape. SDK errors answer HTTP 200 with the SDK's return code as errcode, as a wrapper around the SDK would.
"""

from __future__ import annotations

import hmac
import json

from aiohttp import web

from sandbox import appkeys
from sandbox.archive.faults import RETRYABLE, SDK_ERRMSG
from sandbox.archive.store import MAX_LIMIT
from sandbox.http_json import Body, error_response, json_response, read_object
from sandbox.model import ActionError
from sandbox.wire import Json


def sdk_error(code: int, detail: str, status: int = 200) -> web.Response:
    return json_response({"errcode": code, "errmsg": f"{SDK_ERRMSG[code]} / {detail}"}, status)


class _BadRequest(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _integer(body: Json, name: str, default: int | None = None) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _BadRequest(f"{name} must be an integer")
    return value


def _string(body: Json, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise _BadRequest(f"{name} must be a non-empty string")
    return value


async def getchatdata(request: web.Request) -> web.Response:
    """{"corpid","secret","seq","limit","timeout"?} -> {"errcode":0,"errmsg":"ok","chatdata":[…]} from seq+1."""
    app = request.app
    archive = app[appkeys.ARCHIVE]
    config = app[appkeys.CONFIG]
    if not archive.enabled:
        detail = (
            "会话内容存档未开启：沙箱未配置 SANDBOX_ARCHIVE_PUBLIC_KEY / "
            "archive disabled: set SANDBOX_ARCHIVE_PUBLIC_KEY to a 2048-bit RSA public key"
        )
        return sdk_error(10003, detail, status=503)
    try:
        body = json.loads((await request.read()).decode("utf-8"))
        if not isinstance(body, dict):
            raise _BadRequest("the body must be a JSON object")
        corpid, secret = _string(body, "corpid"), _string(body, "secret")
        seq, limit, timeout = _integer(body, "seq"), _integer(body, "limit"), _integer(body, "timeout", 0)
        # GetChatData refuses a limit above 1000 (WECOM.md §2c); 0 or less asks for nothing, refused as well.
        if seq < 0 or not 1 <= limit <= MAX_LIMIT or timeout < 0:
            raise _BadRequest(f"seq must be >= 0, limit 1..{MAX_LIMIT}, timeout >= 0")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return sdk_error(10000, "the body is not JSON")
    except _BadRequest as bad:
        return sdk_error(10000, bad.detail)
    # A network fault happens before the server could judge the credentials.
    fault = app[appkeys.ARCHIVE_FAULTS].take()
    if fault is not None:
        return sdk_error(fault, "injected fault (sandbox)")
    # UNCONFIRMED which code a wrong corpid or secret gives: 10000 (request parameters) for the corpid and
    # 10004 (key error) for the secret are the nearest meanings in the SDK's table.
    if corpid != config.corp_id:
        return sdk_error(10000, "corpid does not match")
    if not hmac.compare_digest(secret.encode(), config.archive.secret.encode()):
        return sdk_error(10004, "the 会话内容存档 secret does not match")
    items = archive.pull(seq, limit)
    return json_response({"errcode": 0, "errmsg": "ok", "chatdata": [item.chatdata() for item in items]})


async def get_messages(request: web.Request) -> web.Response:
    """The admin view of archived messages after seq `since`, decrypted, for the page and tests."""
    raw = request.query.get("since", "0")
    if not raw.isdigit():
        return error_response(
            ActionError(400, "bad_since", "since 应为非负整数", "since must be a non-negative integer")
        )
    archive = request.app[appkeys.ARCHIVE]
    items = archive.since(int(raw))
    return json_response({"messages": [item.admin_json() for item in items], "last_seq": archive.last_seq})


async def get_fault(request: web.Request) -> web.Response:
    return json_response(request.app[appkeys.ARCHIVE_FAULTS].to_json())


async def post_fault(request: web.Request) -> web.Response:
    """{"times": N, "errcode"?: 10001|10002|10003}: the next N pulls fail with that code."""
    try:
        body = Body(await read_object(request))
        times = body.integer("times", 1)
        errcode = body.integer("errcode", 10001)
        if times < 0:
            raise ActionError(400, "bad_times", "times 应为非负整数", "times must be >= 0")
        if errcode not in RETRYABLE:
            raise ActionError(400, "bad_errcode", "errcode 只能是 10001、10002 或 10003", "errcode must be 10001-10003")
    except ActionError as error:
        return error_response(error)
    faults = request.app[appkeys.ARCHIVE_FAULTS]
    faults.errcode, faults.remaining = errcode, times
    return json_response(faults.to_json())


def setup_archive_api(app: web.Application) -> None:
    router = app.router
    router.add_post("/sandbox/finance/getchatdata", getchatdata)
    router.add_get("/sandbox/archive/messages", get_messages)
    router.add_get("/sandbox/archive/fault", get_fault)
    router.add_post("/sandbox/archive/fault", post_fault)
