"""Who a new OA follower is: their unionid from the OA's user/info, added to their events before they are handled,
so a follower who is also a WeCom customer lands on that customer's profile (services/customers/identity.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.apiclient import ApiError, ApiUnavailable, ErrorClass
from bot.channels.officialaccount.client import OfficialAccountClient
from bot.events import ChatMessage, Event, MessageChannel, OaFollowChanged
from bot.metrics import Metrics
from storage.repos import identity

log = logging.getLogger("qunke.officialaccount")

USER_INFO_PATH: Final = "/cgi-bin/user/info"
# A follower who had no unionid (the OA not bound to the open platform account then) is asked again after this.
REASK_S: Final = 24 * 3600
# Answers remembered per process; past this the oldest are forgotten (and asked again if they write).
REMEMBER_MAX: Final = 100_000
CONCURRENT_READS: Final = 4
# After a timeout, a refused connection or a rate limit nobody is asked for this long: an OA that hangs would
# otherwise hold every batch with a new follower for the client's timeout.
PAUSE_S: Final = 60.0


class FollowerUnionids:
    """The OA's EventEnricher: a follower's message or follow, when their profile has no unionid and this process
    has not asked about them within REASK_S, gets the unionid user/info gives. A failed read is one log line and
    a metric; the event is handled as it came and the follower is asked again on their next message (after
    PAUSE_S when the OA did not answer at all)."""

    def __init__(
        self,
        client: Callable[[], OfficialAccountClient | None],
        metrics: Callable[[], Metrics],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Getters: the client and the metrics exist once the bot starts; the enricher is registered before that.
        self._client, self._metrics, self._clock = client, metrics, clock
        self._asked: dict[str, float] = {}  # openid -> when user/info answered (insertion order: oldest first)
        self._paused_until = 0.0

    async def enrich(self, session: AsyncSession, events: Sequence[Event | Exception]) -> list[Event | Exception]:
        client = self._client()
        wanted = self._unasked({o for e in events if (o := _openid_without_unionid(e))})
        if client is None or not wanted or self._clock() < self._paused_until:
            return list(events)
        known = await identity.unionids_of_openids(session, wanted)
        for openid in (o for o in wanted if known.get(o)):
            self._remember(openid)  # linked already: no lookup of their profile on each message either
        wanted = [o for o in wanted if not known.get(o)]
        gate = asyncio.Semaphore(CONCURRENT_READS)

        async def ask(openid: str) -> tuple[str, str | None]:
            async with gate:
                return openid, await self._unionid(client, openid)

        answers = {o: u for o, u in await asyncio.gather(*(ask(o) for o in wanted)) if u}
        return [_with_unionid(e, answers) for e in events]

    def _unasked(self, openids: set[str]) -> list[str]:
        now = self._clock()
        return sorted(o for o in openids if now - self._asked.get(o, -REASK_S) >= REASK_S)

    async def _unionid(self, client: OfficialAccountClient, openid: str) -> str | None:
        """The follower's unionid, "" when they have none; None when the OA could not say (asked again later)."""
        try:
            answer = await client.call_once("GET", USER_INFO_PATH, params={"openid": openid, "lang": "zh_CN"})
        except (ApiError, ApiUnavailable) as exc:
            self._metrics().oa_user_info.labels("failed").inc()
            if isinstance(exc, ApiUnavailable) or exc.error_class is ErrorClass.RATE_LIMIT:
                self._paused_until = self._clock() + PAUSE_S
                log.warning("OA user/info for %s failed (%s); nobody is asked for %.0f s", openid, exc, PAUSE_S)
            else:
                log.warning("OA user/info for %s failed (%s); asking again on their next message", openid, exc)
            return None
        unionid = str(answer.get("unionid") or "")
        self._remember(openid)
        self._metrics().oa_user_info.labels("unionid" if unionid else "no_unionid").inc()
        return unionid

    def _remember(self, openid: str) -> None:
        self._asked.pop(openid, None)
        self._asked[openid] = self._clock()
        while len(self._asked) > REMEMBER_MAX:
            del self._asked[next(iter(self._asked))]


def _openid_without_unionid(event: Event | Exception) -> str:
    """The follower an OA event is from, when the event does not carry their unionid yet; else ""."""
    if isinstance(event, OaFollowChanged) and event.followed and not event.unionid:
        return event.openid
    if isinstance(event, ChatMessage) and event.channel is MessageChannel.OA and event.customer is not None:
        return event.customer.openid if not event.customer.unionid else ""
    return ""


def _with_unionid(event: Event | Exception, unionids: dict[str, str]) -> Event | Exception:
    openid = _openid_without_unionid(event)
    if not openid or openid not in unionids:
        return event
    if isinstance(event, OaFollowChanged):
        return dataclasses.replace(event, unionid=unionids[openid])
    assert isinstance(event, ChatMessage) and event.customer is not None
    return dataclasses.replace(event, customer=dataclasses.replace(event.customer, unionid=unionids[openid]))
