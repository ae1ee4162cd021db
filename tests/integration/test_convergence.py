"""Late, duplicated and reordered customer-contact events still converge on the sandbox's state."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

from sqlalchemy import select

from sandbox.config import SandboxConfig
from storage.models.customers import CustomerEvent
from storage.models.groups import GroupMember
from tests.support.stack import Stack, running_stack

CHAOS = SandboxConfig(
    duplicate_rate=0.5, late_rate=1.0, late_max_s=1.5, retry_interval_s=0.2, callback_timeout_s=2, seed=7
)


async def _bot_groups(stack: Stack) -> dict[str, set[str]]:
    async with stack.sessions() as session:
        rows = (await session.execute(select(GroupMember.chat_id, GroupMember.member_id))).all()
    found: dict[str, set[str]] = {}
    for chat_id, member_id in rows:
        found.setdefault(chat_id, set()).add(member_id)
    return found


def _sandbox_groups(state: dict[str, Any]) -> dict[str, set[str]]:
    return {g["chat_id"]: {m["userid"] for m in g["member_list"]} for g in state["groups"] if g["member_list"]}


async def test_group_membership_converges_when_events_arrive_late_duplicated_and_out_of_order(
    database_url: str,
) -> None:
    async with running_stack(database_url, CHAOS, sync_groups_on_start=True) as stack:
        state = await stack.sandbox_state()
        await stack.wait_for_groups(len(state["groups"]))
        customers = [c["external_userid"] for c in state["customers"]]
        chats = [g["chat_id"] for g in state["groups"]]
        rng = random.Random(11)
        moves = 0
        for _ in range(40):
            current = _sandbox_groups(await stack.sandbox_state())
            chat, customer = rng.choice(chats), rng.choice(customers)
            if customer in current.get(chat, set()):
                await stack.act("leave-group", customer=customer, group=chat, removed=rng.random() < 0.3)
            else:
                await stack.act("join-group", customer=customer, group=chat, scene=rng.choice(["qr", "invite"]))
            moves += 1
            await asyncio.sleep(rng.uniform(0, 0.05))
        await stack.settle(timeout=40)

        assert moves == 40
        assert await _bot_groups(stack) == _sandbox_groups(await stack.sandbox_state())


async def test_join_leave_rejoin_gives_three_entries_when_every_event_is_duplicated_and_held_back(
    database_url: str,
) -> None:
    reverse = SandboxConfig(duplicate_rate=1.0, late_rate=0.0, retry_interval_s=0.2, callback_timeout_s=2)
    async with running_stack(database_url, reverse) as stack:
        state = await stack.sandbox_state()
        group = state["groups"][1]
        inside = {m["userid"] for m in group["member_list"]}
        customer = next(c["external_userid"] for c in state["customers"] if c["external_userid"] not in inside)
        # Hold every event back, the earliest the longest, so they tend to arrive out of order.
        for i, action in enumerate(("join-group", "leave-group", "join-group")):
            await stack.chaos(late_rate=1.0, late_max_s=0.5 + 2.0 * (2 - i) / 2)
            await stack.act(action, customer=customer, group=group["chat_id"])
            await asyncio.sleep(1.1)  # a new second: WeCom's join_time has one-second resolution
        await stack.settle(timeout=30)

        async with stack.sessions() as session:
            kinds = Counter((await session.execute(select(CustomerEvent.kind))).scalars())
        assert kinds == Counter({"joined_group": 2, "left_group": 1})
        assert customer in (await _bot_groups(stack))[group["chat_id"]]
