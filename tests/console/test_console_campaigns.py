"""人群, 营销 and 跟进 in the console over real HTTP: create, preview, funnel, audited status changes, a rep's scope."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
from sqlalchemy import select

from campaigns import runs
from campaigns.policy import CampaignPolicy
from services.service.calendar import BusinessCalendar, WorkingHours
from storage.models.campaigns import Campaign, Followup
from storage.models.console import AuditEntry
from tests.support.console_world import World, client, csrf_of, login, running_console

POLICY = CampaignPolicy(zone="Asia/Shanghai", calendar=BusinessCalendar("Asia/Shanghai", WorkingHours()))
SEGMENT = "name: 未退订客户\nnot: {opted_out: true}\n"
CAMPAIGN = """name: 双十二预热
kind: broadcast
segment: 未退订客户
path: mass_single
message: "{{ name }}，双十二会员专享价已开启"
at: now
"""


async def _post(http: aiohttp.ClientSession, world: World, path: str, **form: str) -> tuple[int, str, str]:
    async with http.get(f"{world.base}/console/") as page:
        token = csrf_of(await page.text())
    data = {"csrf_token": token, **form}
    async with http.post(f"{world.base}{path}", data=data, allow_redirects=False) as answer:
        return answer.status, answer.headers.get("Location", ""), await answer.text()


async def _actions(world: World) -> list[str]:
    async with world.sessions() as session:
        return list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


async def test_manager_previews_saves_and_deletes_a_segment_when_the_document_is_valid(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        await login(http, world.base, "boss")
        status, _, html = await _post(http, world, "/console/segments", document=SEGMENT, action="preview")
        assert status == 200 and '共 <b class="preview-count">3</b> 位客户' in html
        assert "王小明" in html and "<td>张三</td><td>1</td>" in html  # per owner by name, not userid
        status, location, _ = await _post(http, world, "/console/segments", document=SEGMENT, action="save")
        assert status == 302 and location.startswith("/console/segments/")
        async with http.get(f"{world.base}/console/segments") as page:
            listed = await page.text()
        assert "未退订客户" in listed and '<td class="count">3</td>' in listed
        async with http.get(world.base + location) as page:
            assert page.status == 200 and "赵小红" in await page.text()
        status, _, _ = await _post(http, world, location + "/delete")
        assert status == 302
        async with http.get(world.base + location) as page:
            assert page.status == 404
        assert {"segment_create", "segment_delete"} <= set(await _actions(world))


async def test_segment_refusal_names_the_bad_field_in_chinese_when_the_filter_is_wrong(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        await login(http, world.base, "boss")
        bad = "name: 错误\nall:\n  - tags: {sometimes: [VIP]}\n"
        status, _, html = await _post(http, world, "/console/segments", document=bad, action="save")
        assert status == 400 and "筛选条件有误" in html and "all[0].tags" in html and "Traceback" not in html
        status, _, html = await _post(http, world, "/console/segments", document="name: [unclosed", action="save")
        assert status == 400 and "第 1 行" in html


async def test_dry_run_shows_three_personal_texts_and_saves_nothing_when_previewed(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        await login(http, world.base, "boss")
        await _post(http, world, "/console/segments", document=SEGMENT, action="save")
        status, _, html = await _post(http, world, "/console/campaigns", document=CAMPAIGN, action="preview")
        assert status == 200
        for name in ("王小明", "赵小红", "钱多多"):
            assert f"{name}，双十二会员专享价已开启" in html
        async with world.sessions() as session:
            assert list(await session.scalars(select(Campaign))) == []
        broken = CAMPAIGN.replace("{{ name }}", "{{ nickname }}")
        status, _, html = await _post(http, world, "/console/campaigns", document=broken, action="preview")
        assert status == 400 and "message" in html and "Traceback" not in html


async def test_campaign_detail_shows_the_funnel_and_status_changes_are_audited_when_it_ran(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        await login(http, world.base, "boss")
        await _post(http, world, "/console/segments", document=SEGMENT, action="save")
        status, location, _ = await _post(http, world, "/console/campaigns", document=CAMPAIGN, action="save")
        assert status == 302, location
        await runs.tick(world.sessions, world.clock.now() + timedelta(minutes=1), POLICY)
        async with http.get(world.base + location) as page:
            html = await page.text()
        assert 'id="chart-funnel"' in html and "<td>目标客户</td><td>3</td>" in html
        assert "<td>进入群发任务的客户</td><td>3</td>" in html
        recurring = CAMPAIGN.replace("kind: broadcast", "kind: recurring").replace("at: now", 'cron: "0 10 * * *"')
        status, location, _ = await _post(
            http, world, "/console/campaigns", document=recurring.replace("双十二预热", "每日提醒"), action="save"
        )
        assert status == 302, location
        for action, shown in (("pause", "已暂停"), ("resume", "进行中"), ("cancel", "已取消")):
            status, back, _ = await _post(http, world, f"{location}/{action}")
            assert status == 302
            async with http.get(world.base + back) as page:
                assert shown in await page.text()
        status, back, _ = await _post(http, world, f"{location}/resume")
        async with http.get(world.base + back) as page:
            assert "不能" in await page.text()  # a cancelled campaign cannot be resumed: said, not a 500
        assert {"campaign_create", "campaign_pause", "campaign_resume", "campaign_cancel"} <= set(await _actions(world))
        async with http.get(f"{world.base}/console/campaigns") as page:
            assert "双十二预热" in await page.text()


async def test_rep_is_refused_campaigns_and_segments_when_opening_them(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        await login(http, world.base, "zhang")
        for path in ("/console/campaigns", "/console/segments"):
            async with http.get(world.base + path, allow_redirects=False) as page:
                assert page.status == 403
        async with http.get(f"{world.base}/console/") as page:
            assert "营销" not in await page.text()


async def test_rep_sees_and_closes_only_their_own_followups_when_managers_see_all(database_url: str) -> None:
    async with running_console(database_url) as world:
        at = world.clock.now()
        async with world.sessions() as session:
            mine = Followup(
                customer_id=world.zhang_customer,
                member_userid="zhangsan",
                due_at=at - timedelta(hours=1),
                note="回访王小明",
                created_at=at,
            )
            theirs = Followup(
                customer_id=world.li_customer, member_userid="lisi", due_at=at, note="回访赵小红", created_at=at
            )
            later = Followup(
                customer_id=world.shared_customer,
                member_userid="zhangsan",
                due_at=at + timedelta(days=3),
                note="下周回访钱多多",
                created_at=at,
            )
            session.add_all([mine, theirs, later])
            await session.commit()
        async with client() as http:
            await login(http, world.base, "zhang")
            async with http.get(f"{world.base}/console/followups") as page:
                html = await page.text()
            assert "回访王小明" in html and "已逾期" in html and "回访赵小红" not in html
            assert "下周回访钱多多" not in html  # not due yet: under 全部待跟进
            async with http.get(f"{world.base}/console/followups", params={"when": "all"}) as page:
                assert "下周回访钱多多" in await page.text()
            status, _, _ = await _post(http, world, f"/console/followups/{theirs.id}/done")
            assert status == 404
            status, back, _ = await _post(http, world, f"/console/followups/{mine.id}/done")
            assert status == 302
            async with http.get(world.base + back) as page:
                html = await page.text()
            assert f"跟进 F{mine.id} 已完成" in html and "回访王小明" not in html
        async with client() as http:
            await login(http, world.base, "boss")
            async with http.get(f"{world.base}/console/followups") as page:
                html = await page.text()
            assert "回访赵小红" in html and "所有成员" in html
