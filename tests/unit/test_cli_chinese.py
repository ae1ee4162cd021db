"""Typer's own usage errors and help words reach a manager in Chinese, through the real `qunke` app."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.chinese import translate_error


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    return result.output


def test_a_missing_option_is_named_in_chinese_with_the_usage_and_the_help_hint() -> None:
    output = _run("campaign", "create")
    assert "用法：" in output and "campaign create [OPTIONS]" in output
    assert "campaign create --help' 查看帮助。" in output
    assert "缺少选项 '--file' / '-f'。" in output and "Missing" not in output


def test_an_unknown_command_and_a_bad_number_are_refused_in_chinese() -> None:
    assert "没有命令 'campain'。" in _run("campain")
    assert "'--limit' 的取值无效：应为整数" in _run("customer", "list", "--limit", "abc")


def test_help_lists_options_and_commands_under_chinese_titles() -> None:
    output = CliRunner().invoke(app, ["segment", "--help"], env={"COLUMNS": "200"}).output
    assert "选项" in output and "命令" in output and "显示本帮助并退出" in output


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("Missing argument 'customer'.", "缺少参数 'customer'。"),
        ("No such command 'campain'. Did you mean 'campaign'?", "没有命令 'campain'。您是想输入 'campaign' 吗？"),
        ("Got unexpected extra argument (x)", "多余的参数：x"),
        ("客户 ID 不存在", "客户 ID 不存在"),
    ],
)
def test_translate_error(english: str, chinese: str) -> None:
    assert translate_error(english) == chinese
