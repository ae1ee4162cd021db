"""One greeting per conversation (a kf session, an OA follower's 48 h window): the first chit-chat ("你好", "在吗")
gets a menu of the most-asked entries.

After it, chit-chat gets nothing: a greeting per message would spend the customer's 5 sends in 48 h on "谢谢".
A conversation is the channel's 48 h window; a customer the bot already answered or offered a menu in it is not
greeted either.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from services.faq.budget import Budgets
from services.faq.menus import SENDS_PER_MENU, labels
from services.faq.reach import Reach, room, send, window_length
from services.outbox.messages import Menu
from storage.repos.faq_menus import enabled_entry_ids, kf_replied_since, most_answered, sent_with_key_since

GREETING_HEAD: Final = "您好！我是智能助手，大家常问的问题："
GREETING_TAIL: Final = "点击问题即可查看答案，也可以直接输入您的问题"
GREETING_KEY: Final = "faq-greet:"
GREETING_ITEMS: Final = 5
MOST_ASKED_SPAN: Final = timedelta(days=30)


async def greet_once(
    session: AsyncSession,
    reach: Reach,
    chat_id: str,
    customer_id: int | None,
    message_id: int,
    budgets: Budgets,
    now: datetime,
) -> int | None:
    """Queue the conversation's greeting menu for this chit-chat message; None when it is not due or cannot go."""
    if customer_id is None:
        return None
    session_start = now - window_length(reach, budgets)
    if await sent_with_key_since(session, reach.outbox_kind, reach.recipient, GREETING_KEY, session_start):
        return None
    if await kf_replied_since(session, customer_id, chat_id, session_start):
        return None
    if await room(session, budgets, reach, now) < SENDS_PER_MENU:
        return None
    items = await labels(session, await most_asked(session, now))
    if not items:
        return None  # an empty KB has nothing to offer
    menu = Menu(head=GREETING_HEAD, items=tuple(items.values()), tail=GREETING_TAIL)
    return await send(session, now, reach, menu, f"{GREETING_KEY}{message_id}")


async def most_asked(session: AsyncSession, now: datetime) -> list[str]:
    """The entries the bot answered most in the last 30 days (a tap on a menu item counts: it is recorded as an
    answer), topped up in KB order when there is little history."""
    chosen = await most_answered(session, now - MOST_ASKED_SPAN, GREETING_ITEMS)
    if len(chosen) < GREETING_ITEMS:
        extra = await enabled_entry_ids(session, GREETING_ITEMS * 2)
        chosen += [e for e in extra if e not in chosen]
    return chosen[:GREETING_ITEMS]
