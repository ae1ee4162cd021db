"""Help for reps in the app: "帮助" lists every command; a follow-up verb the commands cannot read gets its usage.

Reps learn the commands from the alerts that name them ("回复「认领 T12」认领"); one who types "帮助" or "完成了吗"
used to hear nothing at all. Anything else a rep types to the app stays unanswered: the app is not a chat.
"""

from __future__ import annotations

import re
from typing import Final

from bot.dispatch import Context, Router
from bot.events import MemberText
from handlers.followups import USAGE as FOLLOWUP_USAGE
from services.outbox.messages import Text
from services.outbox.queue import queue_app_message

router = Router("app_help")

HELP_WORDS: Final = frozenset({"帮助", "help", "菜单", "指令", "命令", "?", "？", "怎么用", "使用说明", "功能", "说明"})
HELP_TEXT: Final = "\n".join(
    (
        "【群客指令】直接在这里发送：",
        "工单",
        "· 工单 — 查看你负责的工单",
        "· 认领 T12 / 解决 T12 / 挂起 T12",
        "· 回复 T12 您好，…… — 通过公众号回复该工单的客户",
        "跟进",
        "· 跟进 — 查看你的待跟进",
        "· 跟进 客户名 明天下午3点 回访续费 — 新建跟进提醒（客户名可用昵称、你的备注或 #ID）",
        "· 完成 F3 / 推迟 F3 2天",
        "提醒、低分、流失预警等通知里也会写明可以回复的指令。",
    )
)
# A follow-up verb followed by something the follow-up commands do not read ("跟进一下", "完成了吗").
_FOLLOWUP_VERB: Final = re.compile(r"^\s*(跟进|完成|推迟)\s*\S")
_NOISE: Final = re.compile(r"[\s。.!！~～]+")


def wants_help(text: str) -> bool:
    return _NOISE.sub("", text).lower() in HELP_WORDS


def _answer_of(text: str) -> str | None:
    if wants_help(text):
        return HELP_TEXT
    if _FOLLOWUP_VERB.match(text):
        return f"没看懂这条跟进指令。{FOLLOWUP_USAGE}"
    return None


@router.on(MemberText, lambda e: _answer_of(e.text) is not None)
async def on_help(event: MemberText, ctx: Context) -> None:
    answer = _answer_of(event.text)
    assert answer is not None
    await queue_app_message(
        ctx.session, ctx.clock.now(), [event.member_userid], Text(answer), key=f"cmd:{event.source_key}"
    )
