"""The new_contact welcome over real HTTP: a customer adds a rep in the sandbox, the callback carries a WelcomeCode,
and the bot sends the campaign's text for the customer's channel state through send_welcome_msg within 20 s; a
code that has expired before the sender gets to it is failed once, logged and counted, never retried."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.campaign_policy import campaign_policy
from campaigns import manage
from services.clock import SystemClock
from storage.models.outbox import Outbox, OutboxKind, OutboxStatus
from tests.integration.test_faq import eventually
from tests.support.stack import Stack, bot_settings, running_stack

CAMPAIGN = {
    "name": "新好友欢迎",
    "kind": "automation",
    "trigger": {"event": "new_contact"},
    "path": "welcome",
    "message": "您好，我是{{ owner_name }}～",
    "state_messages": {"qr_store_01": "{{ name }}您好，欢迎到店扫码的朋友！"},
}


async def _start(stack: Stack) -> str:
    """Create the campaign and have 糖糖 (no rep yet) scan 张三's store QR code; returns her external_userid."""
    policy = campaign_policy(bot_settings(stack.database_url, stack.sandbox_url))
    async with stack.sessions() as session, session.begin():
        await manage.create_campaign(session, CAMPAIGN, SystemClock().now(), policy)
    state = await stack.sandbox_state()
    candy = next(c["external_userid"] for c in state["customers"] if c["name"] == "糖糖🍬")
    await stack.act("add-contact", customer=candy, member="zhangsan", state="qr_store_01")
    return str(candy)


async def test_new_contact_gets_the_welcome_for_their_channel_when_they_add_a_rep(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        candy = await _start(stack)

        async def welcomed() -> list[dict[str, Any]]:
            log = await stack.sandbox_log()
            return [e for e in log if e["kind"] == "welcome_message" and e["external_userid"] == candy]

        (entry,) = await eventually(welcomed, timeout=20)
        assert entry["content"] == "糖糖🍬您好，欢迎到店扫码的朋友！" and entry["userid"] == "zhangsan"


@pytest.fixture
async def slow_sender(database_url: str) -> AsyncIterator[Stack]:
    """A sender whose safety margin exceeds the code's 20 s: every welcome code looks expired when claimed."""
    base = bot_settings(database_url, "http://unused")
    sender = base.sender.model_copy(update={"window_margin_s": 25.0})
    async with running_stack(database_url, settings_update={"sender": sender}) as stack:
        yield stack


async def test_expired_welcome_code_is_failed_once_and_counted_when_the_sender_is_too_late(slow_sender: Stack) -> None:
    await _start(slow_sender)

    async def failed() -> Outbox | None:
        async with slow_sender.sessions() as session:
            row = await session.scalar(select(Outbox).where(Outbox.kind == OutboxKind.WELCOME_MESSAGE))
            return row if row is not None and row.status == OutboxStatus.FAILED else None

    row = await eventually(failed, timeout=20)
    assert row.reason.startswith("welcome_code_expired") and row.attempts <= 1, (row.reason, row.attempts)
    assert not [e for e in await slow_sender.sandbox_log() if e["kind"] == "welcome_message"]
    async with slow_sender.http.get(f"{slow_sender.bot_url}/metrics") as resp:
        metrics = await resp.text()
    assert 'qunke_outbox_finished_total{kind="welcome_message",status="failed"} 1.0' in metrics
