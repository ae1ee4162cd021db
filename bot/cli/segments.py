"""CLI commands for audiences: `qunke segment create|list|show|preview|delete`, `rfm run|list`, `attribute import`."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from bot.cli.output import JsonFlag, local, print_json
from bot.cli.session import with_session
from bot.config.settings import load_settings
from campaigns import rfm, segments
from campaigns.segment_filter import RFM_TIERS
from campaigns.segment_sql import Moment
from services.clock import SystemClock
from services.customers import attributes
from storage.db import create_db_engine, make_sessionmaker

segment_app = typer.Typer(no_args_is_help=True, help="分群：按筛选文档定义的受众 (segments)")
rfm_app = typer.Typer(no_args_is_help=True, help="RFM 分层：最近购买、购买频次与金额，每日自动计算 (RFM tiers)")
console = Console()
FileOption = Annotated[Path | None, typer.Option("--file", "-f", help="分群文档，YAML 或 JSON (a segment document)")]


def _fail(message: str) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(1)


def _read_document(file: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise _fail(f"无法读取文件 / cannot read {file}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (第 {mark.line + 1} 行 / line {mark.line + 1})" if mark is not None else ""
        raise _fail(f"{file}{where}: 不是有效的 YAML / not valid YAML") from None
    if not isinstance(loaded, dict):
        raise _fail(f"{file}: 需要一个分群文档（name + 筛选条件）/ expected a mapping with name and a filter")
    return loaded


@segment_app.command("create")
def segment_create(file: FileOption = None, as_json: JsonFlag = False) -> None:
    """保存分群：文档含 `name:` 与筛选条件（all/any/not 或字段），见 docs/CAMPAIGNS.md (save a segment)"""
    if file is None:
        raise _fail("需要 --file 分群文档 / --file is required")
    document = _read_document(file)
    settings = load_settings()
    now = SystemClock().now()

    async def work(session: Any) -> tuple[segments.SegmentView, segments.Preview]:
        view = await segments.create_segment(session, document, now)
        return view, await segments.preview(session, segments.filter_of(document), Moment(now, settings.timezone))

    try:
        view, shown = with_session(settings, work)
    except segments.SegmentError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        print_json({**view.to_dict(), "preview": shown.to_dict()})
        return
    typer.echo(f"已创建分群「{view.name}」(#{view.id})：当前 {shown.count} 位客户")


@segment_app.command("list")
def segment_list(as_json: JsonFlag = False) -> None:
    """全部已保存的分群 (every saved segment)"""
    settings = load_settings()
    views = with_session(settings, segments.list_segments)
    if as_json:
        print_json([v.to_dict() for v in views])
        return
    table = Table("ID", "名称", "说明", "创建时间")
    for v in views:
        table.add_row(str(v.id), v.name, v.description or "-", local(v.created_at, settings.timezone))
    console.print(table)


@segment_app.command("show")
def segment_show(
    name: Annotated[str, typer.Argument(help="分群名称或 ID (the segment's name or id)")], as_json: JsonFlag = False
) -> None:
    """一个分群的筛选文档 (one segment's filter)"""
    settings = load_settings()
    try:
        view = with_session(settings, lambda s: segments.find_segment(s, name))
    except segments.SegmentError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        print_json(view.to_dict())
        return
    typer.echo(f"分群「{view.name}」(#{view.id})  {view.description}")
    typer.echo(yaml.safe_dump(view.filter, allow_unicode=True, sort_keys=False).rstrip())


@segment_app.command("preview")
def segment_preview(
    name: Annotated[str | None, typer.Argument(help="已保存分群的名称或 ID，或用 --file (a saved segment)")] = None,
    file: FileOption = None,
    sample: Annotated[int, typer.Option(help="显示多少位客户作为示例 (sample size)")] = segments.SAMPLE_SIZE,
    as_json: JsonFlag = False,
) -> None:
    """分群此刻选中的客户：总数、各负责人人数与示例 (preview the audience)"""
    if (name is None) == (file is None):
        raise _fail("请给出分群名称或 --file（二选一）/ give a segment name or --file, not both")
    settings = load_settings()
    moment = Moment(SystemClock().now(), settings.timezone)

    async def work(session: Any) -> segments.Preview:
        document = _read_document(file) if file is not None else {"filter": (await _saved(session, name)).filter}
        return await segments.preview(session, segments.filter_of(document), moment, sample)

    try:
        shown = with_session(settings, work)
    except segments.SegmentError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        print_json(shown.to_dict())
        return
    typer.echo(f"共 {shown.count} 位客户")
    for owner, count in shown.by_owner.items():
        typer.echo(f"  负责人 {shown.owner_names.get(owner, owner)}: {count}")
    for row in shown.sample:
        typer.echo(f"  #{row['id']} {row['name'] or '(无昵称)'}  负责人 {row['owner_name'] or row['owner'] or '-'}")


async def _saved(session: Any, name: str | None) -> segments.SegmentView:
    return await segments.find_segment(session, name or "")


@segment_app.command("delete")
def segment_delete(name: Annotated[str, typer.Argument(help="分群名称或 ID (the segment's name or id)")]) -> None:
    """删除已保存的分群 (delete a segment)"""
    settings = load_settings()
    try:
        view = with_session(settings, lambda s: segments.delete_segment(s, name))
    except segments.SegmentError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"已删除分群「{view.name}」(#{view.id})")


@rfm_app.command("run")
def rfm_run(as_json: JsonFlag = False) -> None:
    """立即为全部客户计算 RFM 分层；每日任务在 rfm.run_at 自动运行 (score now)"""
    settings = load_settings()

    async def run() -> rfm.RfmSummary:
        engine = create_db_engine(settings.database.url)
        try:
            return await rfm.run_rfm(make_sessionmaker(engine), SystemClock().now())
        finally:
            await engine.dispose()

    summary = asyncio.run(run())
    if as_json:
        print_json(summary.to_dict())
        return
    typer.echo(f"已分层 {summary.customers} 位客户（{summary.purchasers} 位有购买）")
    for tier, count in summary.by_tier.items():
        typer.echo(f"  {tier}: {count}")


@rfm_app.command("list")
def rfm_list(
    tier: Annotated[str | None, typer.Option(help=f"Only one tier: {', '.join(RFM_TIERS)}.")] = None,
    limit: Annotated[int, typer.Option(help="显示多少位，金额高者在前 (how many)")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """客户的 R/F/M 分数与分层，按最近一次计算 (customers by tier)"""
    if tier is not None:
        tier = tier if tier.endswith("客户") else f"{tier}客户"
        if tier not in RFM_TIERS:
            raise _fail(f"--tier: 未知分层 / unknown tier; expected one of: {', '.join(RFM_TIERS)}")
    settings = load_settings()
    rows, total = with_session(settings, lambda s: rfm.list_scores(s, tier, limit))
    if as_json:
        print_json({"total": total, "customers": [_rfm_row(r) for r in rows]})
        return
    table = Table("客户", "名称", "分层", "R", "F", "M", "最近购买(天)", "次数", "金额")
    for score, name, _owner in rows:
        table.add_row(
            str(score.customer_id),
            name or "(无昵称)",
            score.tier,
            str(score.r_score),
            str(score.f_score),
            str(score.m_score),
            "-" if score.recency_days is None else str(score.recency_days),
            str(score.frequency),
            f"¥{score.monetary_cents / 100:.2f}",
        )
    console.print(table)
    if total > len(rows):
        typer.echo(f"显示 {len(rows)} / 共 {total} 位")


def _rfm_row(row: Any) -> dict[str, Any]:
    score, name, owner = row
    return {
        "customer_id": score.customer_id,
        "name": name,
        "owner": owner,
        "tier": score.tier,
        "r_score": score.r_score,
        "f_score": score.f_score,
        "m_score": score.m_score,
        "recency_days": score.recency_days,
        "frequency": score.frequency,
        "monetary_cents": score.monetary_cents,
        "computed_at": score.computed_at,
    }


attribute_app = typer.Typer(no_args_is_help=True, help="客户属性：生日、续费日期与自定义字段 (customer attributes)")


@attribute_app.command("import")
def attribute_import(
    file: Annotated[Path, typer.Argument(help="CSV 文件，表头为 customer,<属性>,...；- 表示标准输入 (CSV file)")],
    as_json: JsonFlag = False,
) -> None:
    """导入客户属性（birthday、renewal_date 格式 YYYY-MM-DD）；任一行有错则全部不写入 (import attributes)"""
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"无法读取文件 / cannot read {file}: {exc}") from None
    settings = load_settings()
    result = with_session(settings, lambda s: attributes.import_attributes(s, text, SystemClock().now()))
    if as_json:
        print_json(result.to_dict())
    else:
        for problem in result.errors:
            typer.secho(f"第 {problem.line} 行 / line {problem.line}: {problem.message}", fg=typer.colors.RED, err=True)
        if not result.errors:
            typer.echo(f"已导入 {result.rows} 行：写入 {result.written} 个值，{result.unchanged} 个未变")
    if result.errors:
        raise typer.Exit(1)
