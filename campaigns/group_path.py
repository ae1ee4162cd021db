"""The mass_group path: the customer groups the selected customers are in, one `add_msg_template` chat_type=group
task per group owner (WeCom sends a group mass message as the group's owner, to the groups they own).

A group message reaches everyone in the group, so the per-customer guards decide which groups are chosen (a group
is chosen when at least one of its customers passed them), not who reads it; a customer in none of the chosen
owners' groups is skipped as `no_group`. The text is one for all (a personal template is refused at creation).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.outbox.mass_queue import MAX_GROUP_TARGETS, queue_mass_task
from services.outbox.messages import MassContent
from storage.models.campaigns import Campaign, CampaignRun, CampaignSend, SendOutcome
from storage.models.customers import Member
from storage.models.groups import Group, GroupMember, GroupStatus
from storage.models.outbox import Priority
from storage.repos import campaigns as rows

NO_GROUP: Final = "no_group"


async def dispatch_groups(
    sessions: async_sessionmaker[AsyncSession], run: CampaignRun, campaign: Campaign, now: datetime
) -> None:
    """Every chosen group of the run in one transaction: tasks per owner and every send marked, or nothing."""
    async with sessions() as session, session.begin():
        fresh = await session.get(Campaign, campaign.id)
        if fresh is None or fresh.status != "active":
            return
        sends = await _selected(session, run.id)
        if not sends:
            return
        groups = await _groups_of(session, list(sends))
        text = next(iter(sends.values())).text
        task_of_group: dict[str, int] = {}
        for owner, chat_ids in sorted(_by_owner(groups).items()):
            for start in range(0, len(chat_ids), MAX_GROUP_TARGETS):
                part = chat_ids[start : start + MAX_GROUP_TARGETS]
                task_id = await queue_mass_task(
                    session,
                    now,
                    sender=owner,
                    chat_type="group",
                    targets=part,
                    content=MassContent(text),
                    key=f"campaign:{run.id}:group:{owner}:{start}",
                    priority=Priority.LOW,
                )
                task_of_group |= dict.fromkeys(part, task_id)
        await _mark(session, sends, groups, task_of_group)


async def _selected(session: AsyncSession, run_id: int) -> dict[int, CampaignSend]:
    found = await session.scalars(
        select(CampaignSend).where(CampaignSend.run_id == run_id, CampaignSend.outcome == SendOutcome.SELECTED)
    )
    return {send.customer_id: send for send in found}


async def _groups_of(session: AsyncSession, customer_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Each customer's live groups owned by a rep Qunke knows: (chat_id, owner) pairs."""
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for start in range(0, len(customer_ids), 1000):
        rows_ = await session.execute(
            select(GroupMember.customer_id, Group.chat_id, Group.owner_userid)
            .join(Group, Group.chat_id == GroupMember.chat_id)
            .join(Member, Member.userid == Group.owner_userid)
            .where(
                GroupMember.customer_id.in_(customer_ids[start : start + 1000]), GroupMember.customer_id.is_not(None)
            )
            .where(Group.status == GroupStatus.ACTIVE)
            .order_by(Group.chat_id)
        )
        for customer_id, chat_id, owner in rows_:
            if customer_id is not None:
                found[int(customer_id)].append((str(chat_id), str(owner)))
    return found


def _by_owner(groups: dict[int, list[tuple[str, str]]]) -> dict[str, list[str]]:
    owners: dict[str, set[str]] = defaultdict(set)
    for pairs in groups.values():
        for chat_id, owner in pairs:
            owners[owner].add(chat_id)
    return {owner: sorted(chat_ids) for owner, chat_ids in owners.items()}


async def _mark(
    session: AsyncSession,
    sends: dict[int, CampaignSend],
    groups: dict[int, list[tuple[str, str]]],
    task_of_group: dict[str, int],
) -> None:
    by_task: dict[int, list[int]] = defaultdict(list)
    alone: list[int] = []
    for customer_id, send in sends.items():
        pairs = groups.get(customer_id)
        if pairs:
            by_task[task_of_group[pairs[0][0]]].append(send.id)
        else:
            alone.append(send.id)
    for task_id, send_ids in by_task.items():
        await rows.mark_sends(session, send_ids, outcome=SendOutcome.TASK, mass_task_id=task_id)
    await rows.mark_sends(session, alone, outcome=SendOutcome.SKIPPED, reason=NO_GROUP)
