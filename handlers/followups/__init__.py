"""Rep commands for follow-ups, sent to the app: "完成 F12", "推迟 F12 2天", "跟进" (my open follow-ups) and
"跟进 静待花开 明天下午3点 回访续费" (a new reminder about one of my customers)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from bot.dispatch import Context, Router
from bot.events import MemberText
from services.outbox.messages import Text
from services.outbox.queue import queue_app_message
from services.service import followups
from services.service.followups import FollowupError, label, local_text
from services.service.rep_customers import find_rep_customer
from services.service.when_phrases import DEFAULT_HOUR, WhenError, read_when

router = Router("followups")
_COMMAND: Final = re.compile(r"^\s*(完成|推迟|跟进)\s*([Ff]?\d+)?\s*(?:(\d+)\s*天)?\s*$")
USAGE: Final = (
    "跟进指令：「跟进 客户名 明天下午3点 回访续费」新建提醒，「完成 F12」标记完成，「推迟 F12 2天」推迟，"
    "「跟进」查看你的待跟进。"
)
_NEW: Final = re.compile(r"^\s*跟进\s+(?P<who>\S+)\s*(?P<rest>.*)$", re.S)


def _is_command(event: MemberText) -> bool:
    return _COMMAND.match(event.text) is not None


@router.on(MemberText, _is_command)
async def on_followup_command(event: MemberText, ctx: Context) -> None:
    match = _COMMAND.match(event.text)
    assert match is not None
    verb, ref, days = match.group(1), match.group(2), match.group(3)
    now = ctx.clock.now()
    zone = ctx.features.settings.timezone
    userid = event.member_userid
    try:
        if verb == "跟进":
            mine, total = await followups.list_followups(ctx.session, member=userid, limit=20)
            lines = [
                f"· {f.label} {f.customer_name or '(无昵称)'} {local_text(f.due_at, zone)} {f.note[:30]}" for f in mine
            ]
            answer = f"你有 {total} 条待跟进：\n" + "\n".join(lines) if mine else "你没有待跟进的客户。"
        elif ref is None:
            answer = USAGE
        elif verb == "完成":
            row = await followups.complete(ctx.session, now, int(ref.lstrip("Ff")), userid)
            answer = f"跟进 {label(row.id)} 已完成。"
        else:
            row = await followups.postpone(ctx.session, now, int(ref.lstrip("Ff")), userid, int(days or 1))
            answer = f"跟进 {label(row.id)} 已推迟到 {local_text(row.due_at, zone)}。"
    except FollowupError as exc:
        answer = str(exc)
    await queue_app_message(ctx.session, now, [userid], Text(answer), key=f"cmd:{event.source_key}")


@router.on(MemberText, lambda e: _NEW.match(e.text) is not None)
async def on_new_followup(event: MemberText, ctx: Context) -> None:
    """ "跟进 <customer> [when] [what]": a reminder for this rep about one of their customers; without a time, the
    next morning."""
    match = _NEW.match(event.text)
    assert match is not None
    now = ctx.clock.now()
    zone = ZoneInfo(ctx.features.settings.timezone)
    userid = event.member_userid
    local_now = now.astimezone(zone)
    who, rest = match.group("who"), match.group("rest").strip()
    answer = await _new_followup(ctx, userid, who, rest, local_now, event.source_key)
    if answer:
        await queue_app_message(ctx.session, now, [userid], Text(answer), key=f"cmd:{event.source_key}")


async def _new_followup(ctx: Context, userid: str, who: str, rest: str, now: datetime, key: str) -> str:
    found = await find_rep_customer(ctx.session, userid, who)
    if found.customer_id is None:
        if not found.candidates:
            return f"你的客户里没有「{who}」。请用客户昵称、你给的备注或客户 ID（如 #12）。"
        listed = "、".join(f"#{cid} {name or '(无昵称)'}" for cid, name in found.candidates)
        return f"你的客户里有不止一位「{who}」：{listed}。请用客户 ID，如「跟进 #{found.candidates[0][0]} 明天 回访」。"
    try:
        when = read_when(rest, now)
    except WhenError as exc:
        return f"{exc}，请换个时间，如「明天下午3点」「3天后」「下周一 10:00」。"
    due = when.moment if when else datetime.combine(now.date() + timedelta(days=1), time(DEFAULT_HOUR), now.tzinfo)
    note = (when.rest if when else rest) or "跟进客户"
    created = await followups.add_followup(
        ctx.session,
        now,
        customer_id=found.customer_id,
        member_userid=userid,
        due_at=due,
        note=note,
        created_by=f"app:{userid}",
        source_key=f"app:{key}",
    )
    if created is None:  # the same message delivered again: made once already
        return ""
    ref, at = label(created), local_text(due, ctx.features.settings.timezone)
    return f"已创建跟进 {ref}：{found.name or who}，{at}，{note}。到期会提醒你；办完回复「完成 {ref}」。"
