"""What every console handler reaches: the config, the database, the clock, the login throttle, the viewer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.policy import CampaignPolicy
from console.wecom_exchange import WecomLogin
from services.access.accounts import LoginThrottle
from services.access.audit import Origin
from services.access.viewer import Viewer
from services.clock import Clock
from services.tickets.relay import RelayRules

SESSION_COOKIE: Final = "qunke_session"
LOGIN_CSRF_COOKIE: Final = "qunke_login_csrf"


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    idle_timeout: timedelta = timedelta(hours=2)
    # Trust X-Forwarded-Proto/-For only when a reverse proxy in front sets them; otherwise any client could.
    trust_proxy: bool = False
    timezone: str = "Asia/Shanghai"
    # Quiet hours, caps and the calendar for campaign previews; None: the defaults in the console's time zone.
    campaigns: CampaignPolicy | None = None
    wecom_login: WecomLogin | None = None  # None: password login only
    # The sender's OA window, the business calendar and ticket rules for a reply to an OA follower; None: defaults.
    relay: RelayRules | None = None


@dataclass(slots=True)
class ConsoleDeps:
    config: ConsoleConfig
    sessions: Callable[[], async_sessionmaker[AsyncSession]]
    clock: Clock
    throttle: LoginThrottle = field(default_factory=LoginThrottle)


CONSOLE: Final = web.AppKey("console", ConsoleDeps)
VIEWER: Final = web.RequestKey("console.viewer", Viewer)
CSRF: Final = web.RequestKey("console.csrf", str)


def deps(request: web.Request) -> ConsoleDeps:
    return request.config_dict[CONSOLE]


def db(request: web.Request) -> AsyncSession:
    """A new database session for this request's unit of work (the caller commits)."""
    return deps(request).sessions()()


def now(request: web.Request) -> datetime:
    return deps(request).clock.now()


def viewer(request: web.Request) -> Viewer:
    found = request.get(VIEWER)
    assert isinstance(found, Viewer), "route reached without a login; check console/access.py"
    return found


def client_ip(request: web.Request) -> str:
    if deps(request).config.trust_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.remote or ""


def is_secure(request: web.Request) -> bool:
    if request.secure:
        return True
    return deps(request).config.trust_proxy and request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def origin(request: web.Request) -> Origin:
    found = request.get(VIEWER)
    actor = found.actor if isinstance(found, Viewer) else "anonymous"
    return Origin(actor=actor, ip=client_ip(request))


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str) -> None:
    response.set_cookie(name, value, path="/console", httponly=True, samesite="Lax", secure=is_secure(request) or None)
