"""Router tree and Dispatcher in the aiogram 3 style: nested routers, filters, middlewares, first match wins."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config.settings import Settings
from bot.events import Event
from bot.metrics import Metrics
from bot.policies import Policies, policies_from
from services.clock import Clock
from services.customers.directory import ContactDirectory
from services.faq.engine import FaqEngine

if TYPE_CHECKING:
    from bot.ingest.page import Page

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)


@dataclass(frozen=True, slots=True)
class Features:
    """Long-lived, read-mostly state that handlers use beyond one unit of work; one instance per app (bot/app.py).
    Every field is required: a forgotten FAQ engine must be a type error, not a bot that silently never answers."""

    settings: Settings
    policies: Policies  # built once from `settings` (bot/policies.py): handlers never rebuild them per event
    faq: FaqEngine | None  # the FAQ matcher, rebuilt when the KB changes (None: FAQ answering off)
    metrics: Metrics | None  # the app's Prometheus metrics, for handlers that count what they did (None: not counted)

    @classmethod
    def of(cls, settings: Settings, faq: FaqEngine | None, metrics: Metrics | None) -> Features:
        """The features of `settings`, with their policies built now."""
        return cls(settings=settings, policies=policies_from(settings), faq=faq, metrics=metrics)


@dataclass(frozen=True, slots=True)
class Context:
    """What a handler may use: the unit of work's session, the clock, read access to the corp's directory, and the
    app's feature state (settings, the FAQ matcher)."""

    session: AsyncSession
    clock: Clock
    directory: ContactDirectory
    features: Features
    page: Page | None = None  # set by intake for a page of new messages: their facts, loaded once (bot/ingest/page.py)


Handler = Callable[[Any, Context], Awaitable[None]]
Filter = Callable[[Any], bool]
Next = Callable[[Event, Context], Awaitable[bool]]


class Middleware(Protocol):
    async def __call__(self, handler: Next, event: Event, ctx: Context) -> bool: ...


@dataclass(frozen=True, slots=True)
class _Registration:
    event_type: type[Event]
    filters: tuple[Filter, ...]
    handler: Handler

    def matches(self, event: Event) -> bool:
        return isinstance(event, self.event_type) and all(f(event) for f in self.filters)


class Router:
    """Holds handlers and child routers; the first registration whose type and filters match handles the event.

    Watchers are the exception, for features that must each see every event of a kind (a customer message is an
    answer to a survey, a start of a wait and maybe an FAQ question): every matching watcher in the tree runs, in
    tree order, before the first-match handlers.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._registrations: list[_Registration] = []
        self._watchers: list[_Registration] = []
        self._children: list[Router] = []

    def on(self, event_type: type[E], *filters: Filter) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._registrations.append(_Registration(event_type, filters, handler))
            return handler

        return register

    def watch(self, event_type: type[E], *filters: Filter) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._watchers.append(_Registration(event_type, filters, handler))
            return handler

        return register

    def include_router(self, router: Router) -> Router:
        if router is self or self in router._descendants():
            raise ValueError(f"router {router.name!r} would create a cycle")
        self._children.append(router)
        return router

    def _descendants(self) -> list[Router]:
        found: list[Router] = []
        for child in self._children:
            found.append(child)
            found.extend(child._descendants())
        return found

    async def propagate(self, event: Event, ctx: Context) -> bool:
        watched = await self._run_watchers(event, ctx)
        return await self._first_match(event, ctx) or watched

    async def _run_watchers(self, event: Event, ctx: Context) -> bool:
        ran = False
        for registration in self._watchers:
            if registration.matches(event):
                await registration.handler(event, ctx)
                ran = True
        for child in self._children:
            ran = await child._run_watchers(event, ctx) or ran
        return ran

    async def _first_match(self, event: Event, ctx: Context) -> bool:
        for registration in self._registrations:
            if registration.matches(event):
                await registration.handler(event, ctx)
                return True
        for child in self._children:
            if await child._first_match(event, ctx):
                return True
        return False


class Dispatcher(Router):
    """The root router; outer middlewares wrap every event before the router tree sees it."""

    def __init__(self) -> None:
        super().__init__("root")
        self._outer: list[Middleware] = []

    def add_outer_middleware(self, middleware: Middleware) -> None:
        self._outer.append(middleware)

    async def feed(self, event: Event, ctx: Context) -> bool:
        """Run the event through the middlewares and the router tree; True when a handler took it."""
        call: Next = self.propagate
        for middleware in reversed(self._outer):
            call = _bind(middleware, call)
        return await call(event, ctx)


def _bind(middleware: Middleware, nxt: Next) -> Next:
    async def wrapped(event: Event, ctx: Context) -> bool:
        return await middleware(nxt, event, ctx)

    return wrapped
