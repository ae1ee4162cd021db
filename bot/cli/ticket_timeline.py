"""`ticket show` as one timeline: history and linked messages merged, once each, in the configured zone, in Chinese."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from bot.cli.output import local

EVENT_TEXT: Final = {
    "opened": "开单",
    "linked": "关联新消息",
    "claimed": "认领",
    "replied": "公众号回复",
    "pending": "挂起",
    "solved": "解决",
    "closed": "关闭",
    "reopened": "重新打开",
}
ACTOR_TEXT: Final = {"bot": "机器人", "cli": "命令行"}
CHANNEL_TEXT: Final = {"kf": "微信客服", "archive": "会话存档", "oa": "公众号"}


def _moment(iso: str) -> datetime:
    moment = datetime.fromisoformat(iso)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # stored moments are UTC


def ticket_timeline(events: list[dict[str, Any]], messages: list[dict[str, Any]], zone: str) -> list[str]:
    """One line per event and per distinct message, oldest first, every time as `YYYY-MM-DD HH:MM:SS` in `zone`."""
    lines: list[tuple[datetime, str]] = []
    for e in events:
        actor = ACTOR_TEXT.get(str(e["actor"]), str(e["actor"]))
        lines.append((_moment(e["at"]), f"{EVENT_TEXT.get(str(e['kind']), str(e['kind']))}  {actor}"))
    seen: set[tuple[str, str]] = set()
    for m in messages:
        at = _moment(m["at"])
        # The same words from the same second are one message to a reader (a kf message and its archived copy).
        key = (at.replace(microsecond=0).isoformat(), str(m["text"]))
        if key in seen:
            continue
        seen.add(key)
        lines.append((at, f"💬 {CHANNEL_TEXT.get(str(m['channel']), str(m['channel']))}：{m['text']}"))
    lines.sort(key=lambda pair: pair[0])
    return [f"  {local(at, zone)}  {text}" for at, text in lines]
