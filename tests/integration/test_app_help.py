"""Reps in the app over real HTTP: "帮助" lists the commands, an unreadable follow-up command gets its usage, and
free text to the app stays unanswered."""

from __future__ import annotations

from handlers.app_help import HELP_TEXT
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
    await stack.act("member-app-say", member="lisi", text="跟进 静待花开 明天下午 回访续费")
    [usage] = await eventually(logged(stack, "app_message", "没看懂这条跟进指令", userid="lisi"))
    assert "「完成 F12」" in usage["content"]
    await stack.settle()
    to_lisi = await logged(stack, "app_message", userid="lisi")()
    assert [e["content"] for e in to_lisi] == [usage["content"]]  # the free text got no answer
