"""Opt-out: "退订" (or "TD", "取消订阅", or "以后别给我发广告了" in words) in any channel stops campaigns to the
customer; "订阅" restores them."""

from __future__ import annotations

from bot.dispatch import Context, Router
from bot.events import ChatMessage, Speaker
from bot.ingest.page import stored_message
from services.customers import contact_prefs
from services.customers.contact_prefs import Reach

router = Router("optout")


def _customer_text(event: ChatMessage) -> bool:
    return event.speaker is Speaker.CUSTOMER and event.customer is not None and event.msgtype == "text"


@router.watch(ChatMessage, _customer_text)
async def on_customer_text(event: ChatMessage, ctx: Context) -> None:
    words = ctx.features.settings.campaigns
    preference = contact_prefs.preference_word(
        event.text, words.optout_words, words.optin_words, words.optout_sentences
    )
    if preference is None:
        return
    stored = await stored_message(ctx, event.source_key)
    if stored is None or stored.customer_id is None:
        return
    person = event.customer
    assert person is not None
    if stored.chat_type == "oa":
        reach = Reach("oa", stored.sender_id)
    elif stored.chat_type == "kf":
        reach = Reach("kf", stored.chat_id, person.external_userid)
    else:
        reach = Reach("archive", stored.chat_id)  # a group or a rep's chat: the bot cannot answer there
    await contact_prefs.set_preference(
        ctx.session, stored.customer_id, preference, ctx.clock.now(), reach, event.source_key
    )
