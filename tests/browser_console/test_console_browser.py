"""The console in a real browser: a manager sees the dashboard's charts drawn; a rep is held to their customers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.console_world import PASSWORD, running_console

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


async def _login(page: Any, base: str, username: str) -> None:
    await page.goto(f"{base}/console/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/console/")


async def test_manager_sees_the_dashboard_charts_drawn_when_logged_in(
    browser: Any, sqlite_url: str, screenshots: Path
) -> None:
    async with running_console(sqlite_url) as world:
        context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await _login(page, world.base, "boss")
        for chart in ("chart-new", "chart-messages", "chart-tickets", "chart-csat"):
            await page.wait_for_selector(f"#{chart} canvas", timeout=10_000)
        assert await page.locator("h1").first.inner_text() == "概览"
        assert not errors, errors
        await page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)
        await page.goto(f"{world.base}/console/customers/{world.zhang_customer}")
        await page.screenshot(path=str(screenshots / "customer.png"), full_page=True)
        # The customer's script-like message shows as text and never runs.
        assert "<script>alert(1)</script>" in await page.locator(".timeline").inner_text()
        assert not errors, errors
        await context.close()


async def test_rep_sees_only_their_customers_and_404_for_another_reps(
    browser: Any, sqlite_url: str, screenshots: Path
) -> None:
    async with running_console(sqlite_url) as world:
        context = await browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)
        page = await context.new_page()
        await _login(page, world.base, "zhang")
        await page.screenshot(path=str(screenshots / "dashboard-phone.png"), full_page=True)
        await page.goto(f"{world.base}/console/customers")
        listed = await page.locator("table").inner_text()
        assert "王小明" in listed and "赵小红" not in listed
        await page.screenshot(path=str(screenshots / "customers-phone.png"), full_page=True)
        answer = await page.goto(f"{world.base}/console/customers/{world.li_customer}")
        assert answer is not None and answer.status == 404
        await context.close()


async def test_rep_solves_a_ticket_and_searches_customers_through_htmx(
    browser: Any, sqlite_url: str, screenshots: Path
) -> None:
    async with running_console(sqlite_url) as world:
        context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = await context.new_page()
        await _login(page, world.base, "zhang")
        await page.goto(f"{world.base}/console/tickets")
        requests: list[dict[str, str]] = []
        page.on("request", lambda r: requests.append(r.headers) if r.method == "POST" else None)
        await page.click(f"form[action='/console/tickets/{world.zhang_ticket}/solve'] button")
        await page.wait_for_selector("p.note:has-text('已解决')", timeout=10_000)
        assert any(h.get("hx-request") == "true" and h.get("x-csrf-token") for h in requests)
        await page.screenshot(path=str(screenshots / "tickets.png"), full_page=True)
        await page.goto(f"{world.base}/console/customers")
        await page.fill("input[name=q]", "王")
        await page.wait_for_function("!document.querySelector('#results').innerText.includes('钱多多')", timeout=10_000)
        assert "王小明" in await page.locator("#results").inner_text()
        assert "q=" in page.url  # the search is in the address bar, so reload and back keep it
        await context.close()
