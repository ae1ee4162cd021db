"""CLI commands for campaigns: `qunke campaign create|list|show|pause|resume|cancel|run`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from bot.campaign_policy import campaign_policy
from bot.cli.output import JsonFlag, local, print_json
from bot.cli.session import with_session
from bot.config.settings import load_settings
from campaigns import manage
from services.clock import SystemClock

campaign_app = typer.Typer(no_args_is_help=True, help="群发与自动化：定时群发、周期群发与自动化触达 (campaigns)")
console = Console()
KIND_TEXT = {"broadcast": "单次群发", "recurring": "周期群发", "automation": "自动化"}
STATUS_TEXT = {"active": "进行中", "paused": "已暂停", "cancelled": "已取消", "finished": "已完成"}
RUN_TEXT = {"selecting": "筛选受众中", "dispatching": "待发出", "done": "已发出", "stopped": "已停止"}
SKIP_TEXT = {
    "opted_out": "已退订",
    "no_owner": "无负责人",
    "no_external_userid": "无外部联系人 ID",
    "dedupe": "当天已收到其他活动",
    "frequency_cap": "超过频次上限",
    "monthly_cap": "超过企业微信每月上限",
    "template": "模板变量缺失",
    "no_window": "不在客服会话窗口内",
}


def _fail(message: str) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(1)


def _read(file: Path) -> object:
    try:
        return yaml.safe_load(file.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise _fail(f"无法读取文件 / cannot read {file}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (第 {mark.line + 1} 行 / line {mark.line + 1})" if mark is not None else ""
        raise _fail(f"{file}{where}: 不是有效的 YAML / not valid YAML") from None


@campaign_app.command("create")
def campaign_create(
    file: Annotated[Path, typer.Option("--file", "-f", help="活动文档（YAML），见 docs/CAMPAIGNS.md (document)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只校验并预览，不保存 (validate only)")] = False,
    as_json: JsonFlag = False,
) -> None:
    """创建活动：校验文档，显示当前受众人数及三位示例客户收到的内容 (create a campaign)"""
    raw = _read(file)
    settings = load_settings()
    policy = campaign_policy(settings)
    now = SystemClock().now()
    try:
        view = with_session(settings, lambda s: manage.create_campaign(s, raw, now, policy, dry_run=dry_run))
    except manage.CampaignError as exc:
        raise _fail(f"活动文档有误 / invalid campaign document ({file}):\n{exc}") from None
    if as_json:
        print_json({**view.to_dict(), "dry_run": dry_run})
        return
    head = "预览（未保存）" if dry_run else f"已创建活动 #{view.id}"
    typer.echo(f"{head}「{view.name}」：{KIND_TEXT[view.kind]}，路径 {view.path}，当前受众 {view.audience_now} 位")
    if view.next_firing is not None:
        typer.echo(f"下次发送：{local(view.next_firing, settings.timezone)}")
    for preview in view.previews:
        typer.echo(f"  示例 #{preview['customer_id']} {preview['name'] or '(无昵称)'}：{preview['text']}")
    for warning in view.warnings:
        typer.secho(f"注意：{warning}", fg=typer.colors.YELLOW)


@campaign_app.command("list")
def campaign_list(as_json: JsonFlag = False) -> None:
    """全部活动及其状态与下次发送时间 (every campaign)"""
    settings = load_settings()
    policy = campaign_policy(settings)
    views = with_session(settings, lambda s: manage.list_campaigns(s, policy, SystemClock().now()))
    if as_json:
        print_json([v.to_dict() for v in views])
        return
    table = Table("ID", "名称", "类型", "路径", "状态", "下次发送")
    for v in views:
        table.add_row(
            str(v.id),
            v.name,
            KIND_TEXT[v.kind],
            v.path,
            STATUS_TEXT.get(v.status, v.status),
            local(v.next_firing, settings.timezone),
        )
    console.print(table)


@campaign_app.command("show")
def campaign_show(
    name: Annotated[str, typer.Argument(help="活动名称或 ID (the campaign's name or id)")], as_json: JsonFlag = False
) -> None:
    """一个活动：定义、总漏斗与每次运行的漏斗，及相对对照组的提升 (one campaign)"""
    settings = load_settings()
    policy = campaign_policy(settings)
    try:
        view = with_session(settings, lambda s: manage.show_campaign(s, name, policy, SystemClock().now()))
    except manage.CampaignError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        print_json(view.to_dict())
        return
    typer.echo(f"活动 #{view.id}「{view.name}」 {KIND_TEXT[view.kind]} · {view.path} · {STATUS_TEXT.get(view.status)}")
    if view.next_firing is not None:
        typer.echo(f"下次发送：{local(view.next_firing, settings.timezone)}")
    if view.funnel is not None:
        _print_funnel(view.funnel)
    now = SystemClock().now()
    for run in view.runs:
        waiting = ""
        if run["status"] == "dispatching" and run["dispatch_after"] > now:
            waiting = f"，免打扰时段后发出：{local(run['dispatch_after'], settings.timezone)}"
        typer.echo(
            f"  运行 {run['id']}：计划 {local(run['scheduled_for'], settings.timezone)}，"
            f"{RUN_TEXT.get(run['status'], run['status'])}，受众 {run['funnel']['audience']}"
            f"，待发 {run['funnel']['selected']}{waiting}" + (f"，错误：{run['error']}" if run["error"] else "")
        )


def _print_funnel(funnel: dict[str, Any]) -> None:
    typer.echo(
        f"受众 {funnel['audience']} · 对照组 {funnel['held_out']} · 任务中 {funnel['in_tasks']}"
        f" · 已排队 {funnel['queued']}"
        f" · 任务 {funnel['tasks_created']} 已确认 {funnel['tasks_confirmed']}"
        f" 未确认 {funnel['tasks_unconfirmed']} · 送达 {funnel['delivered']}"
        f" · 72 小时内回复 {funnel['replied']} · 转化 {funnel['converted']}"
    )
    for reason, count in funnel["skipped"].items():
        typer.echo(f"  跳过（{SKIP_TEXT.get(reason, reason)}）：{count}")
    lift = funnel["lift"]
    if lift is None:
        typer.echo("提升：样本不足，暂不计算 / not enough data for lift")
    else:
        typer.echo(
            f"提升：{lift['lift'] * 100:+.1f} 个百分点（95% 区间 {lift['low'] * 100:+.1f} ~ {lift['high'] * 100:+.1f}）"
            f"，发送组 {lift['sent_rate'] * 100:.1f}% 对照组 {lift['holdout_rate'] * 100:.1f}%"
        )


def _transition(action: str, done: str) -> Any:
    def command(name: Annotated[str, typer.Argument(help="活动名称或 ID (the campaign's name or id)")]) -> None:
        settings = load_settings()
        try:
            campaign = with_session(settings, lambda s: manage.change_status(s, name, action, SystemClock().now()))
        except manage.CampaignError as exc:
            raise _fail(str(exc)) from None
        typer.echo(f"活动「{campaign.name}」{done}")

    command.__doc__ = {
        "pause": "暂停：恢复前不会触发 (pause)",
        "resume": "恢复已暂停的活动 (resume)",
        "cancel": "永久取消；进行中的运行随之停止 (cancel)",
    }[action]
    return command


campaign_app.command("pause")(_transition("pause", "已暂停"))
campaign_app.command("resume")(_transition("resume", "已恢复"))
campaign_app.command("cancel")(_transition("cancel", "已取消"))


@campaign_app.command("run")
def campaign_run(name: Annotated[str, typer.Argument(help="活动名称或 ID (the campaign's name or id)")]) -> None:
    """立即触发活动；运行中的机器人在下一个周期发出（仍遵守免打扰时段） (fire now)"""
    settings = load_settings()
    policy = campaign_policy(settings)
    try:
        run_id = with_session(settings, lambda s: manage.run_now(s, name, SystemClock().now(), policy))
    except manage.CampaignError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"已触发运行 {run_id}；运行中的机器人会在 {settings.campaigns.tick_s:g} 秒内发出")
