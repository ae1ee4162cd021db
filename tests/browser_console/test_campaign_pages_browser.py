"""营销 and 人群 in a real browser: a manager creates a segment, opens a campaign and sees its funnel drawn;
a rep is refused 营销; a member logs in through the sandbox's simulated WeCom web login."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from campaigns import runs
from campaigns.policy import CampaignPolicy
from services.service.calendar import BusinessCalendar, WorkingHours
from tests.support.console_world import PASSWORD, running_console
from tests.support.wecom_login_world import console_with_wecom_login

DESKTOP = {"width": 1280, "height": 900}
POLICY = CampaignPolicy(zone="Asia/Shanghai", calendar=BusinessCalendar("Asia/Shanghai", WorkingHours()))
SEGMENT = "name: 未退订客户\nnot: {opted_out: true}\n"
CAMPAIGN = """name: 双十二预热
kind: broadcast
segment: 未退订客户
path: mass_single
message: "{{ name }}，专享价已开启"
at: now
"""


async def _login(page: Any, base: str, username: str) -> None:
    await page.goto(f"{base}/console/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/console/")


async def test_manager_creates_a_segment_and_sees_the_campaign_funnel_drawn_when_it_ran(
    browser: Any, sqlite_url: str, screenshots: Path
) -> None:
    async with running_console(sqlite_url) as world:
        context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await _login(page, world.base, "boss")
        await page.click("header nav a:has-text('人群')")
        await page.fill("#segment-form textarea[name=document]", SEGMENT)
        await page.click("#segment-form button[value=preview]")
        await page.wait_for_selector(".preview-count:has-text('3')", timeout=10_000)
        await page.click("#segment-form button[value=save]")
        await page.wait_for_url(f"{world.base}/console/segments/*")
        assert "未退订客户" in await page.locator("h1").inner_text()
        await page.screenshot(path=str(screenshots / "segment.png"), full_page=True)
        await page.click("header nav a:has-text('营销')")
        await page.fill("#campaign-form textarea[name=document]", CAMPAIGN)
        await page.click("#campaign-form button[value=preview]")
        await page.wait_for_selector("#campaign-preview:has-text('王小明，专享价已开启')", timeout=10_000)
        await page.click("#campaign-form button[value=save]")
        await page.wait_for_url(f"{world.base}/console/campaigns/*")
        await runs.tick(world.sessions, world.clock.now() + timedelta(minutes=1), POLICY)
        await page.reload()
        await page.wait_for_selector("#chart-funnel canvas", timeout=10_000)
        assert "目标客户" in await page.locator("table").first.inner_text()
        await page.screenshot(path=str(screenshots / "campaign-funnel.png"), full_page=True)
        await page.goto(f"{world.base}/console/reports/retention")
        await page.wait_for_selector("#chart-report canvas", timeout=10_000)
        await page.screenshot(path=str(screenshots / "report-retention.png"), full_page=True)
        assert not errors, errors
        await context.close()


async def test_rep_gets_403_on_campaigns_when_opening_the_page(browser: Any, sqlite_url: str) -> None:
    async with running_console(sqlite_url) as world:
        context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = await context.new_page()
        await _login(page, world.base, "zhang")
        assert await page.locator("header nav a:has-text('营销')").count() == 0
        answer = await page.goto(f"{world.base}/console/campaigns")
        assert answer is not None and answer.status == 403
        await context.close()


async def test_member_logs_in_through_the_simulated_wecom_login_when_clicking_the_button(
    browser: Any, sqlite_url: str, screenshots: Path
) -> None:
    async with console_with_wecom_login(sqlite_url) as world:
        context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = await context.new_page()
        await page.goto(f"{world.base}/console/login")
        await page.click("a.wecom-login")
        await page.wait_for_selector("button[data-userid=zhangsan]", timeout=10_000)
        await page.screenshot(path=str(screenshots / "wecom-login-sandbox.png"), full_page=True)
        await page.click("button[data-userid=zhangsan]")
        await page.wait_for_url(f"{world.base}/console/", timeout=10_000)
        assert "zhang（销售）" in await page.locator("header .me").inner_text()
        await context.close()
