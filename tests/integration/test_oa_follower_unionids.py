"""The OA's follower lookup (user/info) against a real sandbox and database, on a clock the test moves: a follower's
events gain their unionid, each follower is asked once until REASK_S passes, an OA that does not answer pauses the
asking for PAUSE_S, and a follower is asked again after it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.officialaccount.client import OfficialAccountClient
from bot.channels.officialaccount.followers import PAUSE_S, REASK_S, FollowerUnionids
from bot.channels.officialaccount.normalize import event_from_oa_payload
from bot.events import ChatMessage, Event, OaFollowChanged
from bot.metrics import Metrics
from sandbox.app import create_app as create_sandbox
from sandbox.config import SandboxConfig
from storage.db import make_sessionmaker
from tests.support.stack import DEMO

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@dataclass
class Lookup:
    client: OfficialAccountClient
    engine: AsyncEngine
    followers: dict[str, dict[str, Any]]
    metrics: Metrics = field(default_factory=Metrics)
    seconds: float = 0.0  # the enricher's monotonic clock, moved by the test

    def __post_init__(self) -> None:
        self.enricher = FollowerUnionids(lambda: self.client, lambda: self.metrics, clock=lambda: self.seconds)

    async def enrich(self, *events: Event) -> list[Event | Exception]:
        async with make_sessionmaker(self.engine)() as session:
            return await self.enricher.enrich(session, list(events))

    def reads(self, result: str) -> float:
        value = self.metrics.registry.get_sample_value("qunke_oa_user_info_total", {"result": result})
        return value or 0.0


async def lookup_against(engine: AsyncEngine, api_base: str, followers: dict[str, Any]) -> AsyncIterator[Lookup]:
    async with aiohttp.ClientSession() as http:
        yield Lookup(OfficialAccountClient(http, api_base, DEMO.oa.app_id, DEMO.oa.secret, 5.0), engine, followers)


@pytest.fixture
async def sandbox_lookup(engine: AsyncEngine) -> AsyncIterator[Lookup]:
    server = TestServer(create_sandbox(SandboxConfig()))
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http, http.get(server.make_url("/sandbox/state")) as resp:
            followers = {f["nickname"]: f for f in (await resp.json())["oa_followers"]}
        async for lookup in lookup_against(engine, str(server.make_url("/oa")), followers):
            yield lookup
    finally:
        await server.close()


def said(openid: str, text: str = "你好") -> Event:
    xml = (
        f"<xml><ToUserName>gh_x</ToUserName><FromUserName>{openid}</FromUserName><CreateTime>1796600000</CreateTime>"
        f"<MsgType>text</MsgType><Content>{text}</Content><MsgId>1</MsgId></xml>"
    )
    return event_from_oa_payload(xml, "oa:msg:1", NOW)


def unionid_of(event: Event | Exception) -> str:
    if isinstance(event, OaFollowChanged):
        return event.unionid
    assert isinstance(event, ChatMessage) and event.customer is not None
    return event.customer.unionid


async def test_follower_events_gain_the_unionid_and_are_asked_once_when_the_oa_answers(
    sandbox_lookup: Lookup,
) -> None:
    lookup = sandbox_lookup
    wang = lookup.followers["王姐(宝妈)"]
    first = await lookup.enrich(OaFollowChanged(NOW, "f", wang["openid"], True), said(wang["openid"]))
    assert [unionid_of(e) for e in first] == [wang["unionid"], wang["unionid"]]
    assert lookup.reads("unionid") == 1  # one read for both events of the batch
    lookup.seconds += REASK_S - 1
    assert [unionid_of(e) for e in await lookup.enrich(said(wang["openid"]))] == [""]  # not asked again yet
    lookup.seconds += 1
    assert [unionid_of(e) for e in await lookup.enrich(said(wang["openid"]))] == [wang["unionid"]]
    assert lookup.reads("unionid") == 2


async def test_follower_without_unionid_is_not_asked_again_when_asked_once(sandbox_lookup: Lookup) -> None:
    lookup = sandbox_lookup
    anonymous = lookup.followers["匿名访客"]["openid"]
    for _ in range(3):
        assert [unionid_of(e) for e in await lookup.enrich(said(anonymous))] == [""]
    assert (lookup.reads("no_unionid"), lookup.reads("failed")) == (1, 0)


async def test_follower_is_asked_again_after_the_pause_when_the_oa_did_not_answer(engine: AsyncEngine) -> None:
    # Nothing listens on port 9: the read fails to connect at once.
    async for lookup in lookup_against(engine, "http://127.0.0.1:9/oa", {}):
        openid = "oQunkeFollowerUnreachable00"
        assert [unionid_of(e) for e in await lookup.enrich(said(openid))] == [""]
        assert lookup.reads("failed") == 1
        await lookup.enrich(said(openid))
        assert lookup.reads("failed") == 1  # paused: nobody is asked meanwhile
        lookup.seconds += PAUSE_S
        await lookup.enrich(said(openid))
        assert lookup.reads("failed") == 2  # asked again on the next message after the pause
