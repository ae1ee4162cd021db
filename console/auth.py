"""Login, logout and the middleware that resolves the session, checks CSRF and applies the route table."""

from __future__ import annotations

import logging
import secrets
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from console.access import PUBLIC, ROUTE_ACCESS
from console.deps import CSRF, LOGIN_CSRF_COOKIE, SESSION_COOKIE, VIEWER, client_ip, db, deps, now, origin, set_cookie
from services.access import accounts, audit
from services.access.accounts import LoginProblem
from services.access.audit import Origin

log = logging.getLogger("qunke.console")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_ANSWERS = {
    LoginProblem.WRONG: "用户名或密码错误",
    LoginProblem.DISABLED: "该账号已停用，请联系管理员",
    LoginProblem.LOCKED: "密码错误次数过多，该账号已被暂时锁定，请稍后再试",
}


def _canonical(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else ""


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = _canonical(request)
    allowed = ROUTE_ACCESS.get(route)
    if allowed is None:
        if isinstance(request.match_info.http_exception, web.HTTPException):
            raise request.match_info.http_exception  # an unknown path: aiohttp's own 404/405
        log.error("console route %s has no access rule in console/access.py; refusing it", route)
        raise web.HTTPForbidden(text="该页面未配置访问权限")
    if allowed is PUBLIC:
        return await handler(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    async with db(request) as session:
        found = (
            await accounts.resume(session, now(request), token, deps(request).config.idle_timeout) if token else None
        )
        await session.commit()
    if found is None:
        if request.method in UNSAFE_METHODS or request.headers.get("HX-Request"):
            raise web.HTTPUnauthorized(text="登录已过期，请重新登录")
        raise web.HTTPFound(f"/console/login?next={quote(request.path_qs)}")
    user, row = found
    request[VIEWER] = accounts.viewer_of(user)
    request[CSRF] = row.csrf_token
    if request.method in UNSAFE_METHODS and not await _csrf_ok(request, row.csrf_token):
        async with db(request) as session:
            await audit.record(session, now(request), origin(request), "csrf_refused", request.path)
            await session.commit()
        raise web.HTTPForbidden(text="表单已失效（CSRF 校验失败），请刷新页面后重试")
    if request[VIEWER].role not in allowed:
        raise web.HTTPForbidden(text="你没有权限访问该页面")
    return await handler(request)


async def _csrf_ok(request: web.Request, expected: str) -> bool:
    sent = request.headers.get("X-CSRF-Token", "")
    if not sent:
        form = await request.post()
        sent = str(form.get("csrf_token", ""))
    return bool(sent) and secrets.compare_digest(sent, expected)


def _safe_next(target: str) -> str:
    # Only paths inside the console: an open redirect would make the login page a phishing tool.
    return target if target.startswith("/console/") and not target.startswith("//") else "/console/"


async def login_page(request: web.Request) -> web.StreamResponse:
    return login_form(request, "", request.query.get("next", ""), "")


def login_form(request: web.Request, error: str, next_path: str, username: str, status: int = 200) -> web.Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    context: dict[str, Any] = {"error": error, "next": next_path, "username": username, "csrf_token": token}
    context["wecom_login"] = deps(request).config.wecom_login is not None
    response = aiohttp_jinja2.render_template("login.html", request, context, status=status)
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token)
    return response


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    next_path = str(form.get("next", ""))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = str(form.get("csrf_token", ""))
    if not expected or not sent or not secrets.compare_digest(sent, expected):
        return login_form(request, "表单已失效，请重新提交", next_path, username, status=403)
    if not username or not password:
        return login_form(request, "请输入用户名和密码", next_path, username, status=400)
    at, where = now(request), Origin(actor=f"user:{username}"[:96], ip=client_ip(request))
    async with db(request) as session:
        result = await accounts.authenticate(session, at, username, password, deps(request).throttle)
        if result.user is None:
            assert result.problem is not None
            await audit.record(session, at, where, "login_failed", username, {"problem": result.problem.value})
            await session.commit()
            status = 429 if result.problem == LoginProblem.LOCKED else 401
            return login_form(request, LOGIN_ANSWERS[result.problem], next_path, username, status=status)
        agent = request.headers.get("User-Agent", "")
        token, _ = await accounts.open_session(session, at, result.user, where.ip, agent)
        await audit.record(session, at, where, "login", username)
        await session.commit()
    response = web.HTTPFound(_safe_next(next_path))
    set_cookie(request, response, SESSION_COOKIE, token)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/console")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    async with db(request) as session:
        await accounts.close_session(session, now(request), request.cookies.get(SESSION_COOKIE, ""))
        await audit.record(session, now(request), origin(request), "logout")
        await session.commit()
    response = web.HTTPFound("/console/login")
    response.del_cookie(SESSION_COOKIE, path="/console")
    raise response


async def logout_everywhere(request: web.Request) -> web.StreamResponse:
    viewer = request[VIEWER]
    async with db(request) as session:
        count = await accounts.revoke_all(session, now(request), viewer.user_id)
        await audit.record(
            session, now(request), origin(request), "logout_everywhere", viewer.login, {"sessions": count}
        )
        await session.commit()
    response = web.HTTPFound("/console/login")
    response.del_cookie(SESSION_COOKIE, path="/console")
    raise response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
    app.router.add_post("/logout-everywhere", logout_everywhere)
