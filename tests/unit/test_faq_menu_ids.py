"""Menu item ids for KB entries: within WeCom's 64 bytes, resolvable back to the entry, never "都不是"."""

from __future__ import annotations

from services.faq.menus import NONE_ID, candidates_for_menu, entry_of, is_faq_menu_id, item_id
from services.faq.types import Action, Candidate, Decision


def test_an_item_id_names_its_entry_when_the_entry_id_is_short() -> None:
    assert item_id("course_refund") == "faq:course_refund"
    assert entry_of("faq:course_refund", ["invoice", "course_refund"]) == "course_refund"


def test_an_item_id_is_a_stable_hash_within_64_bytes_when_the_entry_id_is_long() -> None:
    long_id = "售后" * 30  # 180 bytes in UTF-8
    menu_id = item_id(long_id)
    assert len(menu_id.encode()) <= 64 and menu_id == item_id(long_id)
    assert is_faq_menu_id(menu_id) and entry_of(menu_id, ["invoice", long_id]) == long_id


def test_none_of_these_names_no_entry_when_an_entry_is_called_none() -> None:
    assert is_faq_menu_id(NONE_ID) and entry_of(NONE_ID, ["none", "faq-none"]) is None
    assert not is_faq_menu_id("csat_5") and not is_faq_menu_id("")


def test_the_menu_offers_only_candidates_near_the_best_when_others_are_noise() -> None:
    scores = {"course_refund": 0.66, "refund_time": 0.5, "payment_methods": 0.13, "invoice": 0.1}
    candidates = tuple(Candidate(e, c, e) for e, c in scores.items())
    decision = Decision(Action.SUGGEST, 0.66, "between_thresholds", candidates)
    assert candidates_for_menu(decision) == ("course_refund", "refund_time")
    assert candidates_for_menu(Decision(Action.SUGGEST, 0.0, "low_score")) == ()
