"""Ingest worker benchmark: stored inbox events drained to done per second, by batch size, SQLite and PostgreSQL.

A real `qunke sandbox serve` holds the corp (customers added by reps, groups of ten); the bot runs in this process
(`create_app`, as `qunke serve` builds it, without the HTTP site). Each measured run starts on a fresh database, warms
it with one re-read of every group (untimed: a corp already synced), then stores N callbacks of a realistic mix in
the inbox at once and times the worker until every one is done. Batch size 1 (one transaction per event, the old
path) is the baseline, measured in the same run.

    nice -n 10 .venv/bin/python bench/ingest_worker.py --n 2000
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `bench.*` and `tests.*` live beside the installed packages

from aiohttp import web  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bench.ingest import make_durable  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.channels.wecom.parse import parse_xml, to_callback  # noqa: E402
from bot.config.platform import DatabaseSettings, IngestSettings, WeComSettings  # noqa: E402
from bot.config.settings import Settings  # noqa: E402
from services.customers.lifecycle import INTERNAL_SOURCE, RESYNC_KIND  # noqa: E402
from storage.db import create_db_engine, make_sessionmaker  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models.inbox import InboundEvent, InboxStatus  # noqa: E402
from storage.repos.inbound import NewInbound, insert_many_if_new  # noqa: E402
from tests.e2e.harness import DEMO_ENV, Stack, make_archive_keys  # noqa: E402
from tests.support.postgres import PostgresUnavailable, start_cluster  # noqa: E402

# The load test's mix (bench/load_traffic.py) without kf, whose callback only WeCom can issue: members' messages
# to the app, contact edits and group updates (each a re-read from the sandbox), and the bot's own group re-reads.
MIX: Final = (("text", 0.35), ("contact", 0.25), ("chat", 0.25), ("resync", 0.15))


@dataclass(frozen=True, slots=True)
class Corp:
    members: list[str]
    follows: list[tuple[str, str]]
    chat_ids: list[str]


@dataclass(frozen=True, slots=True)
class Result:
    backend: str
    batch: int
    n: int
    seconds: float
    done: int
    failed: int

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


def plain(kind: str, corp: Corp, rng: random.Random, msg_id: int) -> str:
    corp_id = DEMO_ENV["WECOM_CORP_ID"]
    head = f"<ToUserName><![CDATA[{corp_id}]]></ToUserName><CreateTime>{int(time.time())}</CreateTime>"
    if kind == "text":
        return (
            f"<xml>{head}<FromUserName><![CDATA[{rng.choice(corp.members)}]]></FromUserName>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[请问发货了吗 {msg_id}]]></Content>"
            f"<MsgId>{msg_id}</MsgId><AgentID>{DEMO_ENV['WECOM_AGENT_ID']}</AgentID></xml>"
        )
    if kind == "contact":
        userid, external = rng.choice(corp.follows)
        return (
            f"<xml>{head}<FromUserName><![CDATA[sys]]></FromUserName><MsgType><![CDATA[event]]></MsgType>"
            "<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[edit_external_contact]]>"
            f"</ChangeType><UserID><![CDATA[{userid}]]></UserID>"
            f"<ExternalUserID><![CDATA[{external}]]></ExternalUserID></xml>"
        )
    return (
        f"<xml>{head}<FromUserName><![CDATA[sys]]></FromUserName><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[change_external_chat]]></Event><ChangeType><![CDATA[update]]></ChangeType>"
        f"<ChatId><![CDATA[{rng.choice(corp.chat_ids)}]]></ChatId>"
        f"<UpdateDetail><![CDATA[change_notice]]></UpdateDetail><MsgId>{msg_id}</MsgId></xml>"
    )


def inbox_rows(n: int, corp: Corp, seed: int, kinds: list[str]) -> list[NewInbound]:
    rng, ids, now = random.Random(seed), itertools.count(seed * 10_000_000), datetime.now(UTC)
    rows = []
    mix = [(k, w) for k, w in MIX if k in kinds]
    for kind in rng.choices([k for k, _ in mix], [w for _, w in mix], k=n):
        msg_id = next(ids)
        if kind == "resync":
            rows.append(resync_row(rng.choice(corp.chat_ids), f"bench:{msg_id}", now))
            continue
        text = plain(kind, corp, rng, msg_id)
        cb = to_callback(parse_xml(text))
        rows.append(NewInbound(f"{cb.dedupe_key}:{msg_id}", "wecom", cb.kind, text, now))
    return rows


def resync_row(chat_id: str, reason: str, now: datetime) -> NewInbound:
    return NewInbound(f"{reason}:{chat_id}", INTERNAL_SOURCE, RESYNC_KIND, f'{{"chat_id": "{chat_id}"}}', now)


async def counts(engine: AsyncEngine) -> Counter[str]:
    async with engine.connect() as db:
        rows = (await db.execute(select(InboundEvent.status, func.count()).group_by(InboundEvent.status))).all()
    return Counter({str(status): int(count) for status, count in rows})


async def store(url: str, rows: list[NewInbound]) -> None:
    engine = create_db_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            for start in range(0, len(rows), 500):
                await insert_many_if_new(session, rows[start : start + 500])
    finally:
        await engine.dispose()


async def drained(url: str, expected: int, within_s: float) -> Counter[str]:
    """Poll (one connection, every 0.2 s: the poll runs on the bot's own event loop) until `expected` are finished."""
    engine = create_db_engine(url)
    deadline = time.monotonic() + within_s
    try:
        while True:
            seen = await counts(engine)
            if seen[InboxStatus.DONE] + seen[InboxStatus.FAILED] >= expected or time.monotonic() > deadline:
                return seen
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()


async def measure(backend: str, url: str, sandbox_url: str, corp: Corp, batch: int, args: argparse.Namespace) -> Result:
    await asyncio.to_thread(upgrade, url)
    wecom = WeComSettings(
        api_base=sandbox_url,
        corp_id=DEMO_ENV["WECOM_CORP_ID"],
        agent_id=int(DEMO_ENV["WECOM_AGENT_ID"]),
        secret=DEMO_ENV["WECOM_SECRET"],
        token=DEMO_ENV["WECOM_TOKEN"],
        aes_key=DEMO_ENV["WECOM_AES_KEY"],
    )
    ingest = IngestSettings(sync_groups_on_start=False, import_contacts_on_start=False, batch_size=batch)
    runner = web.AppRunner(create_app(Settings(database=DatabaseSettings(url=url), wecom=wecom, ingest=ingest)))
    now = datetime.now(UTC)
    await store(url, [resync_row(chat_id, "warm", now) for chat_id in corp.chat_ids])
    await runner.setup()  # starts the worker, which wakes on its poll
    try:
        await drained(url, len(corp.chat_ids), 600)
        rows = inbox_rows(args.n, corp, batch + (backend == "postgresql") * 7, args.kinds)
        started = time.monotonic()
        await store(url, rows)
        seen = await drained(url, len(corp.chat_ids) + args.n, 1800)
        elapsed = time.monotonic() - started
    finally:
        await runner.cleanup()
    done = seen[InboxStatus.DONE] - len(corp.chat_ids)
    return Result(backend, batch, args.n, elapsed, done, seen[InboxStatus.FAILED])


def seed_corp(stack: Stack, customers: int, groups: int) -> Corp:
    members = [m["userid"] for m in stack.state()["members"]]
    made = []
    for i in range(customers):
        external = stack.act("new-customer", {"name": f"测客户{i:04d}"})["customer"]["external_userid"]
        stack.act("add-contact", {"customer": external, "member": members[i % len(members)]})
        made.append(external)
    for g in range(groups):
        picked = [made[(g * 10 + k) % len(made)] for k in range(10)]
        stack.act("create-group", {"owner": members[g % len(members)], "name": f"测群{g:03d}", "members": picked})
    state = stack.state()
    follows = [(f["userid"], c["external_userid"]) for c in state["customers"] for f in c["follows"]]
    chat_ids = [g["chat_id"] for g in state["groups"] if g.get("status", 0) == 0]
    return Corp(members, follows, chat_ids)


def print_results(results: list[Result]) -> None:
    print("\n| backend | batch size | events | seconds | events/s | × batch 1 | done | failed |")
    print("|---|---|---|---|---|---|---|---|")
    base = {r.backend: r.rate for r in results if r.batch == 1}
    for r in results:
        ratio = r.rate / base[r.backend] if base.get(r.backend) else 0.0
        figures = f"{r.seconds:.1f} | {r.rate:.0f} | {ratio:.2f} | {r.done} | {r.failed}"
        print(f"| {r.backend} | {r.batch} | {r.n} | {figures} |")


async def run_all(args: argparse.Namespace, tmp: Path) -> None:
    stack = Stack(tmp / "stack", make_archive_keys(tmp / "keys"))
    stack.start_sandbox()
    results: list[Result] = []
    try:
        corp = await asyncio.to_thread(seed_corp, stack, args.customers, args.groups)
        print(f"sandbox: {len(corp.follows)} follows, {len(corp.chat_ids)} groups; mix {dict(MIX)}", end="; ")
        print(f"kinds {args.kinds}; N={args.n}")
        for batch in args.batches:
            url = f"sqlite+aiosqlite:///{tmp}/worker_{batch}.db"
            results.append(await measure("sqlite", url, stack.sandbox_url, corp, batch, args))
            print(results[-1], flush=True)
        if not args.skip_pg:
            try:
                cluster = await asyncio.to_thread(start_cluster)
            except PostgresUnavailable as exc:
                print(f"postgresql: SKIPPED ({exc})")
                cluster = None
            if cluster is not None:
                try:
                    await asyncio.to_thread(make_durable, cluster, 0)
                    for batch in args.batches:
                        cluster.psql(f"CREATE DATABASE worker_{batch}")
                        url = cluster.url(f"worker_{batch}")
                        results.append(await measure("postgresql", url, stack.sandbox_url, corp, batch, args))
                        print(results[-1], flush=True)
                finally:
                    await asyncio.to_thread(cluster.stop)
    finally:
        stack.stop()
    print_results(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="inbox events drained in each measured run")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 50], help="ingest.batch_size values; 1 first")
    parser.add_argument("--customers", type=int, default=200, help="customers seeded in the sandbox")
    parser.add_argument("--groups", type=int, default=40, help="customer groups of ten seeded in the sandbox")
    parser.add_argument("--kinds", nargs="+", default=[k for k, _ in MIX], help="only these kinds of the mix")
    parser.add_argument("--skip-pg", action="store_true", help="SQLite only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qunke-worker-bench-") as tmp:
        asyncio.run(run_all(args, Path(tmp)))


if __name__ == "__main__":
    main()
