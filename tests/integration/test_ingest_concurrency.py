"""Several ingest claim loops in one process (ingest.concurrency, PostgreSQL): every event processed exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import select

from storage.models.inbox import InboxStatus
from storage.models.messages import Message
from tests.support.stack import Stack, running_stack


async def _kf_customer_messages(stack: Stack) -> Counter[str]:
    async with stack.sessions() as session:
        rows = await session.execute(
            select(Message.text).where(Message.chat_type == "kf", Message.sender_kind == "customer")
        )
        return Counter(text for (text,) in rows)


async def test_every_event_is_processed_once_when_four_claim_loops_share_the_inbox(database_url: str) -> None:
    async with running_stack(database_url, concurrency=4) as stack:
        state = await stack.sandbox_state()
        customers = [c["external_userid"] for c in state["customers"]][:6]
        groups = [g["chat_id"] for g in state["groups"]]
        said = [f"第{i}问：在吗" for i in range(30)]
        # All at once, so the loops claim side by side: pulls of one kf account and re-reads of one group overlap.
        acts = [stack.act("kf-say", customer=customers[i % len(customers)], text=text) for i, text in enumerate(said)]
        acts += [stack.act("rename-group", group=groups[i % len(groups)], name=f"改名{i}") for i in range(6)]
        await asyncio.gather(*acts)
        await stack.settle(timeout=90)
        await asyncio.sleep(0.5)  # a pull triggered by the last callback may still be committing its page
        await stack.settle(timeout=30)

        stored = await _kf_customer_messages(stack)
        assert all(stored[text] == 1 for text in said), stored
        events = await stack.inbound()
        assert events and all(e.status == InboxStatus.DONE for e in events), Counter(e.status for e in events)
        assert len({e.dedupe_key for e in events}) == len(events)
        assert all(e.attempts == 0 for e in events), [(e.kind, e.last_error) for e in events if e.attempts]
