"""知识库 in the console: a manager turns an unanswered group into an entry and teaches it another question."""

from __future__ import annotations

from sqlalchemy import select

from storage.models.console import AuditEntry
from storage.models.faq import KbQuestion, UnansweredGroup, UnansweredQuestion
from tests.support.console_world import START, XSS, client, csrf_of, login, running_console


async def test_manager_promotes_an_unanswered_group_and_adds_a_variant(database_url: str) -> None:
    async with running_console(database_url) as world:
        async with world.sessions() as session:
            group = UnansweredGroup(
                label=f"几点发货 {XSS}", normalized="几点发货", count=3, first_at=START, last_at=START
            )
            session.add(group)
            await session.commit()
            group_id = group.id
        async with client() as http:
            await login(http, world.base, "boss")
            async with http.get(f"{world.base}/console/kb") as page:
                html = await page.text()
            assert XSS not in html and "几点发货 &lt;script&gt;" in html
            token = csrf_of(html)
            form = {"csrf_token": token, "group": str(group_id), "answer": "每天下午四点发货", "entry_id": "ship-time"}
            async with http.post(f"{world.base}/console/kb/promote", data=form) as answer:
                assert "已新建条目 ship-time" in await answer.text()
            form = {"csrf_token": token, "entry_id": "ship-time", "question": "什么时候寄出"}
            async with http.post(f"{world.base}/console/kb/variant", data=form) as answer:
                assert "已为条目 ship-time 添加问法" in await answer.text()
            form = {"csrf_token": token, "entry_id": "nope", "question": "什么时候寄出"}
            async with http.post(f"{world.base}/console/kb/variant", data=form) as answer:
                assert "没有 id 为 nope 的条目" in await answer.text()
        async with world.sessions() as session:
            asked = (await session.execute(select(KbQuestion.text).where(KbQuestion.entry_id == "ship-time"))).scalars()
            assert "什么时候寄出" in set(asked)
            actions = set((await session.execute(select(AuditEntry.action))).scalars())
        assert {"kb_promote", "kb_add_variant"} <= actions


async def test_the_kb_page_lists_the_pending_variants_menu_taps_left(database_url: str) -> None:
    async with running_console(database_url) as world:
        async with world.sessions() as session:
            group = UnansweredGroup(label="能退款吗", normalized="能退款吗", count=1, first_at=START, last_at=START)
            session.add(group)
            await session.flush()
            asked = UnansweredQuestion(
                group_id=group.id,
                channel="kf",
                chat_id="wkKF",
                text=f"能退款吗 {XSS}",
                decision="menu_picked",
                detail={"menu": ["course_refund"], "picked": "course_refund"},
                asked_at=START,
            )
            session.add(asked)
            await session.commit()
            asked_id = asked.id
        async with client() as http:
            await login(http, world.base, "boss")
            async with http.get(f"{world.base}/console/kb") as page:
                html = await page.text()
        assert "待确认的问法" in html and "course_refund" in html and f"<td>{asked_id}</td>" in html
        assert XSS not in html and "能退款吗 &lt;script&gt;" in html
