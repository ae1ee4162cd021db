"""The console as `qunke serve` mounts it: on the bot's own port, over the bot's database."""

from __future__ import annotations

from typing import Any

from services.access import accounts
from services.clock import SystemClock
from tests.support.console_world import PASSWORD, client, login


async def test_bot_serves_the_console_when_started(stack: Any) -> None:
    async with stack.sessions() as session:
        await accounts.add_user(session, SystemClock().now(), "zhang", "rep", PASSWORD, wecom_userid="zhangsan")
        await session.commit()
    async with client() as http:
        async with http.get(f"{stack.bot_url}/", allow_redirects=False) as root:
            assert root.status == 302 and root.headers["Location"] == "/console/"
        assert (await login(http, stack.bot_url, "zhang")).status == 302
        for path in ("/console/", "/console/customers", "/console/tickets", "/console/groups"):
            async with http.get(f"{stack.bot_url}{path}") as page:
                assert page.status == 200, path
        async with http.get(f"{stack.bot_url}/console/static/vendor/echarts/echarts.min.js") as asset:
            assert asset.status == 200
        async with http.get(f"{stack.bot_url}/healthz") as health:
            assert health.status == 200
