"""企业微信登录: a member logs in through WeCom web login (OAuth) instead of a password.

/console/login/wecom sends the browser to WeCom's login page (the sandbox's, locally) with a random `state` kept in
a cookie; WeCom redirects back to /console/login/wecom/callback with `code` and `state`; the code is exchanged
(`auth/getuserinfo`) by the bot's WeCom client — the console itself never talks to WeCom — and the console account
bound to the member's userid is logged in."""

from __future__ import annotations

import logging
import secrets
from typing import Final
from urllib.parse import urlencode

from aiohttp import web

from console.auth import login_form
from console.deps import SESSION_COOKIE, client_ip, db, deps, is_secure, now, set_cookie
from console.wecom_exchange import WecomUnavailable
from services.access import accounts, audit
from services.access.accounts import LoginProblem
from services.access.audit import Origin
from services.access.member_login import login_member

log = logging.getLogger("qunke.console")
STATE_COOKIE: Final = "qunke_oauth_state"
CALLBACK: Final = "/console/login/wecom/callback"


async def start(request: web.Request) -> web.StreamResponse:
    login = deps(request).config.wecom_login
    if login is None:
        return _refuse(request, "本系统未配置企业微信登录，请使用用户名和密码登录", 404)
    state = secrets.token_hex(16)  # WeCom allows only a-zA-Z0-9 in state
    query = {
        "login_type": "CorpApp",
        "appid": login.corp_id,
        "agentid": login.agent_id,
        "redirect_uri": _origin(request) + CALLBACK,
        "state": state,
    }
    response = web.HTTPFound(f"{login.login_url}?{urlencode(query)}")
    set_cookie(request, response, STATE_COOKIE, state)
    raise response


async def callback(request: web.Request) -> web.StreamResponse:
    login = deps(request).config.wecom_login
    if login is None:
        return _refuse(request, "本系统未配置企业微信登录，请使用用户名和密码登录", 404)
    expected, sent = request.cookies.get(STATE_COOKIE, ""), request.query.get("state", "")
    if not expected or not secrets.compare_digest(expected, sent):
        return _refuse(request, "登录请求已失效（state 不符），请重新点击「企业微信登录」", 403)
    code = request.query.get("code", "")
    if not code or len(code) > 512:
        return _refuse(request, "企业微信未返回登录凭证（code），请重试", 400)
    try:
        answer = await login.exchange(code)
    except WecomUnavailable as exc:
        log.warning("console WeCom login: code exchange failed: %s", exc)
        return _refuse(request, "暂时无法连接企业微信，请稍后再试或使用密码登录", 503)
    if int(answer.get("errcode", 0) or 0) != 0:
        return _refuse(request, f"企业微信登录失败（错误码 {answer.get('errcode')}），请重新登录", 401)
    userid = str(answer.get("userid", ""))
    if not userid:
        return _refuse(request, "只有本企业的成员可以登录控制台", 403)
    return await _log_in(request, userid)


async def _log_in(request: web.Request, userid: str) -> web.StreamResponse:
    at, where = now(request), Origin(actor=f"wecom:{userid}"[:96], ip=client_ip(request))
    async with db(request) as session:
        result = await login_member(session, userid)
        if result.user is None:
            await audit.record(session, at, where, "login_failed", userid, {"via": "wecom", "problem": result.problem})
            await session.commit()
            if result.problem == LoginProblem.DISABLED:
                return _refuse(request, "该账号已停用，请联系管理员", 403)
            return _refuse(request, f"企业微信成员「{userid}」还没有控制台账号，请联系管理员开通", 403)
        token, _ = await accounts.open_session(
            session, at, result.user, where.ip, request.headers.get("User-Agent", "")
        )
        await audit.record(session, at, where, "login", result.user.login, {"via": "wecom"})
        await session.commit()
    response = web.HTTPFound("/console/")
    set_cookie(request, response, SESSION_COOKIE, token)
    response.del_cookie(STATE_COOKIE, path="/console")
    raise response


def _refuse(request: web.Request, message: str, status: int) -> web.Response:
    response = login_form(request, message, "", "", status=status)
    response.del_cookie(STATE_COOKIE, path="/console")
    return response


def _origin(request: web.Request) -> str:
    scheme = "https" if is_secure(request) else "http"
    return f"{scheme}://{request.host}"


def add_routes(app: web.Application) -> None:
    app.router.add_get("/login/wecom", start)
    app.router.add_get("/login/wecom/callback", callback)
