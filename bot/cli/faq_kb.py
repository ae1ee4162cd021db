"""`qunke faq import|export|unanswered|promote|add-variant` and `qunke group faq-mode`: the KB as managers run it.

Each command is one transaction on the same database as `serve`; a change bumps the KB revision, which the
running bot notices before its next decision (no restart).
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.faq_pending import pending_variants, print_pending
from bot.cli.output import JsonFlag, local, print_json
from bot.cli.session import with_session
from bot.config.settings import load_settings
from services.clock import SystemClock
from services.faq import kb, unanswered
from services.faq.kb import ImportReport, KbError
from services.faq.types import KbItem
from services.faq.unanswered import GroupView
from storage.models.faq import GroupFaqMode
from storage.models.groups import Group
from storage.repos import faq as faq_repo

console = Console()
group_app = typer.Typer(no_args_is_help=True, help="客户群：知识库在每个群里怎样帮忙 (FAQ mode per customer group)")
MODE_TEXT = {
    GroupFaqMode.SUGGEST: "私下建议回复给群主",
    GroupFaqMode.GROUP_SEND_TASK: "创建群发任务由群主确认",
    GroupFaqMode.OFF: "关闭",
}


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def faq_import(
    path: Annotated[Path, typer.Argument(help="YAML 条目列表 {id, questions, answer, tags?, enabled?} (the KB file)")],
    as_json: JsonFlag = False,
) -> None:
    """导入知识库文件：新 id 新增，已有 id 按文件更新；有任何错误则全部不导入 (import a KB file)"""
    settings = load_settings()
    try:
        items = kb.parse_yaml(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        _fail(f"无法读取 {path} / cannot read {path}: {exc.strerror}")
        return
    except KbError as exc:
        _fail(str(exc))
        return

    async def work(session: AsyncSession) -> ImportReport:
        return await kb.import_items(session, items, SystemClock().now())

    report = with_session(settings, work)
    if as_json:
        print_json(report)
        return
    typer.echo(
        f"已导入 {path}：新增 {len(report.added)} 条，更新 {len(report.updated)} 条，未变 {len(report.unchanged)} 条"
        f"（知识库版本 {report.revision}）"
    )


def faq_export(
    out: Annotated[Path | None, typer.Option("--out", help="写入此文件而不是标准输出 (write to a file)")] = None,
) -> None:
    """导出整个知识库为 YAML，可再导入 (export the KB)"""
    settings = load_settings()
    text = kb.to_yaml(with_session(settings, kb.load_items))
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    typer.echo(f"已导出到 {out}", err=True)


def faq_unanswered(
    as_json: JsonFlag = False,
    show_all: Annotated[bool, typer.Option("--all", help="也显示已处理的问题组 (include closed groups)")] = False,
    pending: Annotated[
        bool, typer.Option("--pending", help="只列出客户点选菜单留下的待确认问法 (pending variants only)")
    ] = False,
) -> None:
    """机器人没把握回答的问题，按相似度分组、问得最多在前；以及客户点选菜单留下的待确认问法 (unanswered questions)"""
    settings = load_settings()
    if pending:
        variants = pending_variants(settings)
        if as_json:
            print_json(variants)
        else:
            print_pending(variants, settings.timezone)
        return
    rows = with_session(settings, lambda s: unanswered.list_groups(s, include_closed=show_all))
    if as_json:
        print_json(rows)
        return
    print_pending(pending_variants(settings), settings.timezone)
    if not rows:
        typer.echo("没有未解答的问题。")
        return
    table = Table("组", "问题（代表）", "次数", "最佳猜测", "匹配度", "状态", "最近一次")
    for g in rows:
        table.add_row(
            str(g.id),
            Text(g.label),  # customer text: never rich markup
            str(g.count),
            g.best_entry_id or "-",
            f"{g.best_score:.2f}",
            _status(g),
            local(g.last_at, settings.timezone),
        )
    console.print(table)
    console.print('用 qunke faq promote 组 --answer "答案" 把一组问题变成知识库条目。')


def _status(g: GroupView) -> str:
    names = {"open": "待处理", "promoted": "已加入知识库", "taught": "已作为问法", "dismissed": "已忽略"}
    text = names.get(g.status, g.status)
    return f"{text}（{g.entry_id}）" if g.entry_id else text


def faq_promote(
    group_id: Annotated[int, typer.Argument(help="`faq unanswered` 中的问题组编号 (the group number)")],
    answer: Annotated[str, typer.Option("--answer", help="客户将收到的答案 (the answer)")],
    entry_id: Annotated[
        str | None, typer.Option("--id", help="新条目的 id，默认 unanswered-组号 (the new entry's id)")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """把一组未解答问题变成知识库条目，无需重启即生效 (promote a group to a KB entry)"""
    settings = load_settings()

    async def work(session: AsyncSession) -> KbItem:
        return await unanswered.promote(session, group_id, answer, SystemClock().now(), entry_id=entry_id)

    try:
        item = with_session(settings, work)
    except KbError as exc:
        _fail(str(exc))
        return
    if as_json:
        print_json({"entry_id": item.id, "questions": list(item.questions), "answer": item.answer})
        return
    typer.echo(f"已创建知识库条目 {item.id}（{len(item.questions)} 个问法），无需重启即生效。")


def faq_add_variant(
    entry_id: Annotated[str, typer.Argument(help="知识库条目的 id (the KB entry's id)")],
    question: Annotated[str, typer.Argument(help="客户的另一种问法 (one more way customers ask it)")],
) -> None:
    """为条目添加问法，并关闭与之匹配的未解答问题组 (teach a variant; the running bot uses it at once)"""
    settings = load_settings()
    similarity = settings.faq.unanswered_similarity

    async def work(session: AsyncSession) -> tuple[bool, list[int]]:
        return await unanswered.teach(session, entry_id, question, SystemClock().now(), similarity=similarity)

    try:
        added, closed = with_session(settings, work)
    except KbError as exc:
        _fail(str(exc))
        return
    groups = f"；已关闭未解答问题组 {'、'.join(map(str, closed))}" if closed else ""
    if added:
        typer.echo(f"已为条目 {entry_id} 添加问法：{question}{groups}")
    else:
        typer.echo(f"条目 {entry_id} 已有这个问法，未做改动{groups}。")


@group_app.command("faq-mode")
def group_faq_mode(
    chat_id: Annotated[str, typer.Argument(help="客户群 chat_id (the customer group)")],
    mode: Annotated[GroupFaqMode, typer.Argument(help="suggest | group_send_task | off")],
) -> None:
    """设置知识库在一个客户群里的模式：私下建议群主、群发任务或关闭 (FAQ mode of one group)"""
    settings = load_settings()

    async def work(session: AsyncSession) -> bool:
        if await session.get(Group, chat_id) is None:
            return False
        await faq_repo.set_group_mode(session, chat_id, mode, getpass.getuser(), SystemClock().now())
        return True

    if not with_session(settings, work):
        _fail(f"没有 chat_id 为 {chat_id} 的客户群 / no customer group {chat_id!r}")
    typer.echo(f"客户群 {chat_id} 的 FAQ 模式：{mode.value}（{MODE_TEXT[mode]}）")
