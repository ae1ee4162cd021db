"""A rep sees only their own customers and tickets (others answer 404); managers see all; text is escaped."""

from __future__ import annotations

from sqlalchemy import delete

from storage.models.tickets import Ticket, TicketEvent, TicketMessage
from tests.support.console_world import XSS, client, csrf_of, login, running_console


async def test_rep_lists_only_customers_they_own_or_follow(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        await login(http, world.base, "zhang")
        async with http.get(f"{world.base}/console/customers") as page:
            html = await page.text()
        assert "王小明" in html and "钱多多" in html
        assert "赵小红" not in html
        assert "共 2 位" in html
        async with http.get(f"{world.base}/console/customers", params={"q": "赵"}) as page:
            assert "赵小红" not in await page.text()


async def test_rep_gets_404_when_opening_another_reps_customer(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        await login(http, world.base, "zhang")
        async with http.get(f"{world.base}/console/customers/{world.li_customer}") as page:
            assert page.status == 404
            assert "李四的客户的秘密消息" not in await page.text()
        async with http.get(f"{world.base}/console/customers/{world.shared_customer}") as page:
            assert page.status == 200
            assert "共享客户的消息" in await page.text()
        async with http.get(f"{world.base}/console/customers/999999") as page:
            assert page.status == 404  # the same answer as another rep's customer: no existence leak


async def test_manager_sees_every_customer_and_ticket(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        await login(http, world.base, "boss")
        async with http.get(f"{world.base}/console/customers") as page:
            html = await page.text()
        assert all(name in html for name in ("王小明", "赵小红", "钱多多"))
        async with http.get(f"{world.base}/console/customers/{world.li_customer}") as page:
            assert page.status == 200
            assert "李四的客户的秘密消息" in await page.text()
        async with http.get(f"{world.base}/console/tickets") as page:
            html = await page.text()
        assert "物流太慢" in html and "退款问题" in html


async def test_rep_sees_solves_and_reopens_only_their_tickets_when_logged_in(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        await login(http, world.base, "zhang")
        async with http.get(f"{world.base}/console/tickets") as page:
            html = await page.text()
        assert "物流太慢" in html and "退款问题" not in html
        token = csrf_of(html)
        url = f"{world.base}/console/tickets/{world.li_ticket}/solve"
        async with http.post(url, data={"csrf_token": token}, allow_redirects=False) as answer:
            assert answer.status == 404
        url = f"{world.base}/console/tickets/{world.zhang_ticket}/solve"
        async with http.post(url, data={"csrf_token": token}) as answer:
            assert answer.status == 200
            assert "已解决" in await answer.text()
        url = f"{world.base}/console/tickets/{world.zhang_ticket}/reopen"
        async with http.post(url, data={"csrf_token": token}) as answer:
            assert answer.status == 200 and "已重新打开" in await answer.text()
        async with http.post(url, data={"csrf_token": token}) as answer:
            assert "不能重新打开" in await answer.text()  # open again: refused in words, nothing changes


async def test_dashboard_counts_only_the_reps_customers(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        await login(http, world.base, "zhang")
        async with http.get(f"{world.base}/console/") as page:
            html = await page.text()
        assert '"customers": 2' in html
        await login(http, world.base, "boss")
        async with http.get(f"{world.base}/console/") as page:
            assert '"customers": 3' in await page.text()


async def test_dashboard_says_so_when_there_are_no_tickets_or_scores_to_chart(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        await login(http, world.base, "li")  # li's customers answered no survey
        async with http.get(f"{world.base}/console/") as page:
            html = await page.text()
        assert "近 30 天暂无评分" in html and 'id="chart-csat"' not in html
        assert 'id="chart-tickets"' in html and "暂无工单" not in html
        async with world.sessions() as session, session.begin():
            await session.execute(delete(TicketEvent))
            await session.execute(delete(TicketMessage))
            await session.execute(delete(Ticket))
        async with http.get(f"{world.base}/console/") as page:
            html = await page.text()
        assert "暂无工单" in html and 'id="chart-tickets"' not in html


async def test_customer_text_shows_as_text_when_it_contains_a_script(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        await login(http, world.base, "boss")
        async with http.get(f"{world.base}/console/customers/{world.zhang_customer}") as page:
            html = await page.text()
        assert XSS not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_rep_sees_only_the_groups_they_own_with_their_activity(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        await login(http, world.base, "zhang")
        async with http.get(f"{world.base}/console/groups") as page:
            html = await page.text()
        assert "张三的福利群" in html and "李四的VIP群" not in html
        await login(http, world.base, "boss")
        async with http.get(f"{world.base}/console/groups?days=30") as page:
            html = await page.text()
        assert "张三的福利群" in html and "李四的VIP群" in html


async def test_profile_shows_scores_tickets_and_timeline_when_in_scope(database_url: str) -> None:
    async with running_console(database_url) as world, client() as http:
        await login(http, world.base, "zhang")
        async with http.get(f"{world.base}/console/customers/{world.zhang_customer}") as page:
            html = await page.text()
        assert "4 / 5" in html  # latest CSAT
        assert "物流太慢" in html  # their ticket
        assert "群里问一下发货时间" in html and "我的订单呢" in html  # both chats on the timeline
