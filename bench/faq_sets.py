"""FAQ evaluation sets side by side: ranking, spoke-and-right, in-menu, answered-and-right, silence, wrong-confident."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bot.embeddings import OpenAIEmbedder  # noqa: E402
from services.faq.evaluate import NONE, Case, CaseResult, EvalReport, evaluate, read_cases, score  # noqa: E402
from services.faq.kb import read_file  # noqa: E402
from services.faq.match_settings import MatcherSettings  # noqa: E402
from services.faq.matcher import build_matcher  # noqa: E402
from services.faq.types import Action, KbItem  # noqa: E402

DATA: Final = ROOT / "tests" / "data" / "faq"
SETS: Final = {
    "edu_ecom": (ROOT / "kb" / "example.yaml", DATA / "edu_ecom_cases.tsv"),
    "saas": (DATA / "saas_kb.yaml", DATA / "saas_cases.tsv"),
    "local_services": (DATA / "local_services_kb.yaml", DATA / "local_services_cases.tsv"),
    "fitness": (DATA / "fitness_kb.yaml", DATA / "fitness_cases.tsv"),
    "pet_shop": (DATA / "blind" / "pet_shop_kb.yaml", DATA / "blind" / "pet_shop_cases.tsv"),
    "dental_clinic": (DATA / "blind" / "dental_clinic_kb.yaml", DATA / "blind" / "dental_clinic_cases.tsv"),
    # Held out: run once, for the final figure, and change nothing after.
    "car_rental": (DATA / "blind" / "car_rental_kb.yaml", DATA / "blind" / "car_rental_cases.tsv"),
    "homestay": (DATA / "blind" / "homestay_kb.yaml", DATA / "blind" / "homestay_cases.tsv"),
}
# The second pair of blind domains (tests/data/faq/blind2/<name>_kb.yaml and <name>_cases.tsv), by file name, so that
# no one has to read them to list them: held out, run once for the final figure.
SETS.update(
    {
        kb.name.removesuffix("_kb.yaml"): (kb, kb.with_name(kb.name.replace("_kb.yaml", "_cases.tsv")))
        for blind in ("blind2", "blind3")  # blind3 (multi-clause messages): the question-clause change's figure
        for kb in sorted((DATA / blind).glob("*_kb.yaml"))
    }
)
DEFAULT: Final = ("edu_ecom", "saas", "local_services", "fitness", "pet_shop", "dental_clinic")


def row(results: tuple[CaseResult, ...]) -> dict[str, float | int]:
    """The five figures of one set (shares of in-scope cases, silence over NONE cases)."""
    scope = [r for r in results if r.case.expected != NONE]
    nones = [r for r in results if r.case.expected == NONE]
    return {
        "rank_top1": sum(r.top == r.case.expected for r in scope) / len(scope),
        "spoke_right": sum(r.correct for r in scope) / len(scope),
        # Spoke, and the expected entry is one of the candidates a "did you mean" menu lists (not only the first).
        "in_menu": sum(r.spoke and r.case.expected in {c.entry_id for c in r.decision.candidates} for r in scope)
        / len(scope),
        "answered_right": sum(r.decision.action is Action.ANSWER and r.correct for r in scope) / len(scope),
        "silence": sum(not r.spoke for r in nones) / max(len(nones), 1),
        "wrong_confident": sum(r.wrong_confident for r in results),
    }


async def evaluate_with_url(items: list[KbItem], cases: list[Case], settings: MatcherSettings, url: str) -> EvalReport:
    """Decide every case as `qunke serve` would with `faq.embedder.url` set: `adecide`, the endpoint's cosine fused."""
    async with aiohttp.ClientSession() as http:
        embedder = OpenAIEmbedder(http, url, "m3e-small", timeout_s=60.0)
        matcher = build_matcher(items, settings, embedder=embedder)
        return score([CaseResult(case, await matcher.adecide(case.query)) for case in cases])


def print_row(label: str, report: EvalReport, misses: bool) -> None:
    r = row(report.results)
    print(
        f"{label:<22}{r['rank_top1']:>7.1%}{r['spoke_right']:>7.1%}{r['in_menu']:>7.1%}{r['answered_right']:>7.1%}"
        f"{r['silence']:>7.1%}{r['wrong_confident']:>7}"
    )
    if misses:
        for c in report.results:
            if not c.correct or c.wrong_confident:
                d = c.decision
                cands = " ".join(f"{x.entry_id}:{x.confidence:.2f}" for x in d.candidates)
                print(f"   {c.case.query} | exp={c.case.expected} | {d.action.value} {d.reason} | {cands}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sets", nargs="*", default=list(DEFAULT), help=f"any of {sorted(SETS)}")
    parser.add_argument("--misses", action="store_true", help="list the in-scope misses and the NONE cases spoken")
    parser.add_argument("--embed", action="store_true", help="with the in-process embedder (the embed extra)")
    parser.add_argument("--fixed", action="store_true", help="the default knots instead of per-KB calibration")
    parser.add_argument(
        "--embed-url",
        help="also decide each set with this OpenAI-compatible /v1/embeddings endpoint (faq.embedder.url), printed "
        "under the lexical row; start the server first (e.g. bench/embed_server.py)",
    )
    args = parser.parse_args()
    if unknown := set(args.sets) - set(SETS):
        parser.error(f"unknown sets: {sorted(unknown)}")
    print(f"{'set':<22}{'rank':>7}{'spoke':>7}{'menu':>7}{'answer':>7}{'silent':>7}{'wrongC':>7}")
    for name in args.sets:
        kb, cases_file = SETS[name]
        items = read_file(kb)
        cases = read_cases(cases_file, {i.id for i in items})
        settings = MatcherSettings(local_embedder=args.embed, per_kb_calibration=not args.fixed)
        print_row(name, evaluate(build_matcher(items, settings), cases), args.misses)
        if args.embed_url:
            report = asyncio.run(evaluate_with_url(list(items), cases, settings, args.embed_url))
            print_row(f"  + {name[:16]} url", report, args.misses)


if __name__ == "__main__":
    main()
