"""Rep commands for follow-ups, sent to the app: "完成 F12", "推迟 F12 2天" and "跟进" (my open follow-ups)."""

from __future__ import annotations

import re
from typing import Final

from bot.dispatch import Context, Router
from bot.events import MemberText
from services.outbox.messages import Text
from services.outbox.queue import queue_app_message
from services.service import followups
from services.service.followups import FollowupError, label, local_text

router = Router("followups")
_COMMAND: Final = re.compile(r"^\s*(完成|推迟|跟进)\s*([Ff]?\d+)?\s*(?:(\d+)\s*天)?\s*$")
USAGE: Final = "跟进指令：「完成 F12」标记完成，「推迟 F12 2天」推迟，「跟进」查看你的待跟进。"


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
