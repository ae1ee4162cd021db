"""WeCom web login for the console, wired by the composition root: the login page's address and the code exchange
through the bot's own WeCom client (the console never talks to WeCom)."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from bot.channels.apiclient import ApiError, ApiUnavailable
from bot.channels.wecom.client import WeComClient
from bot.config.platform import REAL_WECOM_API_BASE
from bot.config.settings import Settings
from bot.runtime import CORE
from console.wecom_exchange import WecomLogin, WecomUnavailable

REAL_LOGIN_URL: Final = "https://login.work.weixin.qq.com/wwlogin/sso/login"
SANDBOX_LOGIN_PATH: Final = "/wwlogin/sso/login"
# An app that is not the bot's own (a test's) may hand the client over under this key.
WECOM_API: Final = web.AppKey("console_wecom_api", WeComClient)
GETUSERINFO: Final = "/cgi-bin/auth/getuserinfo"


def login_url(api_base: str) -> str:
    """WeCom's login host is not its API host; a sandbox serves both, so its page sits beside its API."""
    base = api_base.rstrip("/")
    return REAL_LOGIN_URL if base == REAL_WECOM_API_BASE else base + SANDBOX_LOGIN_PATH


def wecom_login(app: web.Application, settings: Settings) -> WecomLogin | None:
    """None without a corp id (nothing to log in to); the client is the one the app creates at start-up."""
    wecom = settings.wecom
    if not wecom.corp_id:
        return None

    async def exchange(code: str) -> dict[str, Any]:
        client = _client(app)
        if client is None:
            raise WecomUnavailable("the WeCom client is not running yet")
        try:
            return await client.get(GETUSERINFO, {"code": code})
        except ApiError as exc:
            return {"errcode": exc.errcode, "errmsg": exc.errmsg}
        except ApiUnavailable as exc:
            raise WecomUnavailable(str(exc)) from exc

    agent = "" if wecom.agent_id is None else str(wecom.agent_id)
    return WecomLogin(login_url(wecom.api_base), wecom.corp_id, agent, exchange)


def _client(app: web.Application) -> WeComClient | None:
    """The client the bot's core created at start-up (bot/runtime.py), or one handed over under WECOM_API."""
    if WECOM_API in app:
        return app[WECOM_API]
    core = app.get(CORE)
    return None if core is None else core.client
