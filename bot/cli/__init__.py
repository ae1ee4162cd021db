"""The `qunke` command line: serve, demo, db, events, customer, and the sandbox's own commands."""

from __future__ import annotations

import logging
import sys

import typer

from bot.cli import churn, data, faq, outbox, privacy, purchases, report, run, tickets, users
from bot.cli.faq_kb import group_app
from bot.config import ConfigError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Qunke (群客): community CRM bot for WeCom.")
app.command("serve")(run.serve)
app.command("demo")(run.demo)
app.add_typer(run.db_app, name="db")
app.add_typer(data.events_app, name="events")
app.add_typer(data.customer_app, name="customer")
_PRIVACY_COMMANDS = (privacy.customer_export, privacy.customer_erase)  # importing adds them to customer_app
app.add_typer(outbox.outbox_app, name="outbox")
app.add_typer(outbox.task_app, name="task")
app.add_typer(tickets.ticket_app, name="ticket")
app.add_typer(purchases.purchase_app, name="purchase")
app.add_typer(churn.churn_app, name="churn")
app.add_typer(report.report_app, name="report")
app.add_typer(faq.faq_app, name="faq")
app.add_typer(group_app, name="group")
app.add_typer(users.user_app, name="user")


def _mount_sandbox() -> None:
    # The sandbox is an independent peer; the CLI only gives its commands a home under `qunke sandbox`.
    from sandbox.cli import app as sandbox_app

    app.add_typer(sandbox_app, name="sandbox", help="The local WeCom sandbox (see `qunke sandbox --help`).")


_mount_sandbox()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app()
    except ConfigError as exc:
        typer.secho(f"配置错误 / configuration error:\n{exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
