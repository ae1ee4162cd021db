"""Per-path dispatch of a run's selected sends: mass_single tasks, kf replies, oa templates, follow-ups, reminders.

A send turns into a task or an outbox row in the same transaction that marks it (the outbox key is derived from the
run and the send), so a crash never sends a customer twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import facts as facts_of
from campaigns.document import REP_PATHS, CampaignDocument
from campaigns.mass_single import dispatch_same_text
from campaigns.oa_path import as_oa_templates
from campaigns.policy import CampaignPolicy
from campaigns.templates import is_personal
from services.outbox.mass_queue import queue_mass_task
from services.outbox.messages import MassContent, Text
from services.outbox.queue import queue_app_message, queue_kf_reply
from services.service.followups import FollowupError, add_followup
from storage.models.campaigns import Campaign, CampaignRun, CampaignSend, CampaignStatus, SendOutcome
from storage.models.outbox import Priority
from storage.repos import campaigns as rows

KF_WINDOW = timedelta(hours=48)
KF_QUOTA = 5
REMINDER_LINES = 30  # customers named in one member reminder; the rest are counted
TASKS_PER_CHUNK = 50  # personal texts turned into tasks in one transaction: short, so the sender still gets to write


async def dispatch_chunk(
    sessions: async_sessionmaker[AsyncSession],
    run: CampaignRun,
    campaign: Campaign,
    document: CampaignDocument,
    owner: str,
    now: datetime,
    policy: CampaignPolicy,
) -> bool:
    """Turn the next chunk of one owner's selected sends into one task or outbox rows; False when none are left."""
    if document.path == "mass_single" and not is_personal(document.message):
        return await dispatch_same_text(sessions, run, campaign, owner, now, policy)
    async with sessions() as session, session.begin():
        fresh = await session.get(Campaign, campaign.id)
        if fresh is None or fresh.status != CampaignStatus.ACTIVE:
            return False
        chunk = await rows.selected_of_owner(session, run.id, owner, policy.task_max_targets)
        if not chunk:
            return False
        # Checked again at dispatch: a customer who said 退订 after the audience was drawn is not sent.
        if document.path not in REP_PATHS:
            late = await facts_of.opted_out(session, [s.customer_id for s, _ in chunk])
            if late:
                await rows.mark_sends(
                    session,
                    [s.id for s, _ in chunk if s.customer_id in late],
                    outcome=SendOutcome.SKIPPED,
                    reason="opted_out",
                )
                chunk = [(s, ext) for s, ext in chunk if s.customer_id not in late]
        if not chunk:
            return True
        if document.path == "mass_single":
            await _as_task(session, run, owner, chunk, now, full=len(chunk) >= policy.task_max_targets)
        elif document.path == "kf":
            await _as_kf(session, run, chunk, now)
        elif document.path == "oa_template":
            await as_oa_templates(session, run, document, chunk, now)
        elif document.path == "followup":
            await _as_followups(session, run, campaign, owner, chunk, now)
        else:
            await _as_reminder(session, run, campaign, owner, chunk, now)
    return True


async def _as_task(
    session: AsyncSession,
    run: CampaignRun,
    owner: str,
    chunk: list[tuple[CampaignSend, str]],
    now: datetime,
    *,
    full: bool,
) -> None:
    """One add_msg_template task per text: customers whose personal text differs get tasks of their own.

    Every text of the chunk becomes its task in this transaction (a chunk is read in text order), up to
    TASKS_PER_CHUNK; a text the chunk may have cut (the last one of a full chunk) waits for the next chunk, unless
    it is the only one. One task per chunk read made a 5,000-customer personal run read its owner's sends 5,000 times.
    """
    groups: list[list[tuple[CampaignSend, str]]] = []
    for send, ext in chunk:
        if groups and groups[-1][0][0].text == send.text:
            groups[-1].append((send, ext))
        else:
            groups.append([(send, ext)])
    if full and len(groups) > 1:
        groups.pop()
    for same in groups[:TASKS_PER_CHUNK]:
        task_id = await queue_mass_task(
            session,
            now,
            sender=owner,
            chat_type="single",
            targets=[ext for _, ext in same],
            content=MassContent(same[0][0].text),
            key=f"campaign:{run.id}:{same[0][0].id}",
            priority=Priority.LOW,
        )
        await rows.mark_sends(session, [s.id for s, _ in same], outcome=SendOutcome.TASK, mass_task_id=task_id)


async def _as_kf(session: AsyncSession, run: CampaignRun, chunk: list[tuple[CampaignSend, str]], now: datetime) -> None:
    windows = await facts_of.open_kf_windows(session, [ext for _, ext in chunk], now - KF_WINDOW, KF_QUOTA)
    closed = [s.id for s, ext in chunk if ext not in windows]
    await rows.mark_sends(session, closed, outcome=SendOutcome.SKIPPED, reason="no_window")
    for send, ext in chunk:
        if ext in windows:
            outbox_id = await queue_kf_reply(
                session,
                now,
                windows[ext],
                ext,
                Text(send.text),
                key=f"campaign:{run.id}:{send.customer_id}",
                priority=Priority.LOW,
            )
            await rows.mark_sends(session, [send.id], outcome=SendOutcome.QUEUED, outbox_id=outbox_id)


async def _as_reminder(
    session: AsyncSession,
    run: CampaignRun,
    campaign: Campaign,
    owner: str,
    chunk: list[tuple[CampaignSend, str]],
    now: datetime,
) -> None:
    lines = [f"· {s.text}" for s, _ in chunk[:REMINDER_LINES]]
    if len(chunk) > REMINDER_LINES:
        lines.append(f"……另有 {len(chunk) - REMINDER_LINES} 位，见 qunke campaign show {campaign.id}")
    body = f"【跟进提醒】{campaign.name}（{len(chunk)} 位客户）\n" + "\n".join(lines)
    outbox_id = await queue_app_message(
        session, now, [owner], Text(body), key=f"campaign:{run.id}:{owner}:{chunk[0][0].id}", priority=Priority.LOW
    )
    await rows.mark_sends(session, [s.id for s, _ in chunk], outcome=SendOutcome.QUEUED, outbox_id=outbox_id)


async def _as_followups(
    session: AsyncSession,
    run: CampaignRun,
    campaign: Campaign,
    owner: str,
    chunk: list[tuple[CampaignSend, str]],
    now: datetime,
) -> None:
    # One follow-up per customer, due now; the follow-up job reminds the rep and the digest lists it.
    for send, _ in chunk:
        try:
            await add_followup(
                session,
                now,
                customer_id=send.customer_id,
                member_userid=owner,
                due_at=now,
                note=send.text,
                source="campaign",
                created_by=f"campaign:{campaign.id}",
                source_key=f"campaign:{run.id}:{send.customer_id}",
            )
        except FollowupError:  # the owner is no longer a member Qunke knows
            await rows.mark_sends(session, [send.id], outcome=SendOutcome.SKIPPED, reason="no_owner")
            continue
        await rows.mark_sends(session, [send.id], outcome=SendOutcome.QUEUED)
