"""The FAQ's customer menus (kf and the OA): "did you mean" for a question in the suggest band, and one greeting per
session.

A menu item's id names the KB entry ("faq:<entry id>", or a hash when that would pass WeCom's 64 bytes); the
customer's tap comes back as a text message carrying that id (kf `menu_id`, the OA's `bizmsgmenuid`: WECOM.md §2d,
§4). Every menu costs one of the customer's sends, so one goes out only when the window can also afford the answer
after it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from services.faq.reach import Reach, send
from services.faq.types import Decision
from services.outbox.messages import Menu, MenuItem
from storage.repos import faq as faq_repo
from storage.repos import kb as kb_repo

ITEM_PREFIX: Final = "faq:"
HASHED_PREFIX: Final = "faq#"
NONE_ID: Final = "faq-none"  # "都不是，转人工": not an entry id, so it can never name one
MENU_HEAD: Final = "您是想问："
NONE_TEXT: Final = "都不是，转人工"
MENU_TAIL: Final = "点击问题即可查看答案"
MENU_MAX_CANDIDATES: Final = 3
RELATIVE_FLOOR: Final = 0.6  # a candidate far below the best one is noise, not a choice worth a line
SENDS_PER_MENU: Final = 2  # the menu and the answer after the tap

# UnansweredQuestion.decision for a question a menu answered: sent, then tapped (a pending variant), then decided.
MENU_SENT: Final = "menu"
PICKED: Final = "menu_picked"
CONFIRMED: Final = "menu_confirmed"
REJECTED: Final = "menu_rejected"
DECLINED: Final = "menu_declined"  # "都不是": none of the offered entries; a person answers it


@dataclass(frozen=True, slots=True)
class SentMenu:
    outbox_id: int
    entries: tuple[str, ...]


def item_id(entry_id: str) -> str:
    """The menu item id for an entry: readable when it fits WeCom's 64 bytes, a stable hash when not."""
    plain = f"{ITEM_PREFIX}{entry_id}"
    if len(plain.encode()) <= 64:
        return plain
    return HASHED_PREFIX + hashlib.sha256(entry_id.encode()).hexdigest()[:32]


def is_faq_menu_id(menu_id: str) -> bool:
    return menu_id == NONE_ID or menu_id.startswith((ITEM_PREFIX, HASHED_PREFIX))


def entry_of(menu_id: str, entry_ids: Sequence[str]) -> str | None:
    """The entry a tapped item names, among the KB's entries (None for an item of no entry we know)."""
    return next((e for e in entry_ids if item_id(e) == menu_id), None)


def candidates_for_menu(decision: Decision) -> tuple[str, ...]:
    """The entries worth offering: the best few, none far below the best."""
    best = decision.best
    if best is None:
        return ()
    floor = best.confidence * RELATIVE_FLOOR
    chosen = [c.entry_id for c in decision.candidates if c.confidence >= floor]
    return tuple(dict.fromkeys(chosen))[:MENU_MAX_CANDIDATES]


async def labels(session: AsyncSession, entry_ids: Sequence[str]) -> dict[str, MenuItem]:
    """One item per entry (in order), labelled with the entry's first question, as the manager wrote it."""
    variants = await kb_repo.questions_by_entry(session, list(entry_ids))
    return {e: MenuItem(item_id(e), variants[e][0]) for e in entry_ids if variants.get(e)}


async def did_you_mean(
    session: AsyncSession, reach: Reach, message_id: int, decision: Decision, room: int, now: datetime
) -> SentMenu | None:
    """Queue "您是想问：…/都不是，转人工" for a suggest-band question, or None when the window cannot afford it."""
    if room < SENDS_PER_MENU:
        return None
    items = await labels(session, candidates_for_menu(decision))
    if not items:
        return None
    menu = Menu(head=MENU_HEAD, items=(*items.values(), MenuItem(NONE_ID, NONE_TEXT)), tail=MENU_TAIL)
    key = f"faq-menu:{message_id}"
    outbox_id = await send(session, now, reach, menu, key)
    return SentMenu(outbox_id, tuple(items))


async def remember_menu(session: AsyncSession, message_id: int, entries: Sequence[str]) -> None:
    """Keep the offered entries on the question's unanswered record: a tap finds the question it answers there."""
    question = await faq_repo.question_for_message(session, message_id)
    if question is not None:
        question.detail = {**question.detail, "menu": list(entries)}
