"""CLI over the FAQ matcher: `faq ask` (one decision and its reasons) and `faq eval` (metrics on labelled cases)"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Final

import aiohttp
import typer
from rich.console import Console
from rich.table import Table

from bot.cli import faq_kb
from bot.cli.faq_pending import faq_confirm_variant
from bot.cli.output import JsonFlag, print_json
from bot.cli.session import with_session
from bot.config.settings import Settings, load_settings
from bot.embeddings import embedder_from_settings
from services.faq import kb
from services.faq.evaluate import NONE, CasesFileError, EvalReport, evaluate, read_cases
from services.faq.kb import KbError, read_file
from services.faq.matcher import Matcher, build_matcher_async
from services.faq.types import Action, Decision, KbItem

faq_app = typer.Typer(
    no_args_is_help=True, help="知识库问答：试问、评估、导入导出、未解答问题 (FAQ answering and the KB)。"
)
console = Console()

ACTION_TEXT: Final = {Action.ANSWER: "直接回答", Action.SUGGEST: "建议回复（由成员确认）", Action.SILENT: "不回复"}
KbOption = Annotated[
    Path | None,
    typer.Option(
        "--kb",
        exists=True,
        dir_okay=False,
        help="用这个知识库 YAML 文件代替数据库 (a KB file instead of the database)",
    ),
]


def _read_kb_or_exit(path: Path) -> list[KbItem]:
    try:
        return read_file(path)
    except KbError as exc:
        typer.secho(f"知识库文件有误 / bad KB file: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


def _items_from_database(settings: Settings) -> list[KbItem]:
    return with_session(settings, kb.load_items)


async def _ask(items: Sequence[KbItem], settings: Settings, question: str) -> tuple[Decision, Matcher]:
    async with aiohttp.ClientSession() as http:
        embedder = embedder_from_settings(http, settings.faq.embedder)
        matcher = await build_matcher_async(items, settings.faq.matcher_settings(), embedder)
        return await matcher.adecide(question), matcher


def decision_json(question: str, decision: Decision, matcher: Matcher) -> dict[str, Any]:
    """The `faq ask --json` shape."""
    return {
        "query": question,
        "action": decision.action.value,
        "confidence": decision.confidence,
        "reason": decision.reason,
        "normalized": decision.normalized,
        "candidates": [
            {
                "entry_id": c.entry_id,
                "confidence": c.confidence,
                "variant": c.variant,
                "matched_terms": list(c.matched_terms),
                "answer": item.answer if (item := matcher.item(c.entry_id)) is not None else None,
                "evidence": {
                    "question": c.question_score,
                    "answer_text": c.answer_text_score,
                    "answer_terms": list(c.answer_terms),
                    "embedder": c.embedder_score,
                    "held_below_answer": c.held_below_answer or None,
                },
            }
            for c in decision.candidates
        ],
        # Where this KB's thresholds sit on the raw score, and why (services/faq/calibration.py).
        "thresholds": {
            "answer": matcher.settings.answer,
            "suggest": matcher.settings.suggest,
            "calibration": matcher.calibration.explain(),
            "embedder": matcher.embedder_status,
        },
    }


@faq_app.command("ask")
def ask(
    question: Annotated[str, typer.Argument(help="客户的问题，例如 退货流程是啥 (the question)")],
    kb: KbOption = None,
    as_json: JsonFlag = False,
) -> None:
    """一个问题的判定：回答、建议或不答，附置信度与原因 (the matcher's decision)"""
    settings = load_settings()
    items = _read_kb_or_exit(kb) if kb is not None else _items_from_database(settings)
    decision, matcher = asyncio.run(_ask(items, settings, question))
    result = decision_json(question, decision, matcher)
    if as_json:
        print_json(result)
        return
    console.print(f"决定: [bold]{ACTION_TEXT[decision.action]}[/bold]  ({decision.action.value}, {decision.reason})")
    console.print(f"置信度: {decision.confidence:.2f}    归一化: {decision.normalized}")
    if not decision.candidates:
        return
    table = Table("条目", "置信度", "匹配的问法", "命中词")
    for c in decision.candidates:
        table.add_row(c.entry_id, f"{c.confidence:.2f}", c.variant, " ".join(c.matched_terms))
    console.print(table)
    best = result["candidates"][0]
    if decision.action is not Action.SILENT and best["answer"]:
        console.print(f"回答: {best['answer']}")


@faq_app.command("eval")
def eval_cases(
    kb: Annotated[Path, typer.Option("--kb", exists=True, dir_okay=False, help="知识库 YAML 文件 (the KB file)")],
    cases: Annotated[
        Path, typer.Option("--cases", exists=True, dir_okay=False, help="每行 问题<TAB>期望条目 (query<TAB>expected)")
    ],
    as_json: JsonFlag = False,
    show_misses: Annotated[bool, typer.Option("--misses/--no-misses", help="列出判错的用例 (list the misses)")] = True,
) -> None:
    """在标注用例上评估匹配效果，并给出最佳回答阈值 (evaluate on labelled cases)"""
    settings = load_settings()
    items = _read_kb_or_exit(kb)
    try:
        labelled = read_cases(cases, {item.id for item in items})
    except CasesFileError as exc:
        typer.secho(f"用例文件有误 / bad cases file: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    matcher = asyncio.run(build_matcher_async(items, settings.faq.matcher_settings()))
    report = evaluate(matcher, labelled)
    if as_json:
        print_json(report.summary())
        return
    _print_report(report, show_misses)


def _print_report(report: EvalReport, show_misses: bool) -> None:
    table = Table("指标 / metric", "值 / value")
    for key, value in report.summary().items():
        table.add_row(
            key, f"{value:.4f}" if isinstance(value, float) and key != "best_answer_threshold" else str(value)
        )
    console.print(table)
    misses = [r for r in report.results if not r.correct]
    if not show_misses or not misses:
        return
    wrong = Table(title="错误的用例 / misses")
    for column in ("问题", "期望", "决定", "首选", "置信度", "原因"):
        wrong.add_column(column, overflow="fold")
    for r in misses:
        wrong.add_row(
            r.case.query,
            r.case.expected,
            r.decision.action.value,
            r.top or NONE,
            f"{r.decision.confidence:.2f}",
            r.decision.reason,
        )
    console.print(wrong)


# The knowledge base as managers run it (bot/cli/faq_kb.py): import, export, unanswered, promote, add-variant.
faq_app.command("import")(faq_kb.faq_import)
faq_app.command("export")(faq_kb.faq_export)
faq_app.command("unanswered")(faq_kb.faq_unanswered)
faq_app.command("promote")(faq_kb.faq_promote)
faq_app.command("add-variant")(faq_kb.faq_add_variant)
faq_app.command("confirm-variant")(faq_confirm_variant)
