"""The CLI's reads as one console user sees them (`--as-user`): the same Viewer scope as the console's pages."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.access.accounts import viewer_of
from services.access.viewer import Viewer, can_see_customer, can_see_ticket, customer_scope, ticket_scope
from services.customers.profiles import CustomerSummary, lifecycle_status
from services.customers.refs import UnknownCustomer
from services.service.followups import FollowupView, list_followups
from services.tickets.views import TicketView, _names, _view
from storage.models.campaigns import Followup
from storage.models.console import Role, User
from storage.models.customers import Customer
from storage.repos import contacts
from storage.repos import tickets as tickets_repo

# Who runs the CLI without --as-user: the operator on the server, who sees everything (as before).
OPERATOR: Final = Viewer(user_id=0, login="operator", role=Role.ADMIN)


class ViewerError(LookupError):
    """No enabled console user answers to this name; one line of Chinese."""


class NotForViewer(PermissionError):
    """A read this viewer's role may not make (a rep and the managers' reports), as the console's 403."""


async def viewer_for(session: AsyncSession, userid: str) -> Viewer:
    """The Viewer of the console user with this login or WeCom userid; a disabled one is refused like the console."""
    wanted = userid.strip()
    found = (
        (await session.execute(select(User).where(or_(User.login == wanted, User.wecom_userid == wanted))))
        .scalars()
        .all()
    )
    user = next((u for u in found if u.login == wanted), found[0] if found else None)
    if user is None:
        raise ViewerError(f"--as-user：没有登录名或企业微信 userid 为「{wanted}」的控制台用户（见 qunke user list）")
    if user.disabled:
        raise ViewerError(f"--as-user：控制台用户「{user.login}」已停用")
    return viewer_of(user)


def require_manager(viewer: Viewer, what: str) -> None:
    """Reports are for managers and admins (the console's 报表 answers a rep 403)."""
    if not viewer.sees_all:
        raise NotForViewer(f"{what}仅限经理和管理员查看（--as-user {viewer.login} 是客服）")


async def customers_in_scope(
    session: AsyncSession, viewer: Viewer, limit: int, offset: int
) -> tuple[list[CustomerSummary], int]:
    """`customer list` for a viewer: the same rows and order as the operator's list, within the viewer's scope."""
    where = [Customer.merged_into_id.is_(None), customer_scope(viewer)]
    total = int(await session.scalar(select(func.count()).select_from(Customer).where(*where)) or 0)
    stmt = select(Customer).where(*where).order_by(Customer.id).limit(limit).offset(offset)
    rows = list((await session.execute(stmt)).scalars())
    names = await contacts.members_by_ids(session, {c.owner_userid for c in rows if c.owner_userid})
    summaries = [
        CustomerSummary(
            id=c.id,
            external_userid=c.external_userid,
            name=c.name,
            owner_userid=c.owner_userid,
            owner_name=names[c.owner_userid].name if c.owner_userid in names else "",
            status=lifecycle_status(c.became_contact_at, c.lost_at),
            first_seen_at=c.first_seen_at,
        )
        for c in rows
    ]
    return summaries, total


async def check_customer(session: AsyncSession, viewer: Viewer, customer_id: int, ref: str) -> None:
    """Another rep's customer is "not found", word for word as an unknown one (no existence leak)."""
    if not await can_see_customer(session, viewer, customer_id):
        raise UnknownCustomer(ref)


async def tickets_in_scope(
    session: AsyncSession, viewer: Viewer, filters: tickets_repo.TicketFilter, now: datetime
) -> tuple[list[TicketView], int]:
    """`ticket list` for a viewer: the filters within the viewer's ticket scope, newest first, and the total."""
    scope = ticket_scope(viewer)
    found = await tickets_repo.find(session, filters, scope)
    names = await _names(session, [t.customer_id for t in found])
    return [_view(t, names.get(t.customer_id, ""), now) for t in found], await tickets_repo.count(
        session, filters, scope
    )


async def can_read_ticket(session: AsyncSession, viewer: Viewer, ticket_id: int) -> bool:
    return viewer.sees_all or await can_see_ticket(session, viewer, ticket_id)


def followup_scope(viewer: Viewer) -> ColumnElement[bool]:
    """A rep's own follow-ups and those about customers in their scope; everyone's for managers."""
    if viewer.sees_all:
        return true()
    if not viewer.wecom_userid:
        return false()
    visible = select(Customer.id).where(customer_scope(viewer))
    return or_(Followup.member_userid == viewer.wecom_userid, Followup.customer_id.in_(visible))


async def followups_in_scope(
    session: AsyncSession, viewer: Viewer, member: str | None, status: str | None, limit: int
) -> tuple[list[FollowupView], int]:
    return await list_followups(session, member=member, status=status, limit=limit, scope=followup_scope(viewer))
