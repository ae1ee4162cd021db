"""Compile a parsed segment filter into one SQLAlchemy Core condition over `customers` (never string SQL)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, not_, or_, select, true

from campaigns.segment_filter import AllOf, AnyOf, Node, Not
from storage.models.campaigns import ContactPref, CustomerAttribute, RfmScore
from storage.models.customers import Customer, CustomerTag, Member
from storage.models.groups import Group, GroupMember
from storage.models.messages import ChatType, Message, SenderKind
from storage.models.purchases import Purchase
from storage.models.service import ChurnScore
from storage.models.surveys import Survey, SurveyKind, SurveyStatus

UNSCORED_TIER = "未购客户"
CHANNEL_CHAT_TYPES = {"kf": ChatType.KF, "group": ChatType.GROUP, "single": ChatType.SINGLE, "oa": ChatType.OA}
NPS_RANGES = {"detractor": (0, 6), "passive": (7, 8), "promoter": (9, 10)}


@dataclass(frozen=True, slots=True)
class Moment:
    """The instant a segment is evaluated at, and the business zone its calendar days are counted in."""

    now: datetime
    zone: str

    def days_ago(self, days: int) -> datetime:
        return self.now - timedelta(days=days)

    def today(self) -> date:
        return self.now.astimezone(ZoneInfo(self.zone)).date()


def audience(node: Node, moment: Moment) -> Select[Any]:
    """The ids of every live customer (not merged away) that the filter selects."""
    return select(Customer.id).where(Customer.merged_into_id.is_(None), compile_node(node, moment))


def compile_node(node: Node, moment: Moment) -> ColumnElement[bool]:
    if isinstance(node, AllOf):
        return and_(true(), *(compile_node(part, moment) for part in node.parts))
    if isinstance(node, AnyOf):
        return or_(false(), *(compile_node(part, moment) for part in node.parts))
    if isinstance(node, Not):
        return not_(compile_node(node.part, moment))
    return _CONDITIONS[node.field](node.spec, moment)


def _tags(spec: Mapping[str, Any], _: Moment) -> ColumnElement[bool]:
    def has(names: tuple[str, ...]) -> ColumnElement[bool]:
        return exists().where(CustomerTag.customer_id == Customer.id, CustomerTag.tag_name.in_(names))

    parts: list[ColumnElement[bool]] = []
    if "any" in spec:
        parts.append(has(spec["any"]))
    parts.extend(has((name,)) for name in spec.get("all", ()))
    if "none" in spec:
        parts.append(not_(has(spec["none"])))
    return and_(*parts)


def _rfm_tier(spec: Mapping[str, Any], _: Moment) -> ColumnElement[bool]:
    tier = select(RfmScore.tier).where(RfmScore.customer_id == Customer.id).scalar_subquery()
    return func.coalesce(tier, UNSCORED_TIER).in_(spec["in"])


def _customer_spoke_since(since: datetime) -> ColumnElement[bool]:
    return exists().where(
        Message.customer_id == Customer.id,
        Message.sender_kind == SenderKind.CUSTOMER,
        Message.sent_at >= since,
    )


def _last_message(spec: Mapping[str, Any], moment: Moment) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if "within_days" in spec:
        parts.append(_customer_spoke_since(moment.days_ago(spec["within_days"])))
    if "older_than_days" in spec:
        # Silent for N days: no message of theirs in that time (a customer who never wrote is silent too).
        parts.append(not_(_customer_spoke_since(moment.days_ago(spec["older_than_days"]))))
    return and_(*parts)


def _opted_out(spec: Mapping[str, Any], _: Moment) -> ColumnElement[bool]:
    out = exists().where(ContactPref.customer_id == Customer.id, ContactPref.opted_out_at.is_not(None))
    return out if spec["is"] else not_(out)


def _owner(spec: Mapping[str, Any], _: Moment) -> ColumnElement[bool]:
    # A manager names reps as they know them ("王五") or by userid ("wangwu"); either selects that rep's customers.
    named = select(Member.userid).where(Member.name.in_(spec["in"]))
    return or_(Customer.owner_userid.in_(spec["in"]), Customer.owner_userid.in_(named))


def _group(spec: Mapping[str, Any], _: Moment) -> ColumnElement[bool]:
    # Groups by chat id or by the name a manager sees in WeCom ("2026秋季训练营1群"); a name two groups share
    # selects the members of both.
    named = select(Group.chat_id).where(Group.name.in_(spec["in"]))
    return exists().where(
        GroupMember.customer_id == Customer.id,
        or_(GroupMember.chat_id.in_(spec["in"]), GroupMember.chat_id.in_(named)),
    )


def _channel(spec: Mapping[str, Any], _: Moment) -> ColumnElement[bool]:
    chat_types = [CHANNEL_CHAT_TYPES[name].value for name in spec["in"]]
    return exists().where(Message.customer_id == Customer.id, Message.chat_type.in_(chat_types))


def _became_contact(spec: Mapping[str, Any], moment: Moment) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if "within_days" in spec:
        parts.append(Customer.became_contact_at >= moment.days_ago(spec["within_days"]))
    if "older_than_days" in spec:
        parts.append(Customer.became_contact_at < moment.days_ago(spec["older_than_days"]))
    return and_(*parts)


def _purchases(spec: Mapping[str, Any], moment: Moment) -> ColumnElement[bool]:
    mine = Purchase.customer_id == Customer.id
    parts: list[ColumnElement[bool]] = []
    if "count_gte" in spec:
        parts.append(select(func.count()).where(mine).scalar_subquery() >= spec["count_gte"])
    if "amount_gte" in spec:
        total = select(func.coalesce(func.sum(Purchase.amount_cents), 0)).where(mine).scalar_subquery()
        parts.append(total >= round(spec["amount_gte"] * 100))
    if "last_within_days" in spec:
        parts.append(exists().where(mine, Purchase.purchased_at >= moment.days_ago(spec["last_within_days"])))
    if "last_older_than_days" in spec:
        recent = exists().where(mine, Purchase.purchased_at >= moment.days_ago(spec["last_older_than_days"]))
        parts.append(and_(exists().where(mine), not_(recent)))
    return and_(*parts)


def _latest_score(kind: SurveyKind) -> Any:
    return (
        select(Survey.score)
        .where(
            Survey.customer_id == Customer.id,
            Survey.kind == kind.value,
            Survey.status == SurveyStatus.ANSWERED,
            Survey.score.is_not(None),
        )
        .order_by(Survey.answered_at.desc(), Survey.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _csat_last(spec: Mapping[str, Any], _: Moment) -> ColumnElement[bool]:
    score = _latest_score(SurveyKind.CSAT)
    parts: list[ColumnElement[bool]] = []
    if "lte" in spec:
        parts.append(score <= spec["lte"])
    if "gte" in spec:
        parts.append(score >= spec["gte"])
    return and_(*parts)


def _nps(spec: Mapping[str, Any], _: Moment) -> ColumnElement[bool]:
    score = _latest_score(SurveyKind.NPS)
    return or_(*(score.between(*NPS_RANGES[name]) for name in spec["category"]))


def _churn_risk(spec: Mapping[str, Any], _: Moment) -> ColumnElement[bool]:
    risk = select(ChurnScore.risk).where(ChurnScore.customer_id == Customer.id).scalar_subquery()
    parts: list[ColumnElement[bool]] = []
    if "gte" in spec:
        parts.append(risk >= spec["gte"])
    if "lte" in spec:
        parts.append(risk <= spec["lte"])
    return and_(*parts)


def _attribute_rows(name: str, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(CustomerAttribute.customer_id == Customer.id, CustomerAttribute.name == name, *conditions)


def _birthday(spec: Mapping[str, Any], moment: Moment) -> ColumnElement[bool]:
    # Birthdays are stored YYYY-MM-DD; the next N days as MM-DD strings compare the same on SQLite and PostgreSQL.
    today = moment.today()
    days = {(today + timedelta(days=offset)).strftime("%m-%d") for offset in range(spec["within_days"] + 1)}
    if "02-28" in days and "03-01" in days:
        days.add("02-29")  # in a common year, a 29 February birthday is kept on the 28th
    return _attribute_rows("birthday", func.substr(CustomerAttribute.value, 6, 5).in_(sorted(days)))


def _attribute(spec: Mapping[str, Any], _: Moment) -> ColumnElement[bool]:
    value = CustomerAttribute.value
    if "eq" in spec:
        return _attribute_rows(spec["name"], value == spec["eq"])
    if "in" in spec:
        return _attribute_rows(spec["name"], value.in_(spec["in"]))
    if "before" in spec:
        return _attribute_rows(spec["name"], value != "", value < spec["before"])
    return _attribute_rows(spec["name"], value > spec["after"])


def _status(spec: Mapping[str, Any], _: Moment) -> ColumnElement[bool]:
    cases = {
        "lost": Customer.lost_at.is_not(None),
        "contact": and_(Customer.lost_at.is_(None), Customer.became_contact_at.is_not(None)),
        "group_only": and_(Customer.lost_at.is_(None), Customer.became_contact_at.is_(None)),
    }
    return or_(*(cases[name] for name in spec["in"]))


_CONDITIONS: dict[str, Callable[[Mapping[str, Any], Moment], ColumnElement[bool]]] = {
    "tags": _tags,
    "rfm_tier": _rfm_tier,
    "last_message": _last_message,
    "opted_out": _opted_out,
    "owner": _owner,
    "group": _group,
    "channel": _channel,
    "became_contact": _became_contact,
    "purchases": _purchases,
    "csat_last": _csat_last,
    "nps": _nps,
    "churn_risk": _churn_risk,
    "birthday": _birthday,
    "attribute": _attribute,
    "status": _status,
}
