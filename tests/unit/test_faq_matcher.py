"""The matcher with real jieba and bm25s: variants, synonyms, typos, thresholds, reasons and the KB's life cycle."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.faq import frames
from services.faq.decision_bands import calibrate
from services.faq.gate import question_clauses
from services.faq.kb import KbError, parse_yaml, read_file
from services.faq.match_settings import MatcherSettings
from services.faq.matcher import Matcher, build_matcher, build_matcher_async
from services.faq.synonyms import SynonymError, SynonymMap, default_synonyms
from services.faq.types import Action, KbItem

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def example() -> Matcher:
    return build_matcher(read_file(ROOT / "kb" / "example.yaml"), MatcherSettings())


def test_shipped_example_kb_is_large_and_well_formed() -> None:
    items = read_file(ROOT / "kb" / "example.yaml")
    assert len(items) >= 40
    assert all(len(item.questions) >= 3 and item.answer for item in items)


def test_exact_variant_answers_with_full_confidence(example: Matcher) -> None:
    decision = example.decide("几点上课")
    assert decision.action is Action.ANSWER and decision.reason == "confident"
    assert decision.best is not None and decision.best.entry_id == "class_schedule"
    assert decision.best.variant == "几点上课"
    assert "上课" in decision.best.matched_terms


def test_other_variants_and_colloquial_forms(example: Matcher) -> None:
    for query, entry in [
        ("能开发票吗？？", "invoice"),
        ("有没有体验课", "trial_class"),
        ("我的快递到哪了", "track_order"),
        ("退货的运费谁出啊", "return_shipping_fee"),
    ]:
        decision = example.decide(query)
        assert decision.best is not None and decision.best.entry_id == entry, query
        assert decision.action is Action.ANSWER, query


def test_a_question_wrapped_in_context_is_read_by_its_question_clause(example: Matcher) -> None:
    alone = example.decide("训练营的回放在哪里看")
    wrapped = example.decide("请问训练营的回放在哪里看？我上周有事没来")
    assert wrapped.best is not None and wrapped.best.entry_id == "class_replay"
    assert wrapped.action is Action.ANSWER  # scored whole, the context held it at 0.44: silent
    assert wrapped.confidence <= alone.confidence  # a clause read alone is never surer than the message alone


def test_a_short_clause_is_not_scored_out_of_its_context() -> None:
    assert question_clauses("请问训练营的回放在哪里看？我上周有事没来") == ["请问训练营的回放在哪里看"]
    assert question_clauses("牙有点黄 想弄白一点 多钱") == []  # "多钱" alone could be any price
    assert question_clauses("训练营的回放在哪里看") == []  # one clause: the whole message is it


def test_synonyms_bridge_different_words(example: Matcher) -> None:
    # "录播" is a synonym of "回放": the KB says 回放在哪看.
    decision = example.decide("录播在哪看")
    assert decision.best is not None and decision.best.entry_id == "class_replay"
    assert decision.action is Action.ANSWER
    assert "回放" in decision.best.matched_terms
    assert "回放" in decision.normalized


def test_typos_and_traditional_characters(example: Matcher) -> None:
    typo = example.decide("怎么开发漂")
    assert typo.best is not None and typo.best.entry_id == "invoice" and typo.action is Action.ANSWER
    traditional = example.decide("優惠券為啥用不了")
    assert traditional.best is not None and traditional.best.entry_id == "coupon_invalid"
    assert traditional.action is not Action.SILENT


def test_chitchat_and_statements_stay_silent_with_their_reason(example: Matcher) -> None:
    for text in ("好的谢谢", "收到👍", "哈哈哈哈", "😂"):
        decision = example.decide(text)
        assert (decision.action, decision.reason) == (Action.SILENT, "chitchat"), text
        assert decision.candidates == ()
    statement = example.decide("我已经收到货了")
    assert (statement.action, statement.reason) == (Action.SILENT, "not_question")


def test_uncovered_in_domain_questions_stay_silent(example: Matcher) -> None:
    for text in ("你们有线下门店吗", "能寄到国外吗", "课程能投屏到电视吗"):
        decision = example.decide(text)
        assert decision.action is Action.SILENT and decision.reason == "low_score", text
        assert decision.confidence < MatcherSettings().suggest


def test_thresholds_decide_the_action() -> None:
    items = read_file(ROOT / "kb" / "example.yaml")
    query = "退款多久能到账"
    confidence = build_matcher(items, MatcherSettings()).decide(query).confidence
    assert 0 < confidence < 1
    answer = build_matcher(items, MatcherSettings(answer=confidence, suggest=confidence / 2)).decide(query)
    assert answer.action is Action.ANSWER
    above = min(1.0, confidence + 0.01)
    suggest = build_matcher(items, MatcherSettings(answer=above, suggest=confidence)).decide(query)
    assert (suggest.action, suggest.reason) == (Action.SUGGEST, "between_thresholds")
    silent = build_matcher(items, MatcherSettings(answer=above, suggest=above)).decide(query)
    assert (silent.action, silent.reason) == (Action.SILENT, "low_score")
    assert silent.best is not None and silent.best.entry_id == "refund_time"  # the best guess is still reported


def test_candidates_are_ranked_and_capped_by_top_k() -> None:
    items = read_file(ROOT / "kb" / "example.yaml")
    decision = build_matcher(items, MatcherSettings(top_k=2)).decide("发票什么时候能收到")
    assert len(decision.candidates) == 2
    assert decision.candidates[0].confidence >= decision.candidates[1].confidence
    assert decision.confidence == decision.candidates[0].confidence


def test_near_tie_between_entries_costs_confidence() -> None:
    items = [
        KbItem("a", ("会员怎么退款",), "A"),
        KbItem("b", ("课程怎么退款",), "B"),
        KbItem("c", ("发票怎么开",), "C"),
    ]
    matcher = build_matcher(items, MatcherSettings())
    tie = matcher.decide("怎么退款")
    clear = matcher.decide("发票怎么开")
    assert tie.confidence < clear.confidence
    assert tie.best is not None and tie.best.entry_id in {"a", "b"}
    # A tie never answers, but a strong tied match is handed to a rep rather than dropped.
    assert tie.action is Action.SUGGEST and clear.action is Action.ANSWER
    assert {c.entry_id for c in tie.candidates[:2]} == {"a", "b"}


def test_question_frames_weigh_less_than_content() -> None:
    assert frames.weight("有没有") == frames.weight("怎么") == frames.FRAME_WEIGHT < 1
    assert frames.weight("全吗") == frames.FRAME_WEIGHT  # a bigram that straddles a particle
    assert frames.weight("发票") == frames.weight("有效") == 1.0  # 有 alone is a frame, 有效 is content
    items = [KbItem("free", ("有没有免费版",), "F"), KbItem("app", ("有手机app吗",), "P")]
    matcher = build_matcher(items, MatcherSettings())
    # "有没有X" is decided by X: an unknown X cannot ride on 有没有 into another entry.
    unknown = matcher.decide("有没有投票功能")
    assert (unknown.action, unknown.reason) == (Action.SILENT, "low_score")
    app = matcher.decide("有没有app")
    assert app.action is not Action.SILENT and app.best is not None and app.best.entry_id == "app"


def test_a_confident_answer_needs_the_content_words_covered() -> None:
    items = [KbItem("a", ("会员怎么退款",), "A"), KbItem("c", ("发票怎么开",), "C"), KbItem("s", ("几点上课",), "S")]
    query = "会员卡怎么退款"  # 会员卡 is a word of its own that no variant has
    lenient = build_matcher(items, MatcherSettings(min_content=0.0)).decide(query)
    assert lenient.action is Action.ANSWER and lenient.best is not None and lenient.best.entry_id == "a"
    capped = build_matcher(items, MatcherSettings()).decide(query)
    assert capped.action is Action.SUGGEST and capped.confidence < MatcherSettings().answer
    assert capped.best is not None and capped.best.entry_id == "a"


def test_disabled_entries_and_empty_kb_never_answer() -> None:
    items = [KbItem("off", ("怎么开发票",), "A", enabled=False), KbItem("on", ("几点上课",), "B")]
    matcher = build_matcher(items, MatcherSettings())
    assert len(matcher) == 1 and matcher.item("off") is None
    assert all(c.entry_id != "off" for c in matcher.decide("怎么开发票").candidates)
    empty = build_matcher([], MatcherSettings()).decide("怎么开发票")
    assert (empty.action, empty.reason) == (Action.SILENT, "no_match")


def test_operator_synonyms_from_config_extend_the_defaults() -> None:
    items = [KbItem("replay", ("课程回放在哪看",), "回放在我的课程里"), KbItem("hours", ("几点上班",), "9 点")]
    plain = build_matcher(items, MatcherSettings()).decide("小鹅通课在哪看")
    extended = build_matcher(items, MatcherSettings(synonyms={"课程回放": ["小鹅通课"]})).decide("小鹅通课在哪看")
    assert extended.best is not None and extended.best.entry_id == "replay"
    assert extended.confidence > plain.confidence
    assert extended.action is Action.ANSWER


def test_synonym_map_rules() -> None:
    synonyms = SynonymMap([{"退货": ["退掉", "寄回去"]}, {"回放": ["录播"]}])
    assert synonyms.apply("我想退掉") == "我想退货"
    assert synonyms.rewrites("录播和寄回去") == [("录播", "回放"), ("寄回去", "退货")]
    with pytest.raises(SynonymError):
        SynonymMap([{"课程": ["课"]}])  # one character would rewrite the inside of other words
    assert len(default_synonyms()) > 100  # the four shipped domains load


def test_shipped_synonyms_keep_payment_names_whole() -> None:
    """A longer variant wins: 支付宝 is a way to pay, not 支付 + a stray 宝; holidays share one term."""
    synonyms = default_synonyms()
    assert synonyms.apply("能用支付宝付吗") == "能用付款付吗"
    assert synonyms.apply("国庆节放假吗") == synonyms.apply("春节放假吗") == "节假日节假日吗"


async def test_async_build_gives_the_same_decisions() -> None:
    items = read_file(ROOT / "kb" / "example.yaml")
    matcher = await build_matcher_async(items, MatcherSettings())
    assert matcher.decide("几点上课") == build_matcher(items, MatcherSettings()).decide("几点上课")
    assert await matcher.adecide("几点上课") == matcher.decide("几点上课")  # no embedder: lexical only


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="thresholds"):
        MatcherSettings(answer=0.4, suggest=0.6)
    with pytest.raises(ValueError, match="top_k"):
        MatcherSettings(top_k=0)


def test_calibration_is_monotone_and_bounded() -> None:
    values = [calibrate(x / 100) for x in range(101)]
    assert values == sorted(values)
    assert values[0] == 0 and values[-1] == 1


def test_kb_file_errors_name_the_entry() -> None:
    with pytest.raises(KbError, match="entry x: questions"):
        parse_yaml("- {id: x, questions: [], answer: a}")
    with pytest.raises(KbError, match="duplicate"):
        parse_yaml("- {id: x, questions: [q], answer: a}\n- {id: x, questions: [q], answer: a}")
    with pytest.raises(KbError, match=r"entry y: answer: .*expected non-empty text"):
        parse_yaml("- {id: y, questions: [q]}")
