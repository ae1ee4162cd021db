"""Addresses typed by hand: /console/reports opens a report, an unknown console page answers in Chinese."""

from __future__ import annotations

from console.not_found import FIRST_REPORT
from tests.support.console_world import client, login, running_console


async def test_reports_opens_the_first_report_when_a_manager_types_the_bare_address(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        await login(http, world.base, "boss")
        async with http.get(f"{world.base}/console/reports", allow_redirects=False) as answer:
            assert answer.status == 302 and answer.headers["Location"] == FIRST_REPORT


async def test_an_unknown_console_page_says_not_found_in_chinese_when_the_address_is_wrong(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        await login(http, world.base, "boss")
        async with http.get(f"{world.base}/console/no-such-page") as answer:
            assert answer.status == 404
            text = await answer.text()
            assert "未找到该页面" in text and "Not Found" not in text
        async with http.get(f"{world.base}/console/reports/nope") as answer:
            assert answer.status == 404 and "Not Found" not in await answer.text()
