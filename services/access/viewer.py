"""Who is looking (DESIGN.md §12): every console read takes a Viewer, and the scope is enforced here, not in pages."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.console import Role
from storage.models.customers import Customer, CustomerFollow
from storage.models.tickets import Ticket


@dataclass(frozen=True, slots=True)
class Viewer:
    user_id: int
    login: str
    role: Role
    wecom_userid: str | None = None
    name: str = ""  # the account's display name ("张三"); the console's header shows it before the login

    @property
    def sees_all(self) -> bool:
        return self.role in (Role.ADMIN, Role.MANAGER)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def actor(self) -> str:
        """How this viewer appears in the audit log and ticket history."""
        return f"user:{self.login}"


def customer_scope(viewer: Viewer) -> ColumnElement[bool]:
    """A WHERE clause over `customers`: a rep's own or followed customers, everyone for managers and admins."""
    if viewer.sees_all:
        return true()
    if not viewer.wecom_userid:
        return false()  # a rep bound to no member owns nobody
    follows = exists().where(CustomerFollow.customer_id == Customer.id, CustomerFollow.userid == viewer.wecom_userid)
    return or_(Customer.owner_userid == viewer.wecom_userid, follows)


def ticket_scope(viewer: Viewer) -> ColumnElement[bool]:
    """A WHERE clause over `tickets`: a rep's assigned tickets and those of customers in their scope."""
    if viewer.sees_all:
        return true()
    if not viewer.wecom_userid:
        return false()
    visible = select(Customer.id).where(customer_scope(viewer))
    return or_(Ticket.assignee_userid == viewer.wecom_userid, Ticket.customer_id.in_(visible))


async def can_see_customer(session: AsyncSession, viewer: Viewer, customer_id: int) -> bool:
    """Whether the customer exists *and* is in scope; callers answer 404 either way (no existence leak)."""
    found = await session.execute(select(Customer.id).where(Customer.id == customer_id, customer_scope(viewer)))
    return found.first() is not None


async def can_see_ticket(session: AsyncSession, viewer: Viewer, ticket_id: int) -> bool:
    found = await session.execute(select(Ticket.id).where(Ticket.id == ticket_id, ticket_scope(viewer)))
    return found.first() is not None
