"""Rep commands to the app as typed: the four ticket verbs, "工单", and "回复 T12 …" with the words kept as written."""

from __future__ import annotations

import pytest

from handlers.tickets.commands import Command, parse_command


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("认领 T12", Command("认领", 12, "T12")),
        ("解决t3", Command("解决", 3, "t3")),
        ("工单", Command("工单", None, "")),
        ("回复 T12 您好，发票已开好。", Command("回复", 12, "T12 您好，发票已开好。", "您好，发票已开好。")),
        ("回复T12：您好", Command("回复", 12, "T12：您好", "您好")),
        ("回复 12 第一行\n第二行", Command("回复", 12, "12 第一行\n第二行", "第一行\n第二行")),
        ("回复 T12", Command("回复", 12, "T12", "")),
        ("回复一下客户", Command("回复", None, "一下客户")),
    ],
)
def test_commands_parse_as_typed(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize("text", ["你好", "工单 T12", "请回复 T12 你好", ""])
def test_other_text_is_not_a_command(text: str) -> None:
    assert parse_command(text) is None
