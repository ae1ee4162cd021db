"""Evaluation: metric arithmetic on a hand-made set, the cases format, the CLI's JSON, and the shipped eval sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from services.faq.evaluate import (
    Case,
    CaseResult,
    CasesFileError,
    EvalReport,
    best_answer_threshold,
    evaluate,
    parse_cases,
    read_cases,
    score,
)
from services.faq.kb import read_file
from services.faq.match_settings import MatcherSettings
from services.faq.matcher import build_matcher
from services.faq.types import Action, Candidate, Decision

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "faq"


def _result(expected: str, action: Action, top: str | None, confidence: float, reason: str = "x") -> CaseResult:
    candidates = (Candidate(top, confidence, "variant"),) if top else ()
    return CaseResult(Case("q", expected), Decision(action, confidence, reason, candidates))


def test_metric_arithmetic_on_a_hand_made_set() -> None:
    results = [
        _result("a", Action.ANSWER, "a", 0.9),  # right answer
        _result("b", Action.SUGGEST, "b", 0.6),  # right suggestion: counts for top-1
        _result("c", Action.ANSWER, "d", 0.8),  # wrong confident answer
        _result("e", Action.SILENT, "e", 0.3, "low_score"),  # silent on an in-scope question: a miss
        _result("NONE", Action.SILENT, None, 0.0, "chitchat"),  # right silence
        _result("NONE", Action.SILENT, "a", 0.2, "low_score"),  # right silence
        _result("NONE", Action.ANSWER, "a", 0.75),  # wrong confident answer on a NONE case
        _result("NONE", Action.SUGGEST, "b", 0.55),  # spoke on a NONE case
    ]
    report = score(results)
    assert report.cases == 8
    assert report.in_scope_top1 == pytest.approx(2 / 4)
    assert report.silence_recall == pytest.approx(2 / 4)
    assert report.silence_precision == pytest.approx(2 / 3)  # 3 silent decisions, 2 of them NONE
    assert report.accuracy == pytest.approx(4 / 8)
    assert report.wrong_confident_answers == 2
    # Answer-only at t (suggestions count as silence): the same grid, by brute force.
    expected = max(
        sum(
            (r.top == r.case.expected)
            if (r.top and r.decision.reason != "chitchat" and r.decision.confidence >= t / 100)
            else r.case.expected == "NONE"
            for r in results
        )
        for t in range(101)
    )
    assert report.best_accuracy == pytest.approx(expected / 8)
    threshold, best = best_answer_threshold(results)
    assert best == report.best_accuracy and threshold == report.best_answer_threshold


def test_best_threshold_sits_in_the_middle_of_the_best_range() -> None:
    results = [_result("a", Action.ANSWER, "a", 0.8), _result("NONE", Action.SUGGEST, "a", 0.4)]
    threshold, best = best_answer_threshold(results)
    assert best == 1.0
    assert 0.4 < threshold <= 0.8 and threshold == pytest.approx(0.6, abs=0.01)


def test_empty_groups_do_not_divide_by_zero() -> None:
    report = score([_result("NONE", Action.SILENT, None, 0.0, "chitchat")])
    assert report.in_scope_top1 == 1.0 and report.silence_recall == 1.0 and report.accuracy == 1.0


def test_cases_format() -> None:
    cases = parse_cases("# comment\n退货流程是啥\treturn_policy\n\n好的\tNONE\n")
    assert cases == [Case("退货流程是啥", "return_policy"), Case("好的", "NONE")]
    with pytest.raises(CasesFileError, match=":2:"):
        parse_cases("ok\tNONE\nno tab here\n")


def test_eval_cli_prints_exactly_the_documented_json() -> None:
    runner = CliRunner()
    kb, cases = DATA / "saas_kb.yaml", DATA / "saas_cases.tsv"
    result = runner.invoke(app, ["faq", "eval", "--kb", str(kb), "--cases", str(cases), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert set(body) == {
        "cases",
        "in_scope_top1",
        "silence_precision",
        "silence_recall",
        "accuracy",
        "wrong_confident_answers",
        "best_answer_threshold",
        "best_accuracy",
    }
    assert body["cases"] == len(read_cases(cases))


def test_ask_cli_explains_its_decision() -> None:
    runner = CliRunner()
    kb = ROOT / "kb" / "example.yaml"
    result = runner.invoke(app, ["faq", "ask", "录播在哪看", "--kb", str(kb), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["action"] == "answer" and body["reason"] == "confident"
    best = body["candidates"][0]
    assert best["entry_id"] == "class_replay" and "回放" in best["matched_terms"] and best["answer"]


SETS = {
    "edu_ecom": (ROOT / "kb" / "example.yaml", DATA / "edu_ecom_cases.tsv"),
    "saas": (DATA / "saas_kb.yaml", DATA / "saas_cases.tsv"),
    "local_services": (DATA / "local_services_kb.yaml", DATA / "local_services_cases.tsv"),
    "fitness": (DATA / "fitness_kb.yaml", DATA / "fitness_cases.tsv"),
}


def _report(name: str) -> EvalReport:
    kb, cases = SETS[name]
    return evaluate(build_matcher(read_file(kb), MatcherSettings()), read_cases(cases))


def test_shipped_eval_sets_are_big_enough_and_consistent() -> None:
    total = nones = 0
    for name, (kb, cases_path) in SETS.items():
        ids = {item.id for item in read_file(kb)}
        cases = read_cases(cases_path)
        assert all(c.expected in ids or c.expected == "NONE" for c in cases), name
        total += len(cases)
        nones += sum(c.expected == "NONE" for c in cases)
    assert total >= 150 and nones >= 40
    # The held-out domain alone: >= 90 cases, >= 25 of them must stay silent.
    held_out = read_cases(SETS["fitness"][1])
    assert len(held_out) >= 90 and sum(c.expected == "NONE" for c in held_out) >= 25


@pytest.mark.parametrize("name", ["edu_ecom", "saas", "local_services"])
def test_tuning_sets_meet_the_targets(name: str) -> None:
    """edu_ecom (kb/example.yaml), saas (since faq-tune) and local_services (since faq-tune2) are tuning sets."""
    report = _report(name)
    assert report.in_scope_top1 >= 0.95
    assert report.silence_recall >= 0.90
    assert report.wrong_confident_answers == 0


def test_held_out_set_stays_at_its_measured_level() -> None:
    """fitness was written and committed before faq-tune2 changed the matcher and never tuned on. Its in-scope top-1
    does NOT meet the issue's 95 % target (measured 0.853, see docs/FAQ.md): this floor guards the measured level so
    a change that makes it worse is noticed. Its silence target is met and asserted as the target."""
    report = _report("fitness")
    assert report.in_scope_top1 >= 0.85
    assert report.silence_recall >= 0.90
    assert report.wrong_confident_answers == 0


def test_cases_header_is_skipped_and_unknown_ids_are_refused_with_their_lines() -> None:
    text = "query\texpected\n发票怎么开\tinvoice\n在吗\tNONE\n退货\treturns\n换货\texchange\n"
    assert [c.query for c in parse_cases(text, "c.tsv", {"invoice", "returns", "exchange"})] == [
        "发票怎么开",
        "在吗",
        "退货",
        "换货",
    ]
    with pytest.raises(CasesFileError) as refused:
        parse_cases(text, "c.tsv", {"invoice"})
    assert str(refused.value) == (
        "c.tsv:4: expected id 'returns' is not in the KB\nc.tsv:5: expected id 'exchange' is not in the KB"
    )
