"""Typer's own words (usage errors, panel titles, the help option) in Simplified Chinese: managers read the CLI.

Typer vendors its Click and writes these messages as plain English f-strings, so they are translated where Typer
prints them: its rich error printer, its panel-title constants and the help option's text.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any, Final

# Whole-message patterns, tried in order; the first that matches the start of the message is replaced.
ERRORS: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern, re.DOTALL), text)
    for pattern, text in (
        (r"Missing option (.+?)\.( |$)", r"缺少选项 \1。\2"),
        (r"Missing argument (.+?)\.( |$)", r"缺少参数 \1。\2"),
        (r"Missing parameter (.+?)\.( |$)", r"缺少参数 \1。\2"),
        (r"Missing command\.", "缺少子命令。"),
        (r"No such command (.+?)\.(?: Did you mean (.+)\?)?$", r"没有命令 \1。\2"),
        (r"No such option: (\S+)", r"没有选项 \1"),
        (r"\(Possible options: (.+)\)", r"（可能是：\1）"),
        (r"Invalid value for (.+?): ", r"\1 的取值无效："),
        (r"Invalid value: ", "取值无效："),
        (r"Got unexpected extra arguments? \((.+)\)", r"多余的参数：\1"),
        (r"Option (\S+) requires an argument\.", r"选项 \1 需要一个取值。"),
        (r"Option (\S+) does not take a value\.", r"选项 \1 不接受取值。"),
        (r"Could not open file (.+?): ", r"无法打开文件 \1："),
        (r"Value (.+) is not a valid (\w+)\.", r"\1 不是有效的 \2。"),
        (r"Input should be a valid integer.*", "应为整数"),
        (r"Input should be a valid number.*", "应为数字"),
        (r"Input should be a valid boolean.*", "应为 true 或 false"),
        (r"Input should be a valid date.*", "应为日期，如 2026-12-31"),
        (r"Input should be greater than or equal to (\S+)", r"应不小于 \1"),
        (r"Input should be less than or equal to (\S+)", r"应不大于 \1"),
    )
)
DID_YOU_MEAN: Final = re.compile(r"没有命令 (.+?)。(.+)$")

# Typer reads these at import time into module constants; they are replaced after the import.
RICH_CONSTANTS: Final[dict[str, str]] = {
    "ERRORS_PANEL_TITLE": "错误",
    "ABORTED_TEXT": "已中止。",
    "RICH_HELP": "运行 [blue]'{command_path} {help_option}'[/] 查看帮助。",
    "ARGUMENTS_PANEL_TITLE": "参数",
    "OPTIONS_PANEL_TITLE": "选项",
    "COMMANDS_PANEL_TITLE": "命令",
    "DEFAULT_STRING": "[默认：{}]",
    "REQUIRED_LONG_STRING": "[必填]",
    "ENVVAR_STRING": "[环境变量：{}]",
    "DEPRECATED_STRING": "(已弃用) ",
}
HELP_OPTION_TEXT: Final = "显示本帮助并退出 (show this message and exit)"


def translate_error(message: str) -> str:
    """The Chinese of one of Typer's usage errors; a message it does not know (our own, already Chinese) unchanged."""
    for pattern, text in ERRORS:
        translated, count = pattern.subn(text, message, count=1)
        if count:
            message = translated
    found = DID_YOU_MEAN.match(message)
    if found and found.group(2):
        message = f"没有命令 {found.group(1)}。您是想输入 {found.group(2)} 吗？"
    return message


def _chinese_usage(get_usage: Callable[..., str]) -> Callable[..., str]:
    def get(self: Any, ctx: Any) -> str:
        usage = get_usage(self, ctx)
        return "用法：" + usage[len("Usage: ") :] if usage.startswith("Usage: ") else usage

    return get


def _chinese_errors(print_error: Callable[[Any], None]) -> Callable[[Any], None]:
    def print_chinese(error: Any) -> None:
        format_message = error.format_message
        error.format_message = lambda: translate_error(format_message())
        print_error(error)

    return print_chinese


def install() -> None:
    """Put the Chinese in place, once: panel titles, the rich error printer, the usage line and the help option."""
    rich_utils = importlib.import_module("typer.rich_utils")
    if getattr(rich_utils, "_qunke_chinese", False):
        return
    for constant, text in RICH_CONSTANTS.items():
        setattr(rich_utils, constant, text)
    rich_utils.rich_format_error = _chinese_errors(rich_utils.rich_format_error)  # type: ignore[attr-defined]
    core = importlib.import_module("typer._click.core")
    core.Command.get_usage = _chinese_usage(core.Command.get_usage)
    get_help_option = core.Command.get_help_option

    def chinese_help_option(self: Any, ctx: Any) -> Any:
        option = get_help_option(self, ctx)
        if option is not None:
            option.help = HELP_OPTION_TEXT
        return option

    core.Command.get_help_option = chinese_help_option
    setattr(rich_utils, "_qunke_chinese", True)  # noqa: B010 (a flag on a module mypy cannot see)
