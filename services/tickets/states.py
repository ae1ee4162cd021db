"""The ticket state machine: which change may start from which status, where it leads, and why one is refused."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from services.tickets.text import STATUS_TEXT, label
from storage.models.tickets import Ticket, TicketStatus
from storage.repos.tickets import DONE, LIVE


class Problem(StrEnum):
    NOT_FOUND = "not_found"
    NO_CUSTOMER = "no_customer"
    ALREADY_DONE = "already_done"
    CLOSED = "closed"
    NOT_YOURS = "not_yours"
    ALREADY = "already"
    BAD_PRIORITY = "bad_priority"
    NO_MEMBER = "no_member"
    NOT_SENT = "not_sent"  # a reply to an OA follower that could not go (services/tickets/relay.py)


class TicketError(Exception):
    """A change that cannot be made; `message` is the Chinese answer for the rep or operator."""

    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


class Change(StrEnum):
    CLAIM = "claim"  # a rep takes the ticket: the status stays
    PENDING = "pending"
    SOLVE = "solve"
    CLOSE = "close"
    REOPEN = "reopen"
    AUTO_CLOSE = "auto_close"  # the scheduled job (storage.repos.tickets.close_many does it in one UPDATE)


CHANGE_TEXT: Final = {
    Change.CLAIM: "认领",
    Change.PENDING: "挂起",
    Change.SOLVE: "解决",
    Change.CLOSE: "关闭",
    Change.REOPEN: "重新打开",
    Change.AUTO_CLOSE: "自动关闭",
}

# change -> (the statuses it may start from, the status it leads to; None keeps the status)
TRANSITIONS: Final[Mapping[Change, tuple[frozenset[str], TicketStatus | None]]] = {
    Change.CLAIM: (frozenset(LIVE), None),
    Change.PENDING: (frozenset({TicketStatus.OPEN}), TicketStatus.PENDING),
    Change.SOLVE: (frozenset(LIVE), TicketStatus.SOLVED),
    Change.CLOSE: (frozenset({*LIVE, TicketStatus.SOLVED}), TicketStatus.CLOSED),
    Change.REOPEN: (frozenset(DONE), TicketStatus.OPEN),
    Change.AUTO_CLOSE: (frozenset({TicketStatus.SOLVED}), TicketStatus.CLOSED),
}


def allowed(status: str, change: Change) -> bool:
    """Whether `change` may start from `status`."""
    return status in TRANSITIONS[change][0]


def require(ticket: Ticket, change: Change) -> None:
    """Refuse, in Chinese, a change the ticket's status does not allow."""
    if allowed(ticket.status, change):
        return
    if ticket.status == TicketStatus.CLOSED:
        raise TicketError(Problem.CLOSED, f"工单 {label(ticket.id)} 已关闭")
    if ticket.status == TicketStatus.SOLVED:
        raise TicketError(Problem.ALREADY_DONE, f"工单 {label(ticket.id)} 已解决")
    if ticket.status == TicketStatus.PENDING:
        raise TicketError(Problem.ALREADY, f"工单 {label(ticket.id)} 已经是挂起状态")
    status = STATUS_TEXT.get(ticket.status, ticket.status)
    raise TicketError(Problem.ALREADY, f"工单 {label(ticket.id)} 当前{status}，不能{CHANGE_TEXT[change]}")


def require_live(ticket: Ticket) -> None:
    """Refuse any change of a solved or closed ticket (a rep's changes start with this, before who may make them)."""
    require(ticket, Change.CLAIM)


def move(ticket: Ticket, change: Change) -> str:
    """Apply `change` to the ticket's status after `require`; returns the status it left."""
    previous = ticket.status
    target = TRANSITIONS[change][1]
    if target is not None:
        ticket.status = target
    return previous
