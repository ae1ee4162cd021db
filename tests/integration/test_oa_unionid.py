"""An OA follower linked to their WeCom customer by the unionid the OA's user/info gives, over real HTTP against the
sandbox: the follower's messages land on the customer's profile and timeline, each follower is asked once, a failed
user/info still stores the message, and a profile made then joins the customer once the OA answers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.config.platform import OfficialAccountSettings
from services.customers.profiles import customer_profile
from storage.models.customers import Customer
from storage.models.messages import Message
from tests.integration.test_faq import eventually
from tests.support.stack import DEMO, Stack, running_stack

WANG = "王姐(宝妈)"


@pytest.fixture
async def imported(database_url: str) -> AsyncIterator[Stack]:
    """The bot with the corp's customers imported at start-up (their unionids with them)."""
    async with running_stack(database_url, import_contacts_on_start=True) as stack:
        yield stack


async def follower(stack: Stack, nickname: str) -> dict[str, Any]:
    found: dict[str, Any] = next(f for f in (await stack.sandbox_state())["oa_followers"] if f["nickname"] == nickname)
    return found


async def customer_with(stack: Stack, **where: str) -> Customer | None:
    async with stack.sessions() as session:
        clauses = [getattr(Customer, name) == value for name, value in where.items()]
        return (await session.execute(select(Customer).where(*clauses))).scalar_one_or_none()


async def stored_texts(stack: Stack, openid: str, count: int) -> list[Message] | None:
    async with stack.sessions() as session:
        stmt = select(Message).where(Message.chat_id == f"oa:{openid}").order_by(Message.id)
        found = list((await session.execute(stmt)).scalars())
    return found if len(found) >= count else None


async def user_info_reads(stack: Stack, result: str) -> int:
    async with stack.http.get(f"{stack.bot_url}/metrics") as resp:
        text = await resp.text()
    found = re.search(rf'^qunke_oa_user_info_total{{result="{result}"}} (\S+)$', text, re.M)
    return int(float(found.group(1))) if found else 0


async def test_follower_lands_on_the_wecom_customers_profile_when_user_info_shares_its_unionid(
    imported: Stack,
) -> None:
    wang = await follower(imported, WANG)
    customer = await eventually(lambda: customer_with(imported, external_userid=wang["customer"]))
    assert customer.unionid == wang["unionid"]
    await imported.act("oa-say", openid=wang["openid"], text="公众号里问：宝宝的课还有名额吗？")
    await imported.act("oa-say", openid=wang["openid"], text="周六上午可以吗")
    messages = await eventually(lambda: stored_texts(imported, wang["openid"], 2))
    assert {m.customer_id for m in messages} == {customer.id}
    linked = await customer_with(imported, oa_openid=wang["openid"])
    assert linked is not None and linked.id == customer.id
    async with imported.sessions() as session:
        profile = await customer_profile(session, customer.id)
    assert profile is not None
    said = [t.text for t in profile.timeline if t.kind == "message" and t.channel == "oa"]
    assert sorted(said) == sorted(["公众号里问：宝宝的课还有名额吗？", "周六上午可以吗"])
    assert await user_info_reads(imported, "unionid") == 1  # asked once, not on every message


async def test_follower_is_asked_once_when_they_have_no_unionid(imported: Stack) -> None:
    anonymous = await follower(imported, "匿名访客")
    for text in ("你好", "在吗"):
        await imported.act("oa-say", openid=anonymous["openid"], text=text)
    messages = await eventually(lambda: stored_texts(imported, anonymous["openid"], 2))
    own = await customer_with(imported, oa_openid=anonymous["openid"])
    assert own is not None and own.unionid is None and {m.customer_id for m in messages} == {own.id}
    assert own.external_userid is None and own.name.startswith("公众号粉丝")
    assert await user_info_reads(imported, "no_unionid") == 1


def unreachable_oa() -> OfficialAccountSettings:
    """Nothing listens on port 9: every user/info read (and every OA send) fails to connect."""
    return OfficialAccountSettings(
        api_base="http://127.0.0.1:9/oa",
        app_id=DEMO.oa.app_id,
        secret=DEMO.oa.secret,
        token=DEMO.oa.token,
        aes_key=DEMO.oa.aes_key,
    )


async def test_message_is_stored_on_the_followers_own_profile_when_user_info_fails(database_url: str) -> None:
    async with running_stack(database_url, settings_update={"officialaccount": unreachable_oa()}) as stack:
        wang = await follower(stack, WANG)
        await stack.act("oa-say", openid=wang["openid"], text="第一条")
        await eventually(lambda: stored_texts(stack, wang["openid"], 1))
        await stack.act("oa-say", openid=wang["openid"], text="第二条")
        messages = await eventually(lambda: stored_texts(stack, wang["openid"], 2))
        assert [m.text for m in messages] == ["第一条", "第二条"]
        own = await customer_with(stack, oa_openid=wang["openid"])
        assert own is not None and own.unionid is None and {m.customer_id for m in messages} == {own.id}
        # The OA did not answer at all: nobody is asked for a minute (test_oa_follower_unionids.py: then again).
        assert await user_info_reads(stack, "failed") == 1


async def test_earlier_follower_profile_joins_the_wecom_customer_when_user_info_answers_later(
    database_url: str,
) -> None:
    # First the OA cannot be asked: the follower's message makes a profile of its own (as before this link existed).
    async with running_stack(database_url, settings_update={"officialaccount": unreachable_oa()}) as stack:
        wang = await follower(stack, WANG)
        await stack.act("oa-say", openid=wang["openid"], text="之前在公众号问过")
        [earlier] = await eventually(lambda: stored_texts(stack, wang["openid"], 1))
    # The same sandbox seed, the same follower; now the OA answers and the corp's customers are imported.
    async with running_stack(database_url, import_contacts_on_start=True) as stack:
        assert (await follower(stack, WANG))["openid"] == wang["openid"]
        customer = await eventually(lambda: customer_with(stack, external_userid=wang["customer"]))
        # The fresh sandbox's MsgIds start over from the same seed: its first one is taken (and deduplicated) here.
        await stack.act("oa-say", openid=(await follower(stack, "路人甲"))["openid"], text="你好")
        await stack.act("oa-say", openid=wang["openid"], text="现在又来问")
        await eventually(lambda: stored_texts(stack, wang["openid"], 2))
        async with stack.sessions() as session:
            own = await session.get(Customer, earlier.customer_id)
            profile = await customer_profile(session, customer.id)
    assert own is not None and own.merged_into_id == customer.id and own.unionid == wang["unionid"]
    assert profile is not None
    said = [t.text for t in profile.timeline if t.kind == "message" and t.channel == "oa"]
    assert sorted(said) == sorted(["之前在公众号问过", "现在又来问"])
