"""gettoken and the access_token gate in front of every other /cgi-bin/ API."""

from __future__ import annotations

import hmac
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

from sandbox import appkeys
from sandbox.qyapi.reply import QyapiError, api_error, api_ok
from sandbox.qyapi.tokens import TokenCheck

GETTOKEN_PATH: Final = "/cgi-bin/gettoken"


async def gettoken(request: web.Request) -> web.Response:
    config = request.app[appkeys.CONFIG]
    corpid = request.query.get("corpid", "")
    secret = request.query.get("corpsecret", "")
    if not corpid:
        raise QyapiError(41002)
    if corpid != config.corp_id:
        raise QyapiError(40013)
    if not secret:
        raise QyapiError(41004)
    if not hmac.compare_digest(secret.encode(), config.secret.encode()):
        raise QyapiError(40001)
    issued = request.app[appkeys.TOKENS].issue()
    return api_ok({"access_token": issued.access_token, "expires_in": issued.expires_in})


@web.middleware
async def qyapi_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Checks access_token (41001 missing, 40014 unknown, 42001 expired) and renders errcode answers."""
    if not request.path.startswith("/cgi-bin/"):
        return await handler(request)
    try:
        if request.path != GETTOKEN_PATH:
            check = request.app[appkeys.TOKENS].check(request.query.get("access_token"))
            if check is not TokenCheck.OK:
                raise QyapiError(int(check))
        return await handler(request)
    except QyapiError as error:
        return api_error(request, error)
    except web.HTTPMethodNotAllowed as error:
        # WeCom's codes for the wrong method, as JSON like every other answer (never aiohttp's plain text).
        code = 43002 if "POST" in error.allowed_methods else 43001
        return api_error(request, QyapiError(code))
    except web.HTTPNotFound:
        # UNCONFIRMED what WeCom answers for a path it does not serve; 48001 "api unauthorized" is what an app
        # gets for an API outside its permissions, the closest documented answer.
        return api_error(request, QyapiError(48001, f"api unauthorized: {request.path} is not served"))


def setup_qyapi_auth(app: web.Application) -> None:
    app.router.add_get(GETTOKEN_PATH, gettoken)
