"""Evaluate a matcher on labelled cases (`query<TAB>expected`, expected an entry id or NONE) — DESIGN.md §5.

Definitions (fractions 0..1; a case "speaks" when the decision is ANSWER or SUGGEST, and is silent otherwise):
- in_scope_top1: over cases whose expected is an entry, the share that speak AND whose top candidate is that entry.
- silence_recall: over NONE cases, the share that stayed silent.
- silence_precision: over silent decisions, the share whose expected was NONE (1.0 when nothing was silent).
- accuracy: over all cases, the share that are right: NONE and silent, or an entry and spoke with that entry on top.
- wrong_confident_answers: ANSWER decisions (at or above the answer threshold) whose top entry is not the expected
  one, NONE cases included: the bot would have told a customer something wrong.
- best_answer_threshold / best_accuracy: if the bot answered at or above t and stayed silent below it (no
  suggestions), the t in 0.00..1.00 (the middle of the widest best range) that maximises that accuracy, and it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from services.faq.matcher import Matcher
from services.faq.types import Action, Decision

NONE: Final = "NONE"


class CasesFileError(ValueError):
    """A cases file line that is not `query<TAB>expected`."""


@dataclass(frozen=True, slots=True)
class Case:
    query: str
    expected: str  # an entry id, or NONE: stay silent (or hand off)


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: Case
    decision: Decision

    @property
    def top(self) -> str | None:
        best = self.decision.best
        return best.entry_id if best is not None else None

    @property
    def spoke(self) -> bool:
        return self.decision.action is not Action.SILENT

    @property
    def correct(self) -> bool:
        if self.case.expected == NONE:
            return not self.spoke
        return self.spoke and self.top == self.case.expected

    @property
    def wrong_confident(self) -> bool:
        return self.decision.action is Action.ANSWER and self.top != self.case.expected


@dataclass(frozen=True, slots=True)
class EvalReport:
    cases: int
    in_scope_top1: float
    silence_precision: float
    silence_recall: float
    accuracy: float
    wrong_confident_answers: int
    best_answer_threshold: float
    best_accuracy: float
    results: tuple[CaseResult, ...] = ()

    def summary(self) -> dict[str, float | int]:
        """The JSON `qunke faq eval --json` prints."""
        return {
            "cases": self.cases,
            "in_scope_top1": round(self.in_scope_top1, 4),
            "silence_precision": round(self.silence_precision, 4),
            "silence_recall": round(self.silence_recall, 4),
            "accuracy": round(self.accuracy, 4),
            "wrong_confident_answers": self.wrong_confident_answers,
            "best_answer_threshold": self.best_answer_threshold,
            "best_accuracy": round(self.best_accuracy, 4),
        }


HEADER: Final = ("query", "expected")


def parse_cases(text: str, where: str = "cases", known_ids: Collection[str] | None = None) -> list[Case]:
    """`query<TAB>expected` lines; blank lines, lines starting with # and a `query<TAB>expected` header are skipped.

    With `known_ids`, an expected id that is not in the KB is refused with its line number (every such line)."""
    cases: list[Case] = []
    unknown: list[str] = []
    for n, line in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        query, sep, expected = line.rpartition("\t")
        if not sep or not query.strip() or not expected.strip():
            raise CasesFileError(f"{where}:{n}: expected query<TAB>expected (an entry id or NONE)")
        if not cases and (query.strip().lower(), expected.strip().lower()) == HEADER:
            continue  # people write the column names first
        if known_ids is not None and expected.strip() not in known_ids and expected.strip() != NONE:
            unknown.append(f"{where}:{n}: expected id {expected.strip()!r} is not in the KB")
        cases.append(Case(query.strip(), expected.strip()))
    if unknown:
        raise CasesFileError("\n".join(unknown))
    return cases


def read_cases(path: Path, known_ids: Collection[str] | None = None) -> list[Case]:
    return parse_cases(path.read_text(encoding="utf-8"), str(path), known_ids)


def _share(part: int, whole: int, empty: float) -> float:
    return part / whole if whole else empty


def score(results: Sequence[CaseResult]) -> EvalReport:
    """The metrics of already-decided cases (see the module docstring for the definitions)."""
    in_scope = [r for r in results if r.case.expected != NONE]
    nones = [r for r in results if r.case.expected == NONE]
    silent = [r for r in results if not r.spoke]
    threshold, best = best_answer_threshold(results)
    return EvalReport(
        cases=len(results),
        in_scope_top1=_share(sum(r.correct for r in in_scope), len(in_scope), 1.0),
        silence_precision=_share(sum(r.case.expected == NONE for r in silent), len(silent), 1.0),
        silence_recall=_share(sum(not r.spoke for r in nones), len(nones), 1.0),
        accuracy=_share(sum(r.correct for r in results), len(results), 1.0),
        wrong_confident_answers=sum(r.wrong_confident for r in results),
        best_answer_threshold=threshold,
        best_accuracy=best,
        results=tuple(results),
    )


def _accuracy_at(results: Sequence[CaseResult], threshold: float) -> float:
    right = 0
    for r in results:
        answers = r.top is not None and r.decision.reason not in ("chitchat", "not_question")
        answers = answers and r.decision.confidence >= threshold
        right += (r.top == r.case.expected) if answers else (r.case.expected == NONE)
    return _share(right, len(results), 1.0)


def best_answer_threshold(results: Sequence[CaseResult]) -> tuple[float, float]:
    """The answer-only threshold that maximises accuracy: the middle of the widest run of best grid points."""
    grid = [i / 100 for i in range(101)]
    accuracies = [_accuracy_at(results, t) for t in grid]
    best = max(accuracies)
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, acc in enumerate([*accuracies, -1.0]):
        if acc == best and start is None:
            start = i
        elif acc != best and start is not None:
            runs.append((start, i - 1))
            start = None
    first, last = max(runs, key=lambda run: run[1] - run[0])
    return grid[(first + last) // 2], best


def evaluate(matcher: Matcher, cases: Sequence[Case]) -> EvalReport:
    """Decide every case with `matcher` (synchronously, lexical only) and score the results."""
    return score([CaseResult(case, matcher.decide(case.query)) for case in cases])
