"""Purchases: record one, or import a CSV idempotently by order reference, with errors that name the line."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.customers.identity import root_of
from services.customers.refs import resolve_many
from storage.models.purchases import Purchase
from storage.repos import purchases as repo
from storage.repos.purchases import NewPurchase

CSV_COLUMNS: Final = ("reference", "customer", "item", "amount", "purchased_at")
MAX_REFERENCE: Final = 128
MAX_ITEM: Final = 256


class PurchaseError(Exception):
    """A purchase that cannot be recorded; the message is "中文 / English" for the operator."""


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did: new rows, references already there, and (when `errors`) nothing at all."""

    rows: int
    added: int
    already: int
    errors: list[LineError] = field(default_factory=list)
    # References already imported whose line now says something else; the first import stands.
    conflicts: list[LineError] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class PurchaseView:
    id: int
    reference: str
    customer_id: int
    item: str
    amount_cents: int
    purchased_at: datetime

    @classmethod
    def of(cls, p: Purchase) -> PurchaseView:
        return cls(p.id, p.reference, p.customer_id, p.item, p.amount_cents, p.purchased_at)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "amount": format_amount(self.amount_cents)}


def format_amount(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


def parse_amount(raw: str) -> int:
    """Yuan with at most two decimals ("199", "199.5", "¥1,299.00") as cents."""
    cleaned = raw.strip().removeprefix("¥").removeprefix("￥").replace(",", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise PurchaseError(f"金额格式不对：{raw!r} / amount is not a number: {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise PurchaseError(f"金额不能为负数：{raw!r} / amount must be 0 or more: {raw!r}")
    cents = value * 100
    if cents != cents.to_integral_value():
        raise PurchaseError(f"金额最多两位小数：{raw!r} / amount has more than 2 decimals: {raw!r}")
    return int(cents)


def parse_time(raw: str, zone: str) -> datetime:
    """ISO 8601; a time without an offset, or a bare date (midnight), is in the business zone."""
    text = raw.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise PurchaseError(
            f"时间格式不对：{raw!r}（应为 2026-11-23 或 2026-11-23 14:05）/ expected ISO 8601 date or time: {raw!r}"
        ) from None
    if len(text) <= 10:
        moment = datetime.combine(moment.date(), time())
    return moment.replace(tzinfo=ZoneInfo(zone)) if moment.tzinfo is None else moment


async def resolve_customers(session: AsyncSession, refs: Iterable[str]) -> dict[str, int]:
    """Customer references (an id, an external_userid or an OA openid) to the id of the profile each shows under."""
    found = await resolve_many(session, refs)
    # A purchase of a merged profile belongs to the person: it lands where their timeline lives.
    return {ref: (await root_of(session, c)).id if c.merged_into_id else c.id for ref, c in found.items()}


async def record_purchase(
    session: AsyncSession, *, customer: str, reference: str, item: str, amount: str, purchased_at: str, zone: str
) -> tuple[PurchaseView, bool]:
    """Record one purchase; a reference already stored is returned as it was (False), never changed."""
    result = await import_rows(session, [(1, [reference, customer, item, amount, purchased_at])], zone)
    if result.errors:
        raise PurchaseError(result.errors[0].message)
    stored = (await repo.by_references(session, [reference.strip()]))[reference.strip()]
    return PurchaseView.of(stored), result.added == 1


async def import_csv(session: AsyncSession, text: str, zone: str) -> ImportResult:
    """Import `reference,customer,item,amount,purchased_at` lines (a header first); all or nothing."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        names = ",".join(CSV_COLUMNS)
        message = f"表头缺少列：{','.join(missing)}（应为 {names}）/ header needs {names}"
        return ImportResult(0, 0, 0, [LineError(1, message)])
    order = [header.index(c) for c in CSV_COLUMNS]
    lines: list[tuple[int, list[str]]] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        cells = [row[i] if i < len(row) else "" for i in order]
        lines.append((reader.line_num, cells))
    return await import_rows(session, lines, zone)


async def import_rows(session: AsyncSession, lines: list[tuple[int, list[str]]], zone: str) -> ImportResult:
    customers = await resolve_customers(session, [cells[1] for _, cells in lines])
    errors: list[LineError] = []
    parsed: dict[str, tuple[int, NewPurchase]] = {}
    for number, cells in lines:
        try:
            row = _parse_line(cells, customers, zone)
        except PurchaseError as exc:
            errors.append(LineError(number, str(exc)))
            continue
        earlier = parsed.get(row.reference)
        if earlier is not None and earlier[1] != row:
            errors.append(LineError(number, f"订单号 {row.reference} 与第 {earlier[0]} 行重复但内容不同 / duplicate"))
        parsed.setdefault(row.reference, (number, row))
    if errors:
        return ImportResult(len(lines), 0, 0, errors)
    existing = await repo.by_references(session, list(parsed))
    conflicts = [
        LineError(number, f"订单号 {ref} 已导入且内容不同，保留原记录 / already imported with other values; kept")
        for ref, (number, row) in parsed.items()
        if ref in existing and _differs(existing[ref], row)
    ]
    added = await repo.add_many_once(session, [row for _, row in parsed.values()])
    return ImportResult(len(lines), len(added), len(parsed) - len(added), [], conflicts)


def _parse_line(cells: list[str], customers: dict[str, int], zone: str) -> NewPurchase:
    reference, customer, item, amount, purchased_at = (c.strip() for c in cells)
    if not reference or len(reference) > MAX_REFERENCE:
        raise PurchaseError(f"订单号为空或超过 {MAX_REFERENCE} 字 / reference empty or too long")
    if customer not in customers:
        known_as = "客户 ID、external_userid 或 openid"
        raise PurchaseError(f"找不到客户 {customer!r}（{known_as}）/ unknown customer {customer!r}")
    if len(item) > MAX_ITEM:
        raise PurchaseError(f"商品名超过 {MAX_ITEM} 字 / item longer than {MAX_ITEM} characters")
    return NewPurchase(reference, customers[customer], item, parse_amount(amount), parse_time(purchased_at, zone))


def _differs(stored: Purchase, row: NewPurchase) -> bool:
    return (stored.customer_id, stored.item, stored.amount_cents, stored.purchased_at) != (
        row.customer_id,
        row.item,
        row.amount_cents,
        row.purchased_at,
    )


async def _customer_id(session: AsyncSession, customer: str | None) -> int | None:
    if customer is None:
        return None
    resolved = await resolve_customers(session, [customer])
    if customer.strip() not in resolved:
        raise PurchaseError(f"找不到客户 {customer!r} / unknown customer {customer!r}")
    return resolved[customer.strip()]


async def list_purchases(session: AsyncSession, limit: int, customer: str | None = None) -> list[PurchaseView]:
    customer_id = await _customer_id(session, customer)
    return [PurchaseView.of(p) for p in await repo.list_recent(session, limit, customer_id)]


async def purchases_page(
    session: AsyncSession, limit: int, customer: str | None = None
) -> tuple[list[PurchaseView], int]:
    """The newest `limit` purchases and how many there are in all (for "显示 N / 共 M")."""
    customer_id = await _customer_id(session, customer)
    rows = await repo.list_recent(session, limit, customer_id)
    return [PurchaseView.of(p) for p in rows], await repo.count_recent(session, customer_id)
