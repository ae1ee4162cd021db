"""One way to name a customer everywhere (CLI, console, scripts): the numeric id, the external_userid or the OA
openid."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.customers import Customer
from storage.repos import contacts, identity


class UnknownCustomer(LookupError):
    """No customer answers to this name; the message is one line of Chinese for the person who typed it."""

    def __init__(self, ref: str) -> None:
        shown = ref if len(ref) <= 80 else ref[:80] + "…"
        hint = "请用客户 ID（见 qunke customer list）、external_userid 或公众号 openid"
        super().__init__(f"找不到客户「{shown}」：{hint}")
        self.ref = ref


async def resolve_customer(session: AsyncSession, ref: str | int) -> Customer:
    """The customer named by `ref`: a number is an id first; otherwise an external_userid, then an OA openid."""
    text = str(ref).strip()
    if text.isdigit() and len(text) <= 18:
        found = await contacts.customer_by_id(session, int(text))
        if found is not None:
            return found
    if text:
        by_external = await contacts.customers_by_external_ids(session, [text])
        if text in by_external:
            return by_external[text]
        by_openid = await identity.by_openid(session, text)
        if by_openid is not None:
            return by_openid
    raise UnknownCustomer(text)


async def resolve_customer_id(session: AsyncSession, ref: str | int) -> int:
    return (await resolve_customer(session, ref)).id


async def resolve_many(session: AsyncSession, refs: Iterable[str]) -> dict[str, Customer]:
    """Many references at once (an import file): ids, then external_userids, then openids, a query each."""
    wanted = {r.strip() for r in refs if r.strip()}
    found: dict[str, Customer] = {}
    by_id = {int(r) for r in wanted if r.isdigit() and len(r) <= 18}
    if by_id:
        rows = await session.execute(select(Customer).where(Customer.id.in_(by_id)))
        found.update({str(c.id): c for c in rows.scalars()})
    found.update(await contacts.customers_by_external_ids(session, wanted - set(found)))
    left = wanted - set(found)
    if left:
        rows = await session.execute(select(Customer).where(Customer.oa_openid.in_(left)))
        found.update({c.oa_openid: c for c in rows.scalars() if c.oa_openid})
    return found
