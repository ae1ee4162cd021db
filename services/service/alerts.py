"""Private alerts to a member: text, markdown or a card; a burst past their 30/min is folded into one digest."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from services.outbox.messages import TEXT_MAX_BYTES, Card, Markdown, MemberMessage, Text, fit_bytes
from services.outbox.queue import queue_app_message
from storage.models.outbox import Outbox, OutboxKind, OutboxStatus
from storage.repos import outbox as outbox_repo
from storage.repos import quotas

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u2028-\u202e\u2066-\u2069]+")
_MARKDOWN_SPECIAL: Final = re.compile(r"([\\`*_\[\]()#>!<~|-])")


class AlertStyle(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    CARD = "card"


@dataclass(frozen=True, slots=True)
class Alert:
    """What a rep should know: our own title and body, and optionally what the customer said (untrusted)."""

    title: str
    body: str = ""
    customer_text: str = ""
    url: str = ""
    style: AlertStyle = AlertStyle.TEXT


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    per_minute: int = 30  # WeCom drops app messages past 30 a minute per member, silently
    window: timedelta = timedelta(seconds=62)  # the sender's window plus its margin
    quote_chars: int = 200
    digest_max_items: int = 50


DEFAULT_POLICY: Final = AlertPolicy()


@dataclass(frozen=True, slots=True)
class AlertQueued:
    outbox_id: int
    coalesced: bool


def quote_customer_text(text: str, limit: int) -> str:
    """Customer text made safe to show a rep: control and direction characters gone, one line, capped."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    if len(flat) > limit:
        flat = flat[: max(0, limit - 1)] + "…"
    return f"「{flat}」" if flat else ""


def render(alert: Alert, policy: AlertPolicy = DEFAULT_POLICY) -> MemberMessage:
    quoted = quote_customer_text(alert.customer_text, policy.quote_chars)
    if alert.style is AlertStyle.MARKDOWN:
        lines = [f"**{alert.title}**", alert.body]
        if quoted:
            lines.append("> 客户原话：" + _MARKDOWN_SPECIAL.sub(r"\\\1", quoted))
        if alert.url:
            lines.append(f"[查看详情]({alert.url})")
        return Markdown("\n".join(line for line in lines if line))
    if alert.style is AlertStyle.CARD and alert.url:
        description = "\n".join(p for p in (alert.body, f"客户原话：{quoted}" if quoted else "") if p)
        return Card(title=alert.title, url=alert.url, description=description)
    return Text(_plain_line(alert, quoted))


def _plain_line(alert: Alert, quoted: str) -> str:
    parts = [f"【{alert.title}】", alert.body]
    if quoted:
        parts.append(f"客户原话：{quoted}")
    if alert.url:
        parts.append(alert.url)
    return "\n".join(p for p in parts if p)


def render_digest(items: list[str]) -> str:
    head = f"【提醒汇总】这一分钟的提醒较多，已合并为一条（共 {len(items)} 条）："
    lines = [head]
    used = len(head.encode())
    for number, item in enumerate(items, start=1):
        line = f"{number}. {item}"
        rest = f"……另有 {len(items) - number + 1} 条，请到工作台查看。"
        if used + len(line.encode()) + len(rest.encode()) + 2 > TEXT_MAX_BYTES:
            lines.append(rest)
            break
        lines.append(line)
        used += len(line.encode()) + 1
    return fit_bytes("\n".join(lines), TEXT_MAX_BYTES)


async def alert_member(
    session: AsyncSession,
    now: datetime,
    userid: str,
    alert: Alert,
    *,
    key: str | None = None,
    policy: AlertPolicy = DEFAULT_POLICY,
) -> AlertQueued:
    """Queue `alert` for `userid`, or fold it into their pending digest when their minute is already full."""
    recent = await quotas.member_stamps(session, [userid], now - policy.window)
    pending = await outbox_repo.pending_for(session, OutboxKind.APP_MESSAGE, userid, lock=True)
    if len(recent.get(userid, [])) + len(pending) < policy.per_minute - 1:
        # Keep the last place of the minute for a digest, so a burst still reaches the rep within a minute.
        return AlertQueued(await queue_app_message(session, now, [userid], render(alert, policy), key=key), False)
    summary = summary_line(alert, policy)
    for row in reversed(pending):
        has_room = row.payload.get("digest") is not None and len(row.payload["digest"]) < policy.digest_max_items
        if has_room and await _append_to_digest(session, row, summary, now):
            return AlertQueued(row.id, True)
    items = [summary]
    digest_key = f"digest:{key or uuid.uuid4().hex}"
    row_id = await queue_app_message(
        session, now, [userid], Text(render_digest(items)), key=digest_key, extra={"digest": items}
    )
    return AlertQueued(row_id, True)


def summary_line(alert: Alert, policy: AlertPolicy) -> str:
    """The alert as one item of a digest."""
    quoted = quote_customer_text(alert.customer_text, min(60, policy.quote_chars))
    return "".join(p for p in (alert.title, f"：{alert.body}" if alert.body else "", f" {quoted}" if quoted else ""))


async def _append_to_digest(session: AsyncSession, row: Outbox, summary: str, now: datetime) -> bool:
    items = [*row.payload["digest"], summary]
    payload: dict[str, Any] = {**Text(render_digest(items)).to_payload(), "digest": items}
    result = await session.execute(
        update(Outbox)
        .where(Outbox.id == row.id, Outbox.status.in_((OutboxStatus.QUEUED, OutboxStatus.DEFERRED)))
        .values(payload=payload, content_key=None, updated_at=now)
    )
    return bool(getattr(result, "rowcount", 0))
