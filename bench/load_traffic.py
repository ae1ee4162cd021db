"""The load test's traffic: an open-loop generator, in its own process, of WeCom callbacks at a fixed rate.

Callbacks are built, encrypted and signed the way bench/ingest.py builds them, of the kinds a busy corp sends: a
member's message to the app, customer-contact and customer-group change events (each makes the bot re-read the
contact or group from the sandbox). kf traffic cannot be forged: its callback carries a token only WeCom issues, so
for a kf message the generator has a customer speak in the sandbox (`/sandbox/act/kf-say`), and the sandbox sends
the real kf_msg_or_event callback (through the same front), whose pull the bot then makes.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Final

import aiohttp

from bot.channels.wecom.crypto import CallbackCrypto, signature

HEADERS: Final = {"Content-Type": "text/xml; charset=utf-8"}
TRANSPORT_ERROR: Final = -1
APP_TEXT: Final = "text"
KF_SAY: Final = "kf-say"
CONTACT: Final = "change_external_contact/edit_external_contact"
CHAT: Final = "change_external_chat/update"
# Share of each kind in the traffic; every kf-say becomes one kf_msg_or_event callback from the sandbox.
MIX: Final = ((APP_TEXT, 0.3), (KF_SAY, 0.2), (CONTACT, 0.25), (CHAT, 0.25))


@dataclass(frozen=True, slots=True)
class Corp:
    corp_id: str
    agent_id: int
    token: str
    aes_key: str


@dataclass(frozen=True, slots=True)
class Plan:
    front_url: str  # .../wecom/callback
    sandbox_url: str
    corp: Corp
    rate: float  # actions per second, all kinds together
    seconds: float
    members: list[str]
    follows: list[tuple[str, str]]  # (member userid, external_userid) pairs the sandbox knows
    chat_ids: list[str]
    kf_customers: list[str]
    questions: list[str]
    seed: int = 18


@dataclass(frozen=True, slots=True)
class Sent:
    at_s: float  # scheduled time since the start
    kind: str
    status: int
    latency_s: float  # generator to 200 through the front (for kf-say: the sandbox's answer to the action)


@dataclass
class Traffic:
    sent: list[Sent] = field(default_factory=list)
    late_starts: int = 0  # deliveries started > 100 ms after their slot (the generator itself fell behind)


def serve(conn: Connection) -> None:
    """Run one plan from the pipe and send back what happened."""
    plan: Plan = conn.recv()
    conn.send(asyncio.run(run_plan(plan)))


class Builder:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.crypto = CallbackCrypto.from_settings(plan.corp.token, plan.corp.aes_key, plan.corp.corp_id)
        self.rng = random.Random(plan.seed)
        self.msg_ids = itertools.count(int(time.time()) * 1000)

    def pick_kind(self) -> str:
        return self.rng.choices([k for k, _ in MIX], [w for _, w in MIX])[0]

    def callback(self, kind: str) -> tuple[str, bytes]:
        """(query string, body) of one signed, encrypted callback of this kind."""
        now = str(int(time.time()))
        corp = self.plan.corp
        head = f"<ToUserName><![CDATA[{corp.corp_id}]]></ToUserName><CreateTime>{now}</CreateTime>"
        if kind == APP_TEXT:
            member = self.rng.choice(self.plan.members)
            plain = (
                f"<xml>{head}<FromUserName><![CDATA[{member}]]></FromUserName><MsgType><![CDATA[text]]></MsgType>"
                f"<Content><![CDATA[{self.rng.choice(self.plan.questions)}]]></Content>"
                f"<MsgId>{next(self.msg_ids)}</MsgId><AgentID>{corp.agent_id}</AgentID></xml>"
            )
        elif kind == CONTACT:
            userid, external = self.rng.choice(self.plan.follows)
            plain = (
                f"<xml>{head}<FromUserName><![CDATA[sys]]></FromUserName><MsgType><![CDATA[event]]></MsgType>"
                "<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[edit_external_contact]]>"
                f"</ChangeType><UserID><![CDATA[{userid}]]></UserID>"
                f"<ExternalUserID><![CDATA[{external}]]></ExternalUserID></xml>"
            )
        else:
            plain = (
                f"<xml>{head}<FromUserName><![CDATA[sys]]></FromUserName><MsgType><![CDATA[event]]></MsgType>"
                "<Event><![CDATA[change_external_chat]]></Event><ChangeType><![CDATA[update]]></ChangeType>"
                f"<ChatId><![CDATA[{self.rng.choice(self.plan.chat_ids)}]]></ChatId>"
                f"<UpdateDetail><![CDATA[{self.rng.choice(('change_name', 'change_notice'))}]]></UpdateDetail></xml>"
            )
        enc = self.crypto.encrypt(plain)
        nonce = str(self.rng.randrange(10**10))
        query = f"msg_signature={signature(corp.token, now, nonce, enc)}&timestamp={now}&nonce={nonce}"
        agent = f"<AgentID><![CDATA[{corp.agent_id}]]></AgentID>" if kind == APP_TEXT else ""
        to_user = f"<ToUserName><![CDATA[{corp.corp_id}]]></ToUserName>"
        body = f"<xml>{to_user}<Encrypt><![CDATA[{enc}]]></Encrypt>{agent}</xml>"
        return query, body.encode()


async def run_plan(plan: Plan) -> Traffic:
    builder = Builder(plan)
    traffic = Traffic()
    tasks: set[asyncio.Task[None]] = set()
    total = int(plan.rate * plan.seconds)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=2000), timeout=timeout) as http:
        started = time.monotonic()
        for i in range(total):
            slot = i / plan.rate
            delay = started + slot - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.1:
                traffic.late_starts += 1
            task = asyncio.create_task(_one(http, builder, builder.pick_kind(), slot, traffic))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)
    return traffic


async def _one(http: aiohttp.ClientSession, builder: Builder, kind: str, slot: float, traffic: Traffic) -> None:
    plan = builder.plan
    sent = time.monotonic()
    try:
        if kind == KF_SAY:
            body = {"customer": builder.rng.choice(plan.kf_customers), "text": builder.rng.choice(plan.questions)}
            async with http.post(f"{plan.sandbox_url}/sandbox/act/kf-say", json=body) as resp:
                await resp.read()
                status = resp.status
        else:
            query, data = builder.callback(kind)
            async with http.post(f"{plan.front_url}?{query}", data=data, headers=HEADERS) as resp:
                await resp.read()
                status = resp.status
    except (aiohttp.ClientError, TimeoutError):
        status = TRANSPORT_ERROR
    traffic.sent.append(Sent(slot, kind, status, time.monotonic() - sent))


def status_counts(traffic: Traffic) -> Counter[tuple[str, int]]:
    return Counter((s.kind, s.status) for s in traffic.sent)
