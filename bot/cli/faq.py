"""`qunke faq ...`: the FAQ sub-app (the KB commands live in bot/cli/faq_kb.py)."""

from __future__ import annotations

import typer

from bot.cli import faq_kb

faq_app = typer.Typer(no_args_is_help=True, help="FAQ: the knowledge base, its answers and what it could not answer.")
faq_app.command("import")(faq_kb.faq_import)
faq_app.command("export")(faq_kb.faq_export)
faq_app.command("unanswered")(faq_kb.faq_unanswered)
faq_app.command("promote")(faq_kb.faq_promote)
faq_app.command("add-variant")(faq_kb.faq_add_variant)
