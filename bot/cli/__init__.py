"""The `qunke` command line: serve, demo, db, events, customer, and the sandbox's own commands."""

from __future__ import annotations

import logging
import sys
from importlib.metadata import version
from typing import Annotated

import typer

from bot.cli.width import widen_output

widen_output()  # before any rich console exists: they read COLUMNS when they are made

from bot.cli import (  # noqa: E402
    campaigns,
    churn,
    customer_tags,  # noqa: F401  registers `customer tag` on customer_app
    data,
    doctor,
    faq,
    followups,
    outbox,
    privacy,
    purchases,
    report,
    run,
    segments,
    tickets,
    users,
)
from bot.cli.faq_kb import group_app  # noqa: E402
from bot.config.base import ConfigError  # noqa: E402
from storage.db_errors import explain as explain_database_error  # noqa: E402

DATABASE_EXIT_CODE = 3  # 2 is a configuration error; 3 says the database is down, unreachable or not migrated

app = typer.Typer(
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


app.command("serve")(run.serve)
app.command("demo")(run.demo)
app.command("doctor")(doctor.doctor)
app.add_typer(run.db_app, name="db")
app.add_typer(data.events_app, name="events")
app.add_typer(data.customer_app, name="customer")  # with `customer tag` from customer_tags
_PRIVACY_COMMANDS = (privacy.customer_export, privacy.customer_erase)  # importing adds them to customer_app
app.add_typer(outbox.outbox_app, name="outbox")
app.add_typer(outbox.task_app, name="task")
app.add_typer(tickets.ticket_app, name="ticket")
app.add_typer(purchases.purchase_app, name="purchase")
app.add_typer(churn.churn_app, name="churn")
app.add_typer(report.report_app, name="report")
app.add_typer(faq.faq_app, name="faq")
app.add_typer(segments.segment_app, name="segment")
app.add_typer(segments.rfm_app, name="rfm")
app.add_typer(segments.attribute_app, name="attribute")
app.add_typer(campaigns.campaign_app, name="campaign")
app.add_typer(followups.followup_app, name="followup")
app.add_typer(group_app, name="group")
app.add_typer(users.user_app, name="user")


def _mount_sandbox() -> None:
    # The sandbox is an independent peer; the CLI only gives its commands a home under `qunke sandbox`.
    from sandbox.cli.main import app as sandbox_app

    app.add_typer(
        sandbox_app, name="sandbox", help="本地企业微信沙箱 (the local WeCom sandbox; `qunke sandbox --help`)。"
    )


_mount_sandbox()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler says "Running job ..." twice per run: our own job status and metrics say it better.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        app()
    except ConfigError as exc:
        typer.secho(f"配置错误 / configuration error:\n{exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except Exception as exc:
        # The one place every command that opens the database gets its failures explained in one line.
        message = explain_database_error(exc)
        if message is None:
            raise
        typer.secho(f"数据库不可用 / database unavailable: {message}", fg=typer.colors.RED, err=True)
        sys.exit(DATABASE_EXIT_CODE)
