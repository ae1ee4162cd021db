"""Waiting customers: every stored chat message may open a wait (a question) or answer waits (a member's reply)."""

from __future__ import annotations

from bot.dispatch import Context, Router
from bot.events import ChatMessage, Speaker
from bot.ingest.page import stored_message
from services.service import waits
from services.text.intent import needs_answer

router = Router("service")


@router.watch(ChatMessage)
async def on_chat_message(event: ChatMessage, ctx: Context) -> None:
    # Most traffic is chit-chat and bots: decided from the event alone, without a query.
    if event.speaker is Speaker.CUSTOMER and not needs_answer(event.text):
        return
    if event.speaker not in (Speaker.CUSTOMER, Speaker.MEMBER):
        return
    # Intake stored the message before any handler runs; the stored row has the resolved customer.
    stored = await stored_message(ctx, event.source_key)
    if stored is not None:
        batch = ctx.page.batch(waits.WaitBatch) if ctx.page is not None else None  # one INSERT per page
        await waits.note_message(ctx.session, stored, ctx.features.policies.service, ctx.page, batch)
