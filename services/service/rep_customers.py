"""Which of a rep's own customers a name typed in the app means ("静待花开", their remark "花开 上海", or "#12")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.customers import Customer, CustomerFollow

MAX_LISTED: Final = 5


@dataclass(frozen=True, slots=True)
class Found:
    """The one customer meant, or the candidates when the name is not enough (none: nobody of theirs is called that)."""

    customer_id: int | None
    candidates: tuple[tuple[int, str], ...] = ()
    name: str = ""  # the one customer's nickname


def _theirs(userid: str) -> ColumnElement[bool]:
    follows = exists().where(CustomerFollow.customer_id == Customer.id, CustomerFollow.userid == userid)
    return or_(Customer.owner_userid == userid, follows)


async def find_rep_customer(session: AsyncSession, userid: str, typed: str) -> Found:
    """Exact name or the rep's remark first, then a part of either; "#12" or "12" is a customer id of theirs."""
    typed = typed.strip()
    remark = select(CustomerFollow.customer_id).where(CustomerFollow.userid == userid)
    base = select(Customer.id, Customer.name).where(Customer.merged_into_id.is_(None), _theirs(userid))
    if typed.lstrip("#").isdigit():
        found = (await session.execute(base.where(Customer.id == int(typed.lstrip("#"))))).first()
        return Found(int(found[0]), name=found[1] or "") if found else Found(None)
    exact = or_(Customer.name == typed, Customer.id.in_(remark.where(CustomerFollow.remark == typed)))
    rows = (await session.execute(base.where(exact).order_by(Customer.id).limit(MAX_LISTED + 1))).all()
    if not rows:
        pattern = f"%{typed}%"
        partial = or_(Customer.name.like(pattern), Customer.id.in_(remark.where(CustomerFollow.remark.like(pattern))))
        rows = (await session.execute(base.where(partial).order_by(Customer.id).limit(MAX_LISTED + 1))).all()
    if len(rows) == 1:
        return Found(int(rows[0][0]), name=rows[0][1] or "")
    return Found(None, tuple((int(cid), name or "") for cid, name in rows[:MAX_LISTED]))
