"""Reps in the app over real HTTP: "帮助" lists the commands, an unreadable follow-up command gets its usage, free
text to the app stays unanswered, and "跟进 糖糖 明天下午3点 回访续费" sets a reminder."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select

from handlers.app_help import HELP_TEXT
from storage.models.campaigns import Followup
from storage.models.customers import CustomerFollow
from tests.integration.test_faq import eventually, logged
from tests.support.stack import Stack


async def test_a_rep_who_asks_the_app_for_help_gets_every_command(stack: Stack) -> None:
    await stack.act("member-app-say", member="zhangsan", text="帮助")
    [answer] = await eventually(logged(stack, "app_message", "【群客指令】", userid="zhangsan"))
    assert answer["content"] == HELP_TEXT
    for command in ("认领 T12", "回复 T12", "完成 F3", "推迟 F3 2天"):
        assert command in answer["content"]


async def test_a_follow_up_command_the_app_cannot_read_gets_its_usage_and_free_text_gets_nothing(
    stack: Stack,
) -> None:
    await stack.act("member-app-say", member="lisi", text="今天客户好多啊")
    await stack.act("member-app-say", member="lisi", text="完成了吗")
    [usage] = await eventually(logged(stack, "app_message", "没看懂这条跟进指令", userid="lisi"))
    assert "「完成 F12」" in usage["content"]
    await stack.settle()
    to_lisi = await logged(stack, "app_message", userid="lisi")()
    assert [e["content"] for e in to_lisi] == [usage["content"]]  # the free text got no answer


async def test_a_rep_sets_a_follow_up_on_one_of_their_customers_from_the_app(stack: Stack) -> None:
    state = await stack.sandbox_state()
    candy = next(c["external_userid"] for c in state["customers"] if c["name"] == "糖糖🍬")
    await stack.act("add-contact", customer=candy, member="wangwu")

    async def followed() -> bool:
        async with stack.sessions() as session:
            found = await session.scalar(select(CustomerFollow).where(CustomerFollow.userid == "wangwu"))
        return found is not None

    await eventually(followed)
    await stack.act("member-app-say", member="wangwu", text="跟进 糖糖 明天下午3点 回访续费")
    [made] = await eventually(logged(stack, "app_message", "已创建跟进", userid="wangwu"))
    async with stack.sessions() as session:
        [row] = list(await session.scalars(select(Followup)))
    due = row.due_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (row.member_userid, row.note, due.hour, due.minute) == ("wangwu", "回访续费", 15, 0)
    assert f"F{row.id}：糖糖🍬，{due.strftime('%m-%d 15:00')}，回访续费" in made["content"]  # the customer's own name

    # Someone else's customer, and a moment already past, are refused in words; nothing more is made.
    await stack.act("member-app-say", member="wangwu", text="跟进 静待花开 明天 回访")
    await eventually(logged(stack, "app_message", "你的客户里没有「静待花开」", userid="wangwu"))
    await stack.act("member-app-say", member="wangwu", text="跟进 糖糖 2月30号 回访")
    await eventually(logged(stack, "app_message", "没有 2 月 30 日", userid="wangwu"))
    async with stack.sessions() as session:
        assert len(list(await session.scalars(select(Followup)))) == 1
