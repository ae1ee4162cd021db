"""Console login over real HTTP: cookies, CSRF, the rate limit, idle timeout, logout everywhere, disabled users."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from console import ConsoleConfig
from services.access.accounts import user_by_login
from storage.models.console import AuditEntry
from tests.support.console_world import client, csrf_of, login, running_console


async def test_login_sets_a_strict_session_cookie_when_the_password_is_right(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        answer = await login(http, world.base, "boss")
        assert answer.status == 302
        assert answer.headers["Location"] == "/console/"
        cookie = answer.headers["Set-Cookie"]
        assert "qunke_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Secure" not in cookie  # plain HTTP, no trusted proxy
        async with http.get(f"{world.base}/console/") as page:
            assert page.status == 200
            assert "概览" in await page.text()


async def test_the_header_names_the_person_logged_in_and_their_role(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        async with world.sessions() as session, session.begin():
            user = await user_by_login(session, "boss")
            assert user is not None
            user.name = "王总"
        await login(http, world.base, "boss")
        async with http.get(f"{world.base}/console/") as page:
            assert '<span title="boss">王总（主管）</span>' in await page.text()


async def test_cookie_is_secure_when_a_trusted_proxy_says_https(database_url: str) -> None:
    async with running_console(database_url, ConsoleConfig(trust_proxy=True)) as world, client() as http:
        async with http.get(f"{world.base}/console/login") as page:
            token = csrf_of(await page.text())
        form = {"username": "boss", "password": "correct-horse-1", "csrf_token": token}
        headers = {"X-Forwarded-Proto": "https"}
        async with http.post(f"{world.base}/console/login", data=form, headers=headers, allow_redirects=False) as r:
            assert r.status == 302
            assert "Secure" in r.headers["Set-Cookie"]


async def test_login_is_refused_with_401_when_the_password_is_wrong(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        answer = await login(http, world.base, "boss", "wrong-password")
        assert answer.status == 401
        async with http.get(f"{world.base}/console/", allow_redirects=False) as page:
            assert page.status == 302
            assert page.headers["Location"].startswith("/console/login")
        async with world.sessions() as session:
            actions = (await session.execute(select(AuditEntry.action))).scalars().all()
        assert "login_failed" in actions


async def test_login_is_refused_when_the_csrf_token_is_missing(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        form = {"username": "boss", "password": "correct-horse-1"}
        async with http.post(f"{world.base}/console/login", data=form, allow_redirects=False) as answer:
            assert answer.status == 403
            assert "qunke_session" not in answer.headers.get("Set-Cookie", "")


async def test_post_is_refused_with_403_when_the_csrf_token_is_wrong(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        await login(http, world.base, "zhang")
        url = f"{world.base}/console/tickets/{world.zhang_ticket}/solve"
        async with http.post(url, data={"csrf_token": "forged"}, allow_redirects=False) as answer:
            assert answer.status == 403
        async with http.post(url, allow_redirects=False, headers={"X-CSRF-Token": "forged"}) as answer:
            assert answer.status == 403
        async with world.sessions() as session:
            actions = (await session.execute(select(AuditEntry.action))).scalars().all()
        assert actions.count("csrf_refused") == 2


async def test_login_locks_when_twenty_wrong_passwords_come_within_a_minute(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        for _ in range(19):
            assert (await login(http, world.base, "boss", "nope-nope")).status == 401
        assert (await login(http, world.base, "boss", "nope-nope")).status == 429
        # Locked: even the right password is refused now ...
        assert (await login(http, world.base, "boss")).status == 429
        # ... and works again once the lock has passed.
        world.clock.advance(timedelta(minutes=16))
        assert (await login(http, world.base, "boss")).status == 302


async def test_session_ends_when_it_was_idle_longer_than_the_timeout(database_url: str) -> None:
    config = ConsoleConfig(idle_timeout=timedelta(minutes=30))
    async with running_console(database_url, config) as world, client() as http:
        await login(http, world.base, "boss")
        world.clock.advance(timedelta(minutes=20))
        async with http.get(f"{world.base}/console/", allow_redirects=False) as page:
            assert page.status == 200  # used: the idle clock restarts
        world.clock.advance(timedelta(minutes=25))
        async with http.get(f"{world.base}/console/", allow_redirects=False) as page:
            assert page.status == 200
        world.clock.advance(timedelta(minutes=31))
        async with http.get(f"{world.base}/console/", allow_redirects=False) as page:
            assert page.status == 302
        async with http.get(f"{world.base}/console/customers", headers={"HX-Request": "true"}) as page:
            assert page.status == 401


async def test_every_session_ends_when_the_user_logs_out_everywhere(database_url: str) -> None:
    async with running_console(database_url) as world, client() as phone, client() as laptop:
        await login(phone, world.base, "zhang")
        await login(laptop, world.base, "zhang")
        async with laptop.get(f"{world.base}/console/") as page:
            token = csrf_of(await page.text())
        async with laptop.post(
            f"{world.base}/console/logout-everywhere", data={"csrf_token": token}, allow_redirects=False
        ) as answer:
            assert answer.status == 302
        for http in (phone, laptop):
            async with http.get(f"{world.base}/console/", allow_redirects=False) as page:
                assert page.status == 302


async def test_disabled_user_cannot_log_in_and_loses_open_sessions(database_url: str) -> None:
    async with running_console(database_url) as world, client() as admin, client() as rep:
        await login(rep, world.base, "li")
        await login(admin, world.base, "admin")
        async with admin.get(f"{world.base}/console/users") as page:
            html = await page.text()
        token = csrf_of(html)
        async with world.sessions() as session:
            li = await user_by_login(session, "li")
            assert li is not None
        url = f"{world.base}/console/users/{li.id}/disable"
        async with admin.post(url, data={"csrf_token": token}, allow_redirects=False) as answer:
            assert answer.status == 302
        async with rep.get(f"{world.base}/console/", allow_redirects=False) as page:
            assert page.status == 302
        answer = await login(rep, world.base, "li")
        assert answer.status == 401
