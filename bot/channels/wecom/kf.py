"""The kf source: on each `kf_msg_or_event`, kf/sync_msg pages as platform-free events; ingest's page loop stores
each page with its cursor (bot/ingest/pulls.py)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channel_ports import ChannelPage, PageRunner
from bot.channels.wecom.client import JsonObject, WeComApiError, WeComClient
from bot.channels.wecom.kf_messages import customers_in, to_events
from bot.channels.wecom.kf_turns import PullTurns
from bot.events import Event, KfPullRequested, KfSessionChanged, Person
from bot.metrics import Metrics
from storage.repos import contacts

log = logging.getLogger("qunke.kf")

PAGE_LIMIT: Final = 1000
# The token from the callback is valid 10 minutes; a replayed callback after that gets 95007, and the pull goes on
# without a token (WeCom then applies a stricter rate limit, which the client's backoff absorbs).
TOKEN_INVALID: Final = 95007
BATCHGET_MAX: Final = 100
# An unknown or forged cursor: 40058 "invalid Request Parameter" (WECOM.md §3.7; the sandbox's reading) or 50100
# "invalid cursor" (the code WeCom's other cursor APIs use).
CURSOR_REJECTED: Final = frozenset({40058, 50100})
# A runaway has_more (a cursor that never advances) must not spin for ever inside one event.
MAX_PAGES_PER_PULL: Final = 10_000


def cursor_name(open_kfid: str) -> str:
    return f"kf:{open_kfid}"


class KfPuller:
    """`pull(open_kfid, token)`: every waiting page of one kf account, through ingest's page loop."""

    def __init__(self, client: WeComClient, metrics: Metrics, pages: PageRunner) -> None:
        self._client, self._metrics, self._pages = client, metrics, pages
        # One pull per account at a time in this process (the start-up catch-up and a callback's pull would
        # otherwise read, and on a rejected cursor reset, the same pages twice), triggers queued behind it served
        # by one pull (bot/channels/wecom/kf_turns.py); PostgreSQL's row lock covers other processes.
        self.turns: dict[str, PullTurns] = {}

    async def __call__(self, event: Event) -> None:
        assert isinstance(event, KfPullRequested)
        await self.pull(event.open_kfid, event.token)

    async def pull(self, open_kfid: str, token: str) -> int:
        """Read every waiting page; returns how many items were read. Raises (and keeps the cursor) on failure."""
        turns = self.turns.setdefault(open_kfid, PullTurns())
        return await turns.take(lambda: self._pages.run(KfPages(self._client, self._metrics, open_kfid, token)))


class KfPages:
    """One pull's pages of one kf account: kf/sync_msg after a cursor, as platform-free events. Holds the
    callback's token, which is dropped for the rest of the pull once WeCom says it expired."""

    channel: Final = "kf"
    failpoint: Final = "kf.before_commit"
    max_pages: Final = MAX_PAGES_PER_PULL
    commits_empty_pages: Final = True  # WeCom's next_cursor moves on even past a page with nothing for us

    def __init__(self, client: WeComClient, metrics: Metrics, open_kfid: str, token: str) -> None:
        self._client, self._metrics = client, metrics
        self._open_kfid, self._token = open_kfid, token
        self.cursor_name = cursor_name(open_kfid)

    async def read_page(self, session: AsyncSession, cursor: str, now: datetime) -> ChannelPage:
        page, self._token, cursor = await self._sync_or_restart(self._open_kfid, cursor, self._token)
        items = [i for i in page.get("msg_list") or [] if isinstance(i, dict)]
        people = await self._people(session, sorted(customers_in(items)))
        events = [event for item in items for event in to_events(item, people, now)]
        events = [await self._with_state(e) if isinstance(e, KfSessionChanged) else e for e in events]
        return ChannelPage(
            events=events,
            read_from=cursor,
            next_cursor=str(page.get("next_cursor") or cursor),
            has_more=bool(int(page.get("has_more") or 0)),
            items=len(items),
        )

    async def _sync_or_restart(self, open_kfid: str, cursor: str, token: str) -> tuple[JsonObject, str, str]:
        """One page, and the cursor it was read from: a saved cursor WeCom rejects (it forgot it, e.g. a fresh
        sandbox under an old database) is dropped once for an empty one, which reads the last 3 days again;
        stored msgids are recognised, so nothing doubles. A second rejection is not the cursor's fault: raise."""
        try:
            page, token = await self._sync(open_kfid, cursor, token)
            return page, token, cursor
        except WeComApiError as exc:
            if not cursor or exc.errcode not in CURSOR_REJECTED:
                raise
            log.warning(
                "kf/sync_msg rejected the saved cursor of %s (errcode %s: %s); reading the last 3 days again "
                "from an empty cursor (stored messages are recognised by msgid)",
                open_kfid,
                exc.errcode,
                exc.errmsg[:120],
            )
        self._metrics.cursor_resets.labels("kf").inc()
        page, token = await self._sync(open_kfid, "", token)
        return page, token, ""

    async def _sync(self, open_kfid: str, cursor: str, token: str) -> tuple[JsonObject, str]:
        body: JsonObject = {"cursor": cursor, "limit": PAGE_LIMIT, "voice_format": 0, "open_kfid": open_kfid}
        if token:
            body["token"] = token
        try:
            return await self._client.post("/cgi-bin/kf/sync_msg", body), token
        except WeComApiError as exc:
            if exc.errcode != TOKEN_INVALID or not token:
                raise
        log.info("kf token for %s expired; pulling without it", open_kfid)
        body.pop("token")
        return await self._client.post("/cgi-bin/kf/sync_msg", body), ""

    async def _people(self, session: AsyncSession, ids: Sequence[str]) -> dict[str, Person]:
        """Name and unionid of customers seen here for the first time (kf/customer/batchget); known ones as stored."""
        known = await contacts.customers_by_external_ids(session, ids)
        people = {i: Person(external_userid=i, name=c.name, unionid=c.unionid or "") for i, c in known.items()}
        unknown = [i for i in ids if i not in known or not known[i].name]
        for start in range(0, len(unknown), BATCHGET_MAX):
            chunk = unknown[start : start + BATCHGET_MAX]
            try:
                answer = await self._client.post(
                    "/cgi-bin/kf/customer/batchget", {"external_userid_list": chunk, "need_enter_session_context": 0}
                )
            except WeComApiError as exc:
                log.warning("kf/customer/batchget failed (%s); customers stay unnamed until seen again", exc)
                continue
            for raw in answer.get("customer_list") or []:
                ext = str(raw.get("external_userid", ""))
                people[ext] = Person(
                    external_userid=ext, name=str(raw.get("nickname", "")), unionid=str(raw.get("unionid", ""))
                )
        return people

    async def _with_state(self, event: KfSessionChanged) -> KfSessionChanged:
        """Session events say what happened; service_state/get says where the session is now (the source of truth)."""
        try:
            answer = await self._client.post(
                "/cgi-bin/kf/service_state/get",
                {"open_kfid": event.open_kfid, "external_userid": event.customer.external_userid},
            )
        except WeComApiError as exc:
            log.warning("kf/service_state/get failed (%s); keeping the state implied by the event", exc)
            return event
        return dataclasses.replace(
            event,
            state=int(answer.get("service_state", event.state or 0)),
            servicer_userid=str(answer.get("servicer_userid") or event.servicer_userid),
        )
