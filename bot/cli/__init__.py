"""The `qunke` command line: serve, demo, db, events, customer, and the sandbox's own commands."""

from __future__ import annotations

import logging
import sys
from importlib.metadata import version
from typing import Annotated

import typer

from bot.cli import chinese
from bot.cli.lazy import LazyCommand, LazyGroup
from bot.cli.width import widen_output

widen_output()  # before any rich console exists: they read COLUMNS when they are made
chinese.install()  # usage errors and panel titles in Chinese, like the rest of the CLI

DATABASE_EXIT_CODE = 3  # 2 is a configuration error; 3 says the database is down, unreachable or not migrated

# Each command's module is imported only when that command runs (the app, SQLAlchemy and the services take seconds
# to import); the help here is what `qunke --help` lists, the same words as the command's own.
COMMANDS: dict[str, LazyCommand] = {
    "serve": LazyCommand("bot.cli.run", "serve", "运行机器人：回调、收件与全部后台任务 (run the bot)"),
    "demo": LazyCommand(
        "bot.cli.run",
        "demo",
        "演示：在 SQLite 上同时启动沙箱和机器人，Ctrl-C 停止两者 (sandbox + bot with the seeded demo corp)",
    ),
    "doctor": LazyCommand(
        "bot.cli.doctor",
        "doctor",
        "检查部署：配置、数据库、企业微信凭据、回调地址、会话存档密钥、节假日数据、调度器 (check this deployment)",
    ),
    "db": LazyCommand("bot.cli.run", "db_app", "数据库结构 (database schema)"),
    "events": LazyCommand("bot.cli.events", "events_app", "收到的回调事件 (inbound callbacks in the inbox)"),
    "customer": LazyCommand(
        "bot.cli.customers",
        "customer_app",
        "客户与客户时间线 (customers and their timelines)",
        # `customer tag`, `customer export|erase`, `customer search`
        also=("bot.cli.customer_tags", "bot.cli.privacy", "bot.cli.customer_search"),
    ),
    "outbox": LazyCommand("bot.cli.outbox", "outbox_app", "机器人要发和已发的消息 (everything the bot sends)"),
    "task": LazyCommand("bot.cli.outbox", "task_app", "企业群发任务：漏斗、提醒与取消 (mass tasks)"),
    "ticket": LazyCommand("bot.cli.tickets", "ticket_app", "工单 T<id>：开单、列表、查看、认领、解决 (tickets)"),
    "purchase": LazyCommand("bot.cli.purchases", "purchase_app", "购买记录：录入、导入 CSV、列表 (purchases)"),
    "churn": LazyCommand(
        "bot.cli.churn", "churn_app", "流失预警：立即评分、列出有流失风险的客户 (churn early warning)"
    ),
    "report": LazyCommand("bot.cli.report", "report_app", "给管理者的报表 (reports for managers)"),
    "faq": LazyCommand(
        "bot.cli.faq", "faq_app", "知识库问答：试问、评估、导入导出、未解答问题 (FAQ answering and the KB)。"
    ),
    "segment": LazyCommand("bot.cli.segments", "segment_app", "分群：按筛选文档定义的受众 (segments)"),
    "rfm": LazyCommand("bot.cli.segments", "rfm_app", "RFM 分层：最近购买、购买频次与金额，每日自动计算 (RFM tiers)"),
    "attribute": LazyCommand(
        "bot.cli.segments", "attribute_app", "客户属性：生日、续费日期与自定义字段 (customer attributes)"
    ),
    "campaign": LazyCommand(
        "bot.cli.campaigns", "campaign_app", "群发与自动化：定时群发、周期群发与自动化触达 (campaigns)"
    ),
    "followup": LazyCommand("bot.cli.followups", "followup_app", "跟进提醒：提醒客服跟进客户 (follow-ups)"),
    "group": LazyCommand(
        "bot.cli.faq_kb", "group_app", "客户群：知识库在每个群里怎样帮忙 (FAQ mode per customer group)"
    ),
    "user": LazyCommand("bot.cli.users", "user_app", "控制台账号：管理员、经理、客服 (console accounts)"),
    # The sandbox is an independent peer; the CLI only gives its commands a home under `qunke sandbox`.
    "sandbox": LazyCommand(
        "sandbox.cli.main", "app", "本地企业微信沙箱 (the local WeCom sandbox; `qunke sandbox --help`)。"
    ),
}


class QunkeGroup(LazyGroup):
    lazy = COMMANDS


app = typer.Typer(
    cls=QunkeGroup,
    no_args_is_help=True,
    add_completion=False,
    help="群客 Qunke：企业微信社群 CRM 机器人 (community CRM bot for WeCom)。",
    context_settings={"max_content_width": 120},
)


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"qunke {version('qunke')}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="显示版本 (show the version)")
    ] = False,
) -> None:
    """群客 Qunke：企业微信社群 CRM 机器人 (community CRM bot for WeCom)"""


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler says "Running job ..." twice per run: our own job status and metrics say it better.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Alembic lists its plugins at import; commands now import it after logging is set up, so that would show.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    try:
        app()
    except Exception as exc:
        # Imported here, not at the top: only a command that failed needs them (and has loaded them already).
        from bot.config.settings import ConfigError
        from storage.db_errors import explain as explain_database_error

        if isinstance(exc, ConfigError):
            typer.secho(f"配置错误 / configuration error:\n{exc}", fg=typer.colors.RED, err=True)
            sys.exit(2)
        # The one place every command that opens the database gets its failures explained in one line.
        message = explain_database_error(exc)
        if message is None:
            raise
        typer.secho(f"数据库不可用 / database unavailable: {message}", fg=typer.colors.RED, err=True)
        sys.exit(DATABASE_EXIT_CODE)
