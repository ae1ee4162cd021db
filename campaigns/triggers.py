"""Automation triggers as one condition over customers for the day of a firing ("7 days after a purchase" ...).

Each trigger selects the customers for whom the day has come today, so a daily firing reaches each of them once:
the purchase exactly N days ago, the birthday N days ahead, the silence that began exactly N days ago.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, false, func, not_, or_, select

from campaigns.document import Trigger
from storage.models.campaigns import CustomerAttribute
from storage.models.customers import Customer, CustomerEvent
from storage.models.messages import Message, SenderKind
from storage.models.purchases import Purchase

ANNIVERSARY_YEARS = 30
JOINED_GROUP_KIND = "joined_group"
TAG_ADDED_KIND = "tag_added"  # a timeline entry written when a rep adds a tag (detail: {"tag": name})


def _day(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def trigger_condition(trigger: Trigger, today: date, zone_name: str) -> ColumnElement[bool]:
    zone = ZoneInfo(zone_name)
    n = trigger.days
    if trigger.event == "purchase":
        start, end = _day(today - timedelta(days=n), zone)
        conditions = [Purchase.customer_id == Customer.id, Purchase.purchased_at >= start, Purchase.purchased_at < end]
        if trigger.item:
            conditions.append(Purchase.item == trigger.item)
        return exists().where(*conditions)
    if trigger.event == "birthday":
        return _attribute_day("birthday", (today + timedelta(days=n)).strftime("%m-%d"), month_day=True)
    if trigger.event == "renewal_due":
        return _attribute_day("renewal_date", (today + timedelta(days=n)).isoformat(), month_day=False)
    if trigger.event == "silent":
        start, end = _day(today - timedelta(days=n), zone)
        spoke = (Message.customer_id == Customer.id, Message.sender_kind == SenderKind.CUSTOMER)
        return and_(
            exists().where(*spoke, Message.sent_at >= start, Message.sent_at < end),
            not_(exists().where(*spoke, Message.sent_at >= end)),
        )
    if trigger.event in ("joined_group", "tag_added"):
        start, end = _day(today - timedelta(days=n), zone)
        conditions = [
            CustomerEvent.customer_id == Customer.id,
            CustomerEvent.kind == (JOINED_GROUP_KIND if trigger.event == "joined_group" else TAG_ADDED_KIND),
            CustomerEvent.occurred_at >= start,
            CustomerEvent.occurred_at < end,
        ]
        if trigger.tag is not None:
            conditions.append(CustomerEvent.detail["tag"].as_string() == trigger.tag)
        return exists().where(*conditions)
    if trigger.event == "new_contact":
        return false()  # sent as the contact is added (campaigns/welcome.py), never by a daily firing
    return _first_purchase_anniversary(today, zone)


def _attribute_day(name: str, value: str, *, month_day: bool) -> ColumnElement[bool]:
    column = func.substr(CustomerAttribute.value, 6, 5) if month_day else CustomerAttribute.value
    values = [value]
    if month_day and value == "02-28":
        values.append("02-29")  # a 29 February birthday is kept on the 28th in a common year ...
    return exists().where(
        CustomerAttribute.customer_id == Customer.id, CustomerAttribute.name == name, column.in_(values)
    )


def _first_purchase_anniversary(today: date, zone: ZoneInfo) -> ColumnElement[bool]:
    first = select(func.min(Purchase.purchased_at)).where(Purchase.customer_id == Customer.id).scalar_subquery()
    ranges = []
    for years in range(1, ANNIVERSARY_YEARS + 1):
        try:
            day = today.replace(year=today.year - years)
        except ValueError:  # 29 February in a common year
            continue
        start, end = _day(day, zone)
        ranges.append(and_(first >= start, first < end))
    return or_(*ranges)
