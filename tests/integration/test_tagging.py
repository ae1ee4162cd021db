"""Tag edits over real HTTP: `qunke customer tag` goes out as mark_tag as the owner rep; WeCom pushes no callback
for API changes (WECOM.md §2b), so the bot records the change itself once the sandbox accepted it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from services.clock import SystemClock
from services.customers import tagging
from storage.models.customers import Customer, CustomerTag
from tests.integration.test_faq import eventually
from tests.support.stack import Stack, running_stack


@pytest.fixture
async def imported(database_url: str) -> AsyncIterator[Stack]:
    async with running_stack(database_url, import_contacts_on_start=True) as stack:
        yield stack


async def test_tag_change_reaches_wecom_and_the_profile_when_a_manager_tags_a_customer(imported: Stack) -> None:
    async def lemon() -> Customer | None:
        async with imported.sessions() as session:
            found = await session.scalar(select(Customer).where(Customer.name == "Lemon柠檬"))
            tags = await session.scalar(select(CustomerTag).limit(1))
            return found if found is not None and tags is not None and found.owner_userid else None

    customer = await eventually(lemon, timeout=60)
    async with imported.sessions() as session, session.begin():
        names = sorted(await tagging.known_tags(session))
        mine = set(await session.scalars(select(CustomerTag.tag_name).where(CustomerTag.customer_id == customer.id)))
        add = next(name for name in names if name not in mine)
        await tagging.change_tags(session, SystemClock().now(), str(customer.id), [add], [])

    async def tagged() -> set[str] | None:
        async with imported.sessions() as session:
            now = set(await session.scalars(select(CustomerTag.tag_name).where(CustomerTag.customer_id == customer.id)))
        return now if add in now else None

    assert mine | {add} == await eventually(tagged, timeout=30)
    state = await imported.sandbox_state()
    follow = next(
        f
        for c in state["customers"]
        if c["external_userid"] == customer.external_userid
        for f in c["follows"]
        if f["userid"] == customer.owner_userid
    )
    assert add in [t["tag_name"] for t in follow["tags"]]
