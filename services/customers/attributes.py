"""Customer attributes from a CSV (birthday, renewal date, operator-defined fields): all or nothing, idempotent."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.customers.profiles import attributes_of as attributes_of
from services.purchases.recording import LineError, resolve_customers
from storage.db import dialect_of
from storage.models.campaigns import CustomerAttribute

CUSTOMER_COLUMN: Final = "customer"
DATE_ATTRIBUTES: Final = frozenset({"birthday", "renewal_date"})  # checked as dates; others are free text
NAME_PATTERN: Final = re.compile(r"^[\w\u4e00-\u9fff][\w\u4e00-\u9fff.-]{0,63}$")
MAX_VALUE: Final = 512


@dataclass(frozen=True, slots=True)
class AttributeImport:
    """What an import did: rows read, values written or changed, values already so; nothing when `errors`."""

    rows: int
    written: int
    unchanged: int
    attributes: list[str]
    errors: list[LineError] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_date(text: str) -> str:
    """YYYY-MM-DD, also written YYYY/MM/DD or YYYY.MM.DD; returned as YYYY-MM-DD."""
    cleaned = re.sub(r"[/.]", "-", text.strip())
    try:
        return date.fromisoformat("-".join(p.zfill(2) for p in cleaned.split("-"))).isoformat()
    except ValueError:
        raise ValueError(f"日期应为 YYYY-MM-DD / expected a date YYYY-MM-DD, got {text!r}") from None


async def import_attributes(session: AsyncSession, text: str, now: datetime) -> AttributeImport:
    """A header `customer,<attribute>,<attribute>...` then one customer per line; an empty cell leaves the value."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = [h.strip() for h in next(reader, [])]
    errors = _check_header(header)
    if errors:
        return AttributeImport(0, 0, 0, [], errors)
    names = header[1:]
    lines = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    customers = await resolve_customers(session, [row[0] if row else "" for _, row in lines])
    values: dict[tuple[int, str], tuple[int, str]] = {}
    for number, row in lines:
        errors.extend(_parse_row(number, row, names, customers, values))
    if errors:
        return AttributeImport(len(lines), 0, 0, names, errors)
    written = await _upsert(session, values, now)
    return AttributeImport(len(lines), written, len(values) - written, names)


def _check_header(header: list[str]) -> list[LineError]:
    if not header or header[0].lower() != CUSTOMER_COLUMN or len(header) < 2:
        return [LineError(1, "表头应为 customer,属性名,属性名… / header must be customer,<attribute>,...")]
    bad = [name for name in header[1:] if not NAME_PATTERN.match(name)]
    dupes = sorted({name for name in header[1:] if header[1:].count(name) > 1})
    problems = [LineError(1, f"属性名无效 / invalid attribute name {name!r}") for name in bad]
    problems += [LineError(1, f"属性名重复 / attribute {name!r} appears twice") for name in dupes]
    return problems


def _parse_row(
    number: int,
    row: list[str],
    names: list[str],
    customers: dict[str, int],
    values: dict[tuple[int, str], tuple[int, str]],
) -> list[LineError]:
    ref = row[0].strip() if row else ""
    if ref not in customers:
        return [LineError(number, f"找不到客户 {ref!r}（客户 ID 或 external_userid）/ unknown customer {ref!r}")]
    if len(row) > len(names) + 1:
        return [LineError(number, f"列数多于表头（{len(row)} > {len(names) + 1}）/ more cells than the header")]
    problems: list[LineError] = []
    for name, cell in zip(names, row[1:], strict=False):
        value = cell.strip()
        if not value:
            continue
        try:
            value = parse_date(value) if name in DATE_ATTRIBUTES else value
        except ValueError as exc:
            problems.append(LineError(number, f"{name}: {exc}"))
            continue
        if len(value) > MAX_VALUE:
            problems.append(LineError(number, f"{name}: 超过 {MAX_VALUE} 字 / longer than {MAX_VALUE} characters"))
            continue
        earlier = values.get((customers[ref], name))
        if earlier is not None and earlier[1] != value:
            problems.append(LineError(number, f"{name}: 与第 {earlier[0]} 行的值不同 / differs from line {earlier[0]}"))
        values.setdefault((customers[ref], name), (number, value))
    return problems


async def _upsert(session: AsyncSession, values: dict[tuple[int, str], tuple[int, str]], now: datetime) -> int:
    if not values:
        return 0
    stored = {
        (cid, name): value
        for cid, name, value in await session.execute(
            select(CustomerAttribute.customer_id, CustomerAttribute.name, CustomerAttribute.value).where(
                CustomerAttribute.customer_id.in_({cid for cid, _ in values})
            )
        )
    }
    changed = [
        {"customer_id": cid, "name": name, "value": value, "updated_at": now}
        for (cid, name), (_, value) in values.items()
        if stored.get((cid, name)) != value
    ]
    if changed:
        insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
        statement = insert(CustomerAttribute)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["customer_id", "name"],
                set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
            ),
            changed,
        )
    return len(changed)
