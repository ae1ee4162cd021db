"""The service report page and its CSV tables, for managers; a customer's name never becomes a formula."""

from __future__ import annotations

from sqlalchemy import update

from storage.models.customers import Customer
from storage.models.service import ChurnScore
from tests.support.console_world import START, client, login, running_console


async def test_manager_downloads_report_tables_as_csv_when_asked(database_url: str) -> None:
    async with running_console(database_url) as world:
        async with world.sessions() as session:
            await session.execute(
                update(Customer).where(Customer.id == world.li_customer).values(name='=HYPERLINK("x")')
            )
            session.add(
                ChurnScore(customer_id=world.li_customer, risk=0.9, reasons=["很久没来"], at_risk=True, scored_at=START)
            )
            await session.commit()
        async with client() as http:
            await login(http, world.base, "boss")
            async with http.get(f"{world.base}/console/reports/service") as page:
                assert page.status == 200
                assert "服务报表" in await page.text()
            url = f"{world.base}/console/reports/service.csv?table=at_risk"
            async with http.get(url) as answer:
                assert answer.status == 200
                assert answer.headers["Content-Type"].startswith("text/csv")
                body = (await answer.read()).decode("utf-8")
            assert body.startswith("\ufeff客户 ID,客户")
            assert "'=HYPERLINK" in body
            async with http.get(f"{world.base}/console/reports/service?from=2026-13-01") as answer:
                assert answer.status == 400
            async with http.get(f"{world.base}/console/reports/nope") as answer:
                assert answer.status == 404
