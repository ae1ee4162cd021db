"""Admin pages: 用户 (add, disable, enable) and 审计日志; every change lands in the audit log."""

from __future__ import annotations

from aiohttp import web

from console.deps import db, now, origin, viewer
from console.render import int_param, page, path_id
from services.access import accounts, audit
from services.access.accounts import AccountError
from storage.models.console import Role

AUDIT_PAGE = 50


async def users_page(request: web.Request) -> web.StreamResponse:
    return await _users(request, "", {})


async def _users(request: web.Request, error: str, form: dict[str, str], status: int = 200) -> web.Response:
    async with db(request) as session:
        users = await accounts.list_users(session)
    context = {"users": users, "error": error, "form": form, "roles": [r.value for r in Role]}
    return page(request, "users.html", context, status=status)


async def add_user(request: web.Request) -> web.StreamResponse:
    posted = await request.post()
    form = {k: str(posted.get(k, "")).strip() for k in ("login", "name", "role", "wecom_userid")}
    password = str(posted.get("password", ""))
    at = now(request)
    async with db(request) as session:
        try:
            user = await accounts.add_user(
                session, at, form["login"], form["role"], password, name=form["name"], wecom_userid=form["wecom_userid"]
            )
        except AccountError as exc:
            return await _users(request, str(exc), form, status=400)
        detail = {"role": user.role, "wecom_userid": user.wecom_userid}
        await audit.record(session, at, origin(request), "user_add", user.login, detail)
        await session.commit()
    raise web.HTTPFound("/console/users")


async def disable_user(request: web.Request) -> web.StreamResponse:
    return await _set_disabled(request, True)


async def enable_user(request: web.Request) -> web.StreamResponse:
    return await _set_disabled(request, False)


async def _set_disabled(request: web.Request, disabled: bool) -> web.StreamResponse:
    user_id, at = path_id(request), now(request)
    async with db(request) as session:
        user = await accounts.user_by_id(session, user_id)
        if user is None:
            raise web.HTTPNotFound(text="未找到该用户")
        if disabled and user.id == viewer(request).user_id:
            return await _users(request, "不能停用自己的账号", {}, status=400)
        await accounts.set_disabled(session, at, user.login, disabled)
        await audit.record(session, at, origin(request), "user_disable" if disabled else "user_enable", user.login)
        await session.commit()
    raise web.HTTPFound("/console/users")


async def audit_page(request: web.Request) -> web.StreamResponse:
    current = int_param(request, "page")
    async with db(request) as session:
        entries, total = await audit.recent(session, AUDIT_PAGE, (current - 1) * AUDIT_PAGE)
    pages = max(1, -(-total // AUDIT_PAGE))
    return page(request, "audit.html", {"entries": entries, "page": current, "pages": pages, "total": total})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/users", users_page)
    app.router.add_post("/users", add_user)
    app.router.add_post("/users/{id}/disable", disable_user)
    app.router.add_post("/users/{id}/enable", enable_user)
    app.router.add_get("/audit", audit_page)
