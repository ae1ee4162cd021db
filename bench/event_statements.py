"""SQL statements per inbox event, by kind: what each contact, group and message event costs the database.

The same stack as bench/ingest_worker.py (a real `qunke sandbox serve`, the bot built by `create_app` in this
process, one claim loop) on SQLite and PostgreSQL. A listener on every engine's `before_cursor_execute` counts the
statements issued while the dispatcher handles one event (the worker's claim, savepoint and commit are counted
apart, as "batch overhead"). Each scenario changes the sandbox first (a new contact, a join, a new group...), then
stores the matching callbacks in the inbox and lets the worker drain them.

    nice -n 10 .venv/bin/python bench/event_statements.py
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `bench.*` and `tests.*` live beside the installed packages

from aiohttp import web  # noqa: E402
from sqlalchemy import event as sa_event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

import bot.ingest.intake as intake  # noqa: E402
from bench.ingest import make_durable  # noqa: E402
from bench.ingest_worker import Corp, drained, resync_row, seed_corp, store  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.channels.wecom.parse import parse_xml, to_callback  # noqa: E402
from bot.config.platform import DatabaseSettings, IngestSettings, WeComSettings  # noqa: E402
from bot.config.settings import Settings  # noqa: E402
from bot.events import Event, GroupUpdated  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.repos.inbound import NewInbound  # noqa: E402
from tests.e2e.harness import DEMO_ENV, Stack, make_archive_keys  # noqa: E402
from tests.support.postgres import PostgresUnavailable, start_cluster  # noqa: E402

# The event kind the current task is handling: SQLAlchemy runs a statement's sync side in a greenlet that shares
# the awaiting task's context, so the sender's and the other loops' statements are not counted as the handler's.
HANDLING: Final[ContextVar[str | None]] = ContextVar("handling", default=None)


class Counter:
    """Statements per event kind, counted while the dispatcher handles that event."""

    def __init__(self) -> None:
        self.statements: dict[str, int] = defaultdict(int)
        self.events: dict[str, int] = defaultdict(int)
        self.outside = 0
        self.show: set[str] = set()
        self.shown: set[str] = set()

    def on_execute(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        current = HANDLING.get()
        if current is None:
            self.outside += 1
            return
        self.statements[current] += 1
        if current in self.show and current not in self.shown:
            print(f"    [{current}] {' '.join(statement.split())[:160]}")

    def per_event(self) -> dict[str, float]:
        return {kind: self.statements[kind] / n for kind, n in self.events.items() if n}


COUNTER: Final = Counter()
CPU_MS: Final[dict[tuple[str, str], float]] = {}


def kind_of(event: Event) -> str:
    if isinstance(event, GroupUpdated):
        return f"GroupUpdated/{event.change.value}"
    return type(event).__name__


def install_counter() -> None:
    sa_event.listen(Engine, "before_cursor_execute", COUNTER.on_execute)
    take = intake.take

    async def counted(dispatcher: Any, events: Sequence[Event], ctx: Any) -> int:
        kind = "+".join(sorted({kind_of(e) for e in events}))
        token = HANDLING.set(kind)
        try:
            handled = await take(dispatcher, events, ctx)
            await ctx.session.flush()  # what the handler left pending (the savepoint's release would flush it)
            return handled
        finally:
            HANDLING.reset(token)
            COUNTER.events[kind] += 1
            if kind in COUNTER.show:
                COUNTER.shown.add(kind)

    intake.take = counted  # type: ignore[assignment]  # the worker calls intake.take through the module


def envelope(msg_type: str, body: str) -> str:
    corp_id = DEMO_ENV["WECOM_CORP_ID"]
    head = f"<ToUserName><![CDATA[{corp_id}]]></ToUserName><CreateTime>{int(time.time())}</CreateTime>"
    sender = f"<FromUserName><![CDATA[sys]]></FromUserName><MsgType><![CDATA[{msg_type}]]></MsgType>"
    return f"<xml>{head}{sender}{body}</xml>"


def contact_xml(change: str, userid: str, external: str, extra: str = "") -> str:
    return envelope(
        "event",
        "<Event><![CDATA[change_external_contact]]></Event>"
        f"<ChangeType><![CDATA[{change}]]></ChangeType><UserID><![CDATA[{userid}]]></UserID>"
        f"<ExternalUserID><![CDATA[{external}]]></ExternalUserID>{extra}",
    )


def chat_xml(change: str, chat_id: str, extra: str = "") -> str:
    return envelope(
        "event",
        "<Event><![CDATA[change_external_chat]]></Event>"
        f"<ChangeType><![CDATA[{change}]]></ChangeType><ChatId><![CDATA[{chat_id}]]></ChatId>{extra}",
    )


def member_text_xml(userid: str, msg_id: int) -> str:
    corp_id = DEMO_ENV["WECOM_CORP_ID"]
    return (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><CreateTime>{int(time.time())}</CreateTime>"
        f"<FromUserName><![CDATA[{userid}]]></FromUserName><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[请问发货了吗 {msg_id}]]></Content><MsgId>{msg_id}</MsgId>"
        f"<AgentID>{DEMO_ENV['WECOM_AGENT_ID']}</AgentID></xml>"
    )


def membership_xml(detail: str, chat_id: str, ids: list[str], scene: str) -> str:
    items = "".join(f"<Item><![CDATA[{i}]]></Item>" for i in ids)
    return chat_xml(
        "update",
        chat_id,
        f"<UpdateDetail><![CDATA[{detail}]]></UpdateDetail>{scene}"
        f"<MemChangeCnt>{len(ids)}</MemChangeCnt><MemChangeList>{items}</MemChangeList>",
    )


_IDS: Final = itertools.count(1)


def row(text: str) -> NewInbound:
    cb = to_callback(parse_xml(text))
    return NewInbound(f"{cb.dedupe_key}:{next(_IDS)}", "wecom", cb.kind, text, datetime.now(UTC))


Scenario = Callable[[Stack, Corp, random.Random, int], list[NewInbound]]


def s_text(stack: Stack, corp: Corp, rng: random.Random, n: int) -> list[NewInbound]:
    return [row(member_text_xml(rng.choice(corp.members), 900_000_000 + next(_IDS))) for _ in range(n)]


def s_contact_edit(stack: Stack, corp: Corp, rng: random.Random, n: int) -> list[NewInbound]:
    tags = [t["tag_id"] for g in stack.state().get("tag_groups", []) for t in g["tags"]][:6]
    out = []
    for userid, external in rng.sample(corp.follows, n):
        body: dict[str, Any] = {"member": userid, "customer": external, "remark": f"备注{next(_IDS)}"}
        if tags:
            body["tags"] = rng.sample(tags, min(3, len(tags)))
        stack.act("edit-contact", body)
        out.append(row(contact_xml("edit_external_contact", userid, external)))
    return out


def s_contact_edit_same(stack: Stack, corp: Corp, rng: random.Random, n: int) -> list[NewInbound]:
    """The bench's and the load test's edit: the contact did not change since the last read."""
    return [row(contact_xml("edit_external_contact", u, e)) for u, e in rng.sample(corp.follows, n)]


def s_contact_add(stack: Stack, corp: Corp, rng: random.Random, n: int) -> list[NewInbound]:
    out = []
    for _ in range(n):
        external = stack.act("new-customer", {"name": f"新客户{next(_IDS)}"})["customer"]["external_userid"]
        member = rng.choice(corp.members)
        stack.act("add-contact", {"customer": external, "member": member, "state": "bench"})
        out.append(row(contact_xml("add_external_contact", member, external, "<State><![CDATA[bench]]></State>")))
    return out


def s_group_notice(stack: Stack, corp: Corp, rng: random.Random, n: int) -> list[NewInbound]:
    detail = "<UpdateDetail><![CDATA[change_notice]]></UpdateDetail>"
    return [row(chat_xml("update", rng.choice(corp.chat_ids), detail)) for _ in range(n)]


def s_group_resync(stack: Stack, corp: Corp, rng: random.Random, n: int) -> list[NewInbound]:
    now = datetime.now(UTC)
    return [resync_row(rng.choice(corp.chat_ids), f"bench:{next(_IDS)}", now) for _ in range(n)]


def s_group_join(stack: Stack, corp: Corp, rng: random.Random, n: int) -> list[NewInbound]:
    out = []
    for chat_id in rng.sample(corp.chat_ids, n):
        external = stack.act("new-customer", {"name": f"进群{next(_IDS)}"})["customer"]["external_userid"]
        stack.act("join-group", {"customer": external, "group": chat_id, "scene": "qr"})
        out.append(row(membership_xml("add_member", chat_id, [external], "<JoinScene>3</JoinScene>")))
    return out


def s_group_leave(stack: Stack, corp: Corp, rng: random.Random, n: int) -> list[NewInbound]:
    out = []
    groups = {g["chat_id"]: g for g in stack.state()["groups"]}
    for chat_id in rng.sample(corp.chat_ids, n):
        externals = [m["userid"] for m in groups[chat_id]["member_list"] if m.get("type") == 2]
        leaving = externals[0]
        stack.act("leave-group", {"customer": leaving, "group": chat_id})
        out.append(row(membership_xml("del_member", chat_id, [leaving], "<QuitScene>0</QuitScene>")))
    return out


def s_group_create(stack: Stack, corp: Corp, rng: random.Random, n: int) -> list[NewInbound]:
    customers = [e for _, e in corp.follows]
    out = []
    for g in range(n):
        picked = rng.sample(customers, 10)
        made = stack.act("create-group", {"owner": rng.choice(corp.members), "name": f"新群{g}", "members": picked})
        out.append(row(chat_xml("create", made["group"]["chat_id"])))
    return out


SCENARIOS: Final[dict[str, Scenario]] = {
    "text": s_text,
    "contact_edit_same": s_contact_edit_same,
    "contact_edit": s_contact_edit,
    "contact_add": s_contact_add,
    "group_notice": s_group_notice,
    "group_resync": s_group_resync,
    "group_join": s_group_join,
    "group_leave": s_group_leave,
    "group_create": s_group_create,
}


async def measure(backend: str, url: str, stack: Stack, corp: Corp, args: argparse.Namespace) -> dict[str, float]:
    await asyncio.to_thread(upgrade, url)
    wecom = WeComSettings(
        api_base=stack.sandbox_url,
        corp_id=DEMO_ENV["WECOM_CORP_ID"],
        agent_id=int(DEMO_ENV["WECOM_AGENT_ID"]),
        secret=DEMO_ENV["WECOM_SECRET"],
        token=DEMO_ENV["WECOM_TOKEN"],
        aes_key=DEMO_ENV["WECOM_AES_KEY"],
    )
    ingest = IngestSettings(sync_groups_on_start=False, import_contacts_on_start=False, batch_size=1)
    runner = web.AppRunner(create_app(Settings(database=DatabaseSettings(url=url), wecom=wecom, ingest=ingest)))
    await store(url, [resync_row(chat_id, "warm", datetime.now(UTC)) for chat_id in corp.chat_ids])
    COUNTER.statements.clear()
    COUNTER.events.clear()
    await runner.setup()
    total = len(corp.chat_ids)
    figures: dict[str, float] = {}
    try:
        await drained(url, total, 600)
        # The warm-up is each group's first read: its customers are not stored yet (a new install, a group whose
        # customers the contact import has not reached).
        figures["group_first_sync"] = sum(COUNTER.statements.values()) / max(1, sum(COUNTER.events.values()))
        print(f"{backend} group_first_sync: {COUNTER.per_event()} handler statements/event", flush=True)
        rng = random.Random(7)
        for name in args.scenarios:
            rows = await asyncio.to_thread(SCENARIOS[name], stack, corp, rng, args.n)
            COUNTER.statements.clear()
            COUNTER.events.clear()
            COUNTER.outside = 0
            cpu, wall = time.process_time(), time.monotonic()
            await store(url, rows)
            total += len(rows)
            seen = await drained(url, total, 600)
            cpu, wall = time.process_time() - cpu, time.monotonic() - wall
            per = COUNTER.per_event()
            figures[name] = sum(COUNTER.statements.values()) / max(1, sum(COUNTER.events.values()))
            # CPU of this process (the bot, SQLite, the drain poll; not the sandbox or PostgreSQL) per event: far
            # less moved by the machine's other tenants than the wall clock.
            CPU_MS[(backend, name)] = 1000 * cpu / max(1, len(rows))
            print(f"{backend} {name}: {CPU_MS[(backend, name)]:.1f} ms CPU/event, {wall:.1f} s wall", flush=True)
            print(f"{backend} {name}: {per} per event; outside handlers {COUNTER.outside}", flush=True)
            print(f"   inbox {dict(seen)}", flush=True)
    finally:
        await runner.cleanup()
    return figures


async def run_all(args: argparse.Namespace, tmp: Path) -> None:
    install_counter()
    stack = Stack(tmp / "stack", make_archive_keys(tmp / "keys"))
    stack.start_sandbox()
    results: dict[str, dict[str, float]] = {}
    try:
        corp = await asyncio.to_thread(seed_corp, stack, args.customers, args.groups)
        if "sqlite" in args.backends:
            results["sqlite"] = await measure("sqlite", f"sqlite+aiosqlite:///{tmp}/count.db", stack, corp, args)
        if "postgresql" in args.backends:
            try:
                cluster = await asyncio.to_thread(start_cluster)
            except PostgresUnavailable as exc:
                print(f"postgresql: SKIPPED ({exc})")
            else:
                try:
                    await asyncio.to_thread(make_durable, cluster, 0)
                    cluster.psql("CREATE DATABASE counts")
                    results["postgresql"] = await measure("postgresql", cluster.url("counts"), stack, corp, args)
                finally:
                    await asyncio.to_thread(cluster.stop)
    finally:
        stack.stop()
    backends = list(results)
    print("\n| event (handler statements per event) | " + " | ".join(backends) + " |")
    print("|---|" + "---|" * len(backends))
    for name in ["group_first_sync", *args.scenarios]:
        print(f"| {name} | " + " | ".join(f"{results[b].get(name, 0):.1f}" for b in backends) + " |")
    print("\n| event (this process's CPU ms per event) | " + " | ".join(backends) + " |")
    print("|---|" + "---|" * len(backends))
    for name in args.scenarios:
        print(f"| {name} | " + " | ".join(f"{CPU_MS.get((b, name), 0):.1f}" for b in backends) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10, help="events per scenario")
    parser.add_argument("--customers", type=int, default=120, help="customers seeded in the sandbox")
    parser.add_argument("--groups", type=int, default=24, help="customer groups of ten seeded in the sandbox")
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--show", nargs="*", default=[], help="print the statements of the first event of these kinds")
    args = parser.parse_args()
    COUNTER.show = set(args.show)
    with tempfile.TemporaryDirectory(prefix="qunke-count-bench-") as tmp:
        asyncio.run(run_all(args, Path(tmp)))


if __name__ == "__main__":
    main()
