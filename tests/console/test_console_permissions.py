"""Every console route has an access rule, and every role gets the answer that rule promises over real HTTP."""

from __future__ import annotations

from aiohttp import web

from console import ConsoleConfig, setup_console
from console.access import PUBLIC, ROUTE_ACCESS
from services.clock import SystemClock
from storage.models.console import Role
from tests.support.console_world import client, csrf_of, login, running_console

LOGINS = {Role.ADMIN: "admin", Role.MANAGER: "boss", Role.REP: "zhang"}


def console_routes() -> list[tuple[str, str]]:
    """(method, canonical path) of every route the console registers, HEAD aside."""
    app = web.Application()
    console = setup_console(app, ConsoleConfig(), lambda: None, SystemClock())  # type: ignore[arg-type,return-value]
    return sorted(
        {
            (route.method, route.resource.canonical)
            for route in console.router.routes()
            if route.resource is not None and route.method != "HEAD"
        }
    )


def test_every_console_route_has_an_access_rule_when_registered() -> None:
    registered = {path for _, path in console_routes()}
    missing = registered - set(ROUTE_ACCESS)
    assert not missing, f"console routes without a rule in console/access.py: {sorted(missing)}"
    stale = set(ROUTE_ACCESS) - registered
    assert not stale, f"rules for routes that do not exist: {sorted(stale)}"


def _url(path: str) -> str:
    # An id nobody has: an allowed role then gets 404 from the scope check, a refused role 403 before it.
    return (
        path.replace("{id}", "999999")
        .replace("{name}", "service")
        .replace("/console/static", "/console/static/console.css")
    )


async def test_each_role_gets_what_the_access_table_says_on_every_route(database_url: str) -> None:
    async with running_console(database_url) as world:
        for role, username in LOGINS.items():
            async with client() as http:
                await login(http, world.base, username)
                async with http.get(f"{world.base}/console/") as page:
                    token = csrf_of(await page.text())
                for method, path in console_routes():
                    if path.endswith("logout") or path.endswith("logout-everywhere") or path == "/console/login":
                        continue  # they end or start the session under test; covered in test_console_auth
                    data = {"csrf_token": token} if method == "POST" else None
                    async with http.request(method, world.base + _url(path), data=data, allow_redirects=False) as r:
                        allowed = ROUTE_ACCESS[path]
                        if allowed is PUBLIC or role in allowed:
                            assert r.status in (200, 302, 400, 404), f"{role} {method} {path}: {r.status}"
                        else:
                            assert r.status == 403, f"{role} {method} {path} should be refused: {r.status}"


async def test_every_private_route_redirects_or_refuses_when_nobody_is_logged_in(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        for method, path in console_routes():
            if ROUTE_ACCESS[path] is PUBLIC:
                continue
            async with http.request(method, world.base + _url(path), allow_redirects=False) as r:
                expected = 302 if method == "GET" else 401
                assert r.status == expected, f"{method} {path}: {r.status}"
