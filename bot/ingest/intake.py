"""Intake: every channel's events enter here; messages are stored in bulk, then new ones reach the dispatcher."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.dispatch import Context, Dispatcher
from bot.events import ChatMessage, Event
from bot.ingest.page import Page
from services.conversations import recording as conversations
from services.conversations.recording import PersonRef, Said
from services.customers import contacts


def to_said(message: ChatMessage) -> Said:
    return Said(
        channel=message.channel.value,
        chat_type=message.chat_kind.value,
        chat_id=message.chat_id,
        msgid=message.msgid,
        sender_kind=message.speaker.value,
        sender_id=message.speaker_id,
        person=PersonRef.of(message.customer) if message.customer else None,
        member_userid=message.member_userid,
        msgtype=message.msgtype,
        text=message.text,
        sent_at=message.occurred_at,
        body=dict(message.body),
    )


async def take(dispatcher: Dispatcher, events: Sequence[Event], ctx: Context) -> int:
    """Store the messages among `events` in one go, then feed the dispatcher, in order, every event except
    messages that were already stored (a replayed page must not answer a question twice). Returns how many
    events a handler took."""
    said = [to_said(e) for e in events if isinstance(e, ChatMessage)]
    new = await conversations.record_many(ctx.session, said, ctx.clock.now())
    speakers = {s.member_userid for s in said if s.member_userid and s.source_key in new}
    if speakers:  # so the timeline names the rep who answered (once per member, then it is stored)
        await contacts.fetch_unknown_members(ctx.session, ctx.directory, speakers, ctx.clock.now())
    page = Page(ctx.session, [s.source_key for s in said if s.source_key in new])
    paged = replace(ctx, page=page)
    handled = 0
    for event in events:
        if isinstance(event, ChatMessage):
            if event.source_key not in new:
                continue
            await dispatcher.feed(event, paged)
            handled += 1  # stored is handled, whether or not a feature also reacted to it
        else:
            await page.flush()  # what the messages before it wrote, as if each had been stored alone
            handled += int(await dispatcher.feed(event, ctx))
            page.forget()  # a recall, a session's end or a contact change may have changed what the page loaded
    await page.flush()
    return handled
