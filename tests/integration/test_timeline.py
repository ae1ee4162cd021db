"""Customer-contact events become customers, groups and timeline entries, through real HTTP and a real database."""

from __future__ import annotations

from typing import Any

from services.customers.profiles import customer_profile
from storage.repos import contacts
from tests.support.stack import Stack


async def _first_customer_not_in(stack: Stack, chat_id: str) -> dict[str, Any]:
    state = await stack.sandbox_state()
    group = next(g for g in state["groups"] if g["chat_id"] == chat_id)
    inside = {m["userid"] for m in group["member_list"]}
    return next(c for c in state["customers"] if c["external_userid"] not in inside)


async def test_customer_joining_by_qr_appears_on_timeline_when_sandbox_fires_event(stack: Stack) -> None:
    state = await stack.sandbox_state()
    group = state["groups"][0]
    customer = await _first_customer_not_in(stack, group["chat_id"])

    await stack.act("join-group", customer=customer["external_userid"], group=group["chat_id"], scene="qr")
    await stack.settle()

    async with stack.sessions() as session:
        stored = await contacts.customer_by_external_id(session, customer["external_userid"])
        assert stored is not None
        profile = await customer_profile(session, stored.id)
    assert profile is not None
    joins = [t for t in profile.timeline if t.kind == "joined_group"]
    assert len(joins) == 1
    assert joins[0].chat_id == group["chat_id"]
    assert joins[0].text == f"扫码加入群「{group['name']}」"
    assert group["chat_id"] in {g["chat_id"] for g in profile.groups}


def _customer(state: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in state["customers"] if c["name"] == name)


async def _profile(stack: Stack, external_userid: str) -> Any:
    async with stack.sessions() as session:
        stored = await contacts.customer_by_external_id(session, external_userid)
        assert stored is not None, f"customer {external_userid} was not created"
        return await customer_profile(session, stored.id)


async def test_customer_becomes_a_contact_with_owner_and_tags_when_they_add_a_rep(stack: Stack) -> None:
    state = await stack.sandbox_state()
    candy = _customer(state, "糖糖🍬")  # a WeChat user nobody has added yet
    await stack.act("add-contact", customer=candy["external_userid"], member="lisi", state="poster01")
    await stack.act(
        "edit-contact",
        customer=candy["external_userid"],
        member="lisi",
        remark="糖糖-海报",
        tags=[state["tag_groups"][0]["tags"][0]["tag_id"]],
    )
    await stack.settle()

    profile = await _profile(stack, candy["external_userid"])
    assert profile.owner_userid == "lisi" and profile.owner_name == "李四"
    assert profile.status == "contact"
    assert [t.text for t in profile.timeline] == ["添加了 李四 为联系人（渠道：poster01）"]
    assert profile.follows[0]["remark"] == "糖糖-海报"
    assert [t["tag"] for t in profile.tags] == [state["tag_groups"][0]["tags"][0]["name"]]


async def test_customer_is_lost_when_the_only_rep_deletes_them(stack: Stack) -> None:
    candy = _customer(await stack.sandbox_state(), "糖糖🍬")["external_userid"]
    await stack.act("add-contact", customer=candy, member="zhangsan")
    await stack.settle()
    await stack.act("delete-customer", member="zhangsan", customer=candy)
    await stack.settle()

    profile = await _profile(stack, candy)
    assert [t.kind for t in profile.timeline] == ["added_member", "member_deleted_customer"]
    assert profile.timeline[-1].text == "被 张三 删除"
    assert profile.status == "lost" and profile.lost_at is not None
    assert profile.follows[0]["status"] == "deleted_by_member"


async def test_timeline_says_customer_deleted_rep_when_customer_removes_them(stack: Stack) -> None:
    sunny = _customer(await stack.sandbox_state(), "晴天☀️")["external_userid"]
    await stack.act("add-contact", customer=sunny, member="wangwu")
    await stack.act("add-contact", customer=sunny, member="lisi")
    await stack.settle()
    await stack.act("delete-rep", customer=sunny, member="wangwu")
    await stack.settle()

    profile = await _profile(stack, sunny)
    assert profile.timeline[-1].text == "删除了 王五"
    assert profile.status == "contact" and profile.owner_userid == "lisi"
    assert {f["userid"]: f["status"] for f in profile.follows} == {"wangwu": "deleted_by_customer", "lisi": "active"}


async def test_leaving_and_being_removed_read_differently_when_customers_quit_a_group(stack: Stack) -> None:
    state = await stack.sandbox_state()
    group = state["groups"][0]
    externals = [m["userid"] for m in group["member_list"] if m["type"] == 2]
    await stack.act("leave-group", customer=externals[0], group=group["chat_id"])
    await stack.act("leave-group", customer=externals[1], group=group["chat_id"], removed=True)
    await stack.settle()

    left, removed = await _profile(stack, externals[0]), await _profile(stack, externals[1])
    assert left.timeline[-1].text == f"退出群「{group['name']}」"
    assert removed.timeline[-1].text == f"被移出群「{group['name']}」"
    assert group["chat_id"] not in {g["chat_id"] for g in left.groups}
