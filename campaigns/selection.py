"""A run's audience recorded set-based: one INSERT … SELECT per keyset batch of the drawn audience, the guards as
SQL anti-joins.

The guards run in the order `guards.guard_batch` applies them to one customer (opt-out, no owner, no external id,
same-day dedupe, 7-day frequency cap, WeCom's monthly cap), each skip with its reason; the holdout (a SHA-256 draw
SQLite cannot compute) and personal texts are applied afterwards to the batch's selected rows only, in the same
transaction. The UNIQUE (run, customer) key keeps a resumed batch from recording anyone twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import CTE, ColumnElement, case, exists, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import facts as facts_of
from campaigns.document import REP_PATHS, CampaignDocument
from campaigns.guards import held_out
from campaigns.policy import CampaignPolicy
from campaigns.templates import TemplateProblem, constant_text, render
from storage.models.campaigns import Campaign, CampaignAudience, CampaignRun, CampaignSend, ContactPref, SendOutcome
from storage.models.customers import Customer
from storage.models.masstasks import MassTarget
from storage.repos import campaigns as rows
from storage.repos.masstasks import COUNTED


@dataclass(frozen=True, slots=True)
class Batch:
    size: int  # audience customers in the batch (recorded now or by an earlier attempt)
    last_id: int  # the keyset cursor after it


async def select_batch(
    session: AsyncSession,
    run: CampaignRun,
    campaign: Campaign,
    document: CampaignDocument,
    cursor: int,
    now: datetime,
    policy: CampaignPolicy,
) -> Batch:
    """Record the next `batch_size` customers of the run's drawn audience after `cursor` with their guard outcome;
    size 0 when none."""
    # The audience was drawn once (campaign_audience): the batch is an index range from the cursor, whatever the
    # filter. The batch carries what the guards read, so they never join `customers` again.
    window = (
        select(
            Customer.id,
            func.coalesce(Customer.owner_userid, "").label("owner_userid"),
            func.coalesce(Customer.external_userid, "").label("external_userid"),
        )
        .join(CampaignAudience, CampaignAudience.customer_id == Customer.id)
        .where(CampaignAudience.run_id == run.id, CampaignAudience.customer_id > cursor)
        .where(Customer.merged_into_id.is_(None))  # merged away since the draw
        .order_by(CampaignAudience.customer_id)
        .limit(policy.batch_size)
        .cte("batch_window")
    )
    constant = constant_text(document.message)
    guarded = (
        select(
            window.c.id.label("customer_id"),
            window.c.owner_userid,
            _skip_reason(window, campaign, document, now, policy).label("reason"),
        )
        .cte("batch_guarded")
        .prefix_with("MATERIALIZED")  # the guards run once per customer, not once per column that reads them
    )
    source = select(
        literal(run.id),
        literal(campaign.id),
        guarded.c.customer_id,
        guarded.c.owner_userid,
        case((guarded.c.reason == "", SendOutcome.SELECTED.value), else_=SendOutcome.SKIPPED.value),
        guarded.c.reason,
        # A skipped customer keeps an empty text, as guard_batch leaves it.
        case((guarded.c.reason == "", constant or ""), else_=""),
        literal(now, CampaignSend.created_at.type),
    ).where(guarded.c.customer_id > cursor)  # a WHERE keeps SQLite from reading ON CONFLICT as a join clause
    columns = ["run_id", "campaign_id", "customer_id", "owner_userid", "outcome", "reason", "text", "created_at"]
    await rows.insert_sends_from(session, columns, source)
    # The batch as recorded: only this run's walk writes its rows past the cursor (welcome runs are never walked), so
    # the first `batch_size` of them are this batch, or what a concurrent walk of the same run recorded for it.
    size, last = await rows.recorded_after(session, run.id, cursor, policy.batch_size)
    if not size:
        return Batch(0, cursor)
    await _finish_selected(session, run, campaign, document, (cursor, last), constant, now)
    return Batch(size, last)


def _skip_reason(
    batch: CTE, campaign: Campaign, document: CampaignDocument, now: datetime, policy: CampaignPolicy
) -> ColumnElement[str]:
    """The first guard a customer fails, as a CASE over correlated EXISTS / counts; '' when none."""
    marketing = document.path not in REP_PATHS
    whens: list[tuple[ColumnElement[bool], str]] = []
    if marketing:
        whens.append((exists().where(ContactPref.customer_id == batch.c.id, ContactPref.opted_out_at.is_not(None)),
                      "opted_out"))  # fmt: skip
    if document.path in ("mass_single", *REP_PATHS):
        whens.append((batch.c.owner_userid == "", "no_owner"))
    if marketing and document.path != "oa_template":
        whens.append((batch.c.external_userid == "", "no_external_userid"))
    if marketing:
        zone = ZoneInfo(policy.zone)
        day_start = datetime.combine(now.astimezone(zone).date(), datetime.min.time(), zone)
        whens.append((_sent_since(batch, day_start, CampaignSend.campaign_id != campaign.id), "dedupe"))
    if marketing and document.guards.frequency_cap:
        since = now - timedelta(days=policy.frequency_days)
        whens.append((_sent_count_since(batch, since) >= policy.frequency_cap, "frequency_cap"))
    if document.path == "mass_single" and policy.monthly_cap:
        period, cap = policy.month_cap(now)
        used = (
            select(func.count())
            .where(MassTarget.target_id == batch.c.external_userid, MassTarget.period == period)
            .where(MassTarget.status.in_(COUNTED))
            .scalar_subquery()
        )
        whens.append((used >= cap, "monthly_cap"))
    if not whens:
        return literal("")
    return case(*whens, else_="")


def _sent_since(batch: CTE, since: datetime, *extra: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(
        CampaignSend.customer_id == batch.c.id,
        CampaignSend.outcome.in_(rows.SENT_OUTCOMES),
        CampaignSend.created_at >= since,
        *extra,
    )


def _sent_count_since(batch: CTE, since: datetime) -> Any:
    return (
        select(func.count())
        .where(CampaignSend.customer_id == batch.c.id, CampaignSend.outcome.in_(rows.SENT_OUTCOMES))
        .where(CampaignSend.created_at >= since)
        .scalar_subquery()
    )


async def _finish_selected(
    session: AsyncSession,
    run: CampaignRun,
    campaign: Campaign,
    document: CampaignDocument,
    span: tuple[int, int],
    constant: str | None,
    now: datetime,
) -> None:
    """The last guard and the texts, on the batch's selected rows: holdout first, then each personal text."""
    marketing = document.path not in REP_PATHS
    if constant is not None and not (marketing and document.holdout > 0):
        return
    ids = await rows.selected_in_span(session, run.id, span)
    held = [cid for cid in ids if marketing and held_out(campaign.id, cid, document.holdout)]
    await _mark_customers(session, run.id, held, outcome=SendOutcome.HELD_OUT, text="")
    if constant is not None:
        return
    kept = set(ids) - set(held)
    texts: list[dict[str, Any]] = []
    failed: list[int] = []
    for person in await facts_of.recipients(session, sorted(kept), now):
        try:
            texts.append({"cid": person.customer_id, "t": render(document.message, person.facts)})
        except TemplateProblem:
            failed.append(person.customer_id)
    await _mark_customers(session, run.id, failed, outcome=SendOutcome.SKIPPED, reason="template")
    await rows.set_send_texts(session, run.id, texts)


async def _mark_customers(session: AsyncSession, run_id: int, customer_ids: list[int], **values: Any) -> None:
    if customer_ids:
        statement = update(CampaignSend).where(
            CampaignSend.run_id == run_id, CampaignSend.customer_id.in_(customer_ids)
        )
        await session.execute(statement.values(**values).execution_options(synchronize_session=False))
