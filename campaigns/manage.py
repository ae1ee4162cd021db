"""Campaigns as a manager handles them: create (validated, previewed), list, show with the funnel, pause, resume,
cancel, and run now."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import facts as facts_of
from campaigns.audience import CampaignBroken, audience_condition
from campaigns.dispatch import KF_QUOTA, KF_WINDOW
from campaigns.document import EVENT_TRIGGERS, CampaignDocument, DocumentError, broadcast_time, parse_document
from campaigns.funnel import Funnel, funnel
from campaigns.policy import CampaignPolicy
from campaigns.runs import fire_if_due
from campaigns.schedule import next_cron_time
from campaigns.templates import TemplateProblem, check_template, is_personal, render, uses_variables
from storage.models.campaigns import Campaign, CampaignStatus
from storage.models.customers import Customer
from storage.repos import campaigns as rows
from storage.repos import segments as segment_rows

PREVIEW_SAMPLES: Final = 3


class CampaignError(ValueError):
    """A campaign that cannot be created or changed; the message names the field or the state."""


@dataclass(frozen=True, slots=True)
class CampaignView:
    id: int
    name: str
    kind: str
    path: str
    status: str
    definition: dict[str, Any]
    created_at: datetime
    next_firing: datetime | None = None
    audience_now: int | None = None
    previews: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    funnel: dict[str, Any] | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def create_campaign(
    session: AsyncSession,
    raw: object,
    now: datetime,
    policy: CampaignPolicy,
    *,
    dry_run: bool = False,
    created_by: str = "",
) -> CampaignView:
    """Validate everything before writing anything; a dry run stops after the preview."""
    try:
        document = parse_document(raw, policy.zone, now)
        check_templates(document)
    except (DocumentError, TemplateProblem) as exc:
        raise CampaignError(str(exc)) from None
    if await rows.by_name_or_id(session, document.name) is not None:
        raise CampaignError(f"name: 活动「{document.name}」已存在 / a campaign with this name exists")
    if document.segment is not None and await segment_rows.by_name_or_id(session, document.segment) is None:
        raise CampaignError(f"segment: 没有名为「{document.segment}」的分群 / no such segment")
    count, previews, warnings = await _preview(session, document, now, policy)
    if document.kind == "broadcast" and count == 0:
        raise CampaignError("segment: 受众为空，没有可发送的客户 / the audience is empty")
    campaign = Campaign(
        name=document.name,
        kind=document.kind,
        path=document.path,
        status=CampaignStatus.ACTIVE,
        definition=document.model_dump(mode="json", exclude_none=True),
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    if not dry_run:
        await rows.insert_campaign(session, campaign)
    view = _view(campaign, policy, now)
    return CampaignView(**{**asdict(view), "audience_now": count, "previews": previews, "warnings": warnings})


def check_templates(document: CampaignDocument) -> None:
    """Every text the document may send, each named by its field when it is wrong."""
    texts = {"message": document.message}
    texts |= {f"state_messages.{state}": text for state, text in document.state_messages.items()}
    if document.oa_template is not None:
        texts |= {f"oa_template.data.{key}": text for key, text in document.oa_template.data.items()}
    for field_name, text in texts.items():
        try:
            check_template(text)
        except TemplateProblem as exc:
            raise TemplateProblem(f"{field_name}: {str(exc).removeprefix('message: ')}") from None


async def _preview(
    session: AsyncSession, document: CampaignDocument, now: datetime, policy: CampaignPolicy
) -> tuple[int, list[dict[str, Any]], list[str]]:
    try:
        condition = await audience_condition(session, document, now, now, policy.zone)
    except CampaignBroken as exc:
        raise CampaignError(str(exc)) from None
    live = (Customer.merged_into_id.is_(None), condition)
    count = int(await session.scalar(select(func.count()).select_from(Customer).where(*live)) or 0)
    ids = list(await session.scalars(select(Customer.id).where(*live).order_by(Customer.id).limit(PREVIEW_SAMPLES)))
    previews = []
    for person in await facts_of.recipients(session, ids, now):
        try:
            text = render(document.message, person.facts)
        except TemplateProblem as exc:
            text = f"（此客户会被跳过 / skipped: {exc}）"
        previews.append({"customer_id": person.customer_id, "name": person.facts.name, "text": text})
    warnings: list[str] = []
    if document.path == "mass_single" and is_personal(document.message):
        warnings.append("消息因人而异：每种不同的文字是一条单独的群发任务，负责人需逐条确认")
    if document.path == "kf":
        await _check_kf_audience(session, document, live, now, count)
    if document.path == "mass_group" and uses_variables(document.message):
        raise CampaignError(
            "message: 群发到客户群的文字对所有人相同，不能使用客户变量 / mass_group sends one text to every group"
        )
    return count, previews, warnings


async def _check_kf_audience(
    session: AsyncSession, document: CampaignDocument, live: tuple[Any, ...], now: datetime, count: int
) -> None:
    if document.kind != "broadcast" or count == 0:
        return
    externals = list(await session.scalars(select(Customer.external_userid).where(*live).limit(10_000)))
    windows = await facts_of.open_kf_windows(session, [e for e in externals if e], now - KF_WINDOW, KF_QUOTA)
    if not windows:
        raise CampaignError(
            "path: 受众中没有客户处于微信客服 48 小时会话窗口内，kf 路径无法送达 / no one has an open kf window"
        )


async def find_campaign(session: AsyncSession, key: str) -> Campaign:
    campaign = await rows.by_name_or_id(session, key)
    if campaign is None:
        raise CampaignError(f"没有名为「{key}」的活动 / no such campaign: {key}")
    return campaign


async def list_campaigns(session: AsyncSession, policy: CampaignPolicy, now: datetime) -> list[CampaignView]:
    return [_view(c, policy, now) for c in await rows.list_campaigns(session)]


async def show_campaign(session: AsyncSession, key: str, policy: CampaignPolicy, now: datetime) -> CampaignView:
    campaign = await find_campaign(session, key)
    document = CampaignDocument.model_validate(campaign.definition)
    whole: Funnel = await funnel(session, campaign_id=campaign.id, attribution_days=document.attribution_days)
    runs = []
    for run in await rows.runs_of(session, campaign.id):
        per_run = await funnel(
            session, campaign_id=campaign.id, run_id=run.id, attribution_days=document.attribution_days
        )
        runs.append(
            {
                "id": run.id,
                "scheduled_for": run.scheduled_for,
                "status": run.status,
                "dispatch_after": run.dispatch_after,
                "finished_at": run.finished_at,
                "error": run.error,
                "funnel": per_run.to_dict(),
            }
        )
    view = _view(campaign, policy, now)
    return CampaignView(**{**asdict(view), "funnel": whole.to_dict(), "runs": runs})


TRANSITIONS: Final = {
    "pause": ({CampaignStatus.ACTIVE}, CampaignStatus.PAUSED),
    "resume": ({CampaignStatus.PAUSED}, CampaignStatus.ACTIVE),
    "cancel": ({CampaignStatus.ACTIVE, CampaignStatus.PAUSED}, CampaignStatus.CANCELLED),
}


async def change_status(session: AsyncSession, key: str, action: str, now: datetime) -> Campaign:
    campaign = await find_campaign(session, key)
    allowed, target = TRANSITIONS[action]
    if campaign.status not in allowed:
        raise CampaignError(f"活动「{campaign.name}」当前为 {campaign.status}，不能 {action} / cannot {action} now")
    await rows.set_status(session, campaign.id, target, now)
    campaign.status = target
    return campaign


async def run_now(session: AsyncSession, key: str, now: datetime, policy: CampaignPolicy) -> int:
    """Fire the campaign now (an extra firing at this minute); the scheduler tick dispatches it."""
    campaign = await find_campaign(session, key)
    if campaign.status != CampaignStatus.ACTIVE:
        raise CampaignError(f"活动「{campaign.name}」当前为 {campaign.status}，只有进行中的活动可以运行 / not active")
    run_id = await fire_if_due(session, campaign, now, policy, force=True)
    if run_id is None:
        raise CampaignError("这一分钟已经运行过一次 / it already ran this minute")
    return run_id


def _view(campaign: Campaign, policy: CampaignPolicy, now: datetime) -> CampaignView:
    document = CampaignDocument.model_validate(campaign.definition)
    return CampaignView(
        id=campaign.id or 0,
        name=campaign.name,
        kind=campaign.kind,
        path=campaign.path,
        status=campaign.status,
        definition=dict(campaign.definition),
        created_at=campaign.created_at,
        next_firing=_next_firing(document, campaign, policy, now),
    )


def _next_firing(
    document: CampaignDocument, campaign: Campaign, policy: CampaignPolicy, now: datetime
) -> datetime | None:
    if campaign.status not in (CampaignStatus.ACTIVE, CampaignStatus.PAUSED):
        return None
    if document.kind == "broadcast":
        at = broadcast_time(document, policy.zone, campaign.created_at)
        return at if at > now else None
    if document.kind == "recurring" and document.cron is not None:
        return next_cron_time(document.cron, policy.zone, now)
    assert document.trigger is not None
    if document.trigger.event in EVENT_TRIGGERS:
        return None  # as each customer adds a rep
    zone = ZoneInfo(policy.zone)
    local = now.astimezone(zone)
    today = datetime.combine(local.date(), document.trigger.local_time(), tzinfo=zone)
    return today if today > now else today + timedelta(days=1)


REPORT_COLUMNS: Final = (
    "id",
    "name",
    "kind",
    "path",
    "status",
    "runs",
    "audience",
    "held_out",
    "skipped",
    "in_tasks",
    "queued",
    "tasks_created",
    "tasks_confirmed",
    "tasks_unconfirmed",
    "delivered",
    "replied",
    "converted",
    "holdout_converted",
    "lift",
    "lift_low",
    "lift_high",
)


async def campaigns_report(session: AsyncSession) -> list[dict[str, Any]]:
    """One row per campaign: the whole funnel and the lift (empty when there is not enough data)."""
    report: list[dict[str, Any]] = []
    for campaign in await rows.list_campaigns(session):
        document = CampaignDocument.model_validate(campaign.definition)
        whole = await funnel(session, campaign_id=campaign.id, attribution_days=document.attribution_days)
        lift = whole.lift
        report.append(
            {
                "id": campaign.id,
                "name": campaign.name,
                "kind": campaign.kind,
                "path": campaign.path,
                "status": campaign.status,
                "runs": len(await rows.runs_of(session, campaign.id)),
                "audience": whole.audience,
                "held_out": whole.held_out,
                "skipped": sum(whole.skipped.values()),
                "in_tasks": whole.in_tasks,
                "queued": whole.queued,
                "tasks_created": whole.tasks_created,
                "tasks_confirmed": whole.tasks_confirmed,
                "tasks_unconfirmed": whole.tasks_unconfirmed,
                "delivered": whole.delivered,
                "replied": whole.replied,
                "converted": whole.converted,
                "holdout_converted": whole.holdout_converted,
                "lift": round(lift.lift, 4) if lift else None,
                "lift_low": round(lift.low, 4) if lift else None,
                "lift_high": round(lift.high, 4) if lift else None,
            }
        )
    return report
