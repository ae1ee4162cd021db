"""Rendering a console page with what every page shows: the viewer, the CSRF token and the navigation."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from console.deps import CSRF, deps, viewer

# (path, label, who sees the link); the route table in console/access.py is what actually enforces access.
NAV: list[tuple[str, str, str]] = [
    ("/console/", "概览", "everyone"),
    ("/console/groups", "社群", "everyone"),
    ("/console/customers", "客户", "everyone"),
    ("/console/tickets", "工单", "everyone"),
    ("/console/followups", "跟进", "everyone"),
    ("/console/segments", "人群", "staff"),
    ("/console/campaigns", "营销", "staff"),
    ("/console/kb", "知识库", "staff"),
    ("/console/reports/retention", "报表", "everyone"),
    ("/console/privacy", "隐私", "staff"),
    ("/console/audit", "审计日志", "admin"),
    ("/console/users", "用户", "admin"),
]


def page(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    who = viewer(request)
    shown = [
        (path, label)
        for path, label, audience in NAV
        if audience == "everyone" or (audience == "staff" and who.sees_all) or (audience == "admin" and who.is_admin)
    ]
    full = {
        "viewer": who,
        "csrf_token": request[CSRF],
        "nav": shown,
        "current": request.path,
        "zone": deps(request).config.timezone,
        **context,
    }
    return aiohttp_jinja2.render_template(template, request, full, status=status)


def int_param(request: web.Request, name: str, default: int = 1) -> int:
    """A positive integer query parameter; anything else falls back to the default rather than failing the page."""
    raw = request.query.get(name, "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else default


def path_id(request: web.Request) -> int:
    """The numeric {id} of the path; anything else is a 404 like an unknown id."""
    raw = request.match_info.get("id", "")
    if not raw.isdigit():
        raise web.HTTPNotFound(text="未找到")
    return int(raw)
