"""Template filters: local times and the Chinese names of statuses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.tickets.text import PRIORITY_TEXT, SOURCE_TEXT, STATUS_TEXT

CUSTOMER_STATUS = {"contact": "联系人", "lost": "已流失", "group_only": "未加好友"}
ROLE_TEXT = {"admin": "管理员", "manager": "主管", "rep": "销售"}


def local_time(value: datetime | None, zone: str = "Asia/Shanghai") -> str:
    if value is None:
        return "-"
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _lookup(table: dict[str, str]) -> Callable[[Any], str]:
    def name(value: Any) -> str:
        return table.get(str(value), str(value))

    return name


def actor_name(value: Any) -> str:
    """Who made a row, as a person reads it: the console login, not the audit actor's "user:" prefix."""
    text = str(value or "")
    if text.startswith("user:"):
        return text.removeprefix("user:")
    return {"cli": "命令行", "bot": "机器人", "": "-"}.get(text, text)


FILTERS: dict[str, Callable[..., Any]] = {
    "local": local_time,
    "customer_status": _lookup(CUSTOMER_STATUS),
    "ticket_status": _lookup(dict(STATUS_TEXT)),
    "ticket_source": _lookup(dict(SOURCE_TEXT)),
    "ticket_priority": _lookup(dict(PRIORITY_TEXT)),
    "role": _lookup(ROLE_TEXT),
    "actor": actor_name,
}
