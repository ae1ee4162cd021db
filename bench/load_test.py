"""Load test (issue 18): N `qunke serve` processes on one PostgreSQL behind a front, a fixed rate of callbacks for
minutes; ack latency, each process's memory every minute, and every acknowledged callback stored once and processed.

    nice -n 10 .venv/bin/python bench/load_test.py --minutes 10 --rate 200
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `bench.*` and `tests.*` live beside the installed packages

import aiohttp  # noqa: E402
import yaml  # noqa: E402

from bench.ingest import make_durable, pg_settings  # noqa: E402
from bench.load_account import PgActivity, account, machine_jiffies, sample_pg_activity  # noqa: E402
from bench.load_front import RoundRobinProxy  # noqa: E402
from bench.load_report import Sample, inbox_counts, memory_gauges, print_report  # noqa: E402
from bench.load_traffic import Corp, Plan, Traffic, serve  # noqa: E402
from bot.channels.wecom.crypto import CallbackCrypto  # noqa: E402
from tests.e2e.harness import DEMO_ENV, QUNKE, REPO, Process, Stack, http_json, http_text, make_archive_keys  # noqa: E402
from tests.support.postgres import Cluster, free_port, start_cluster  # noqa: E402

CORP: Final = Corp(
    DEMO_ENV["WECOM_CORP_ID"], int(DEMO_ENV["WECOM_AGENT_ID"]), DEMO_ENV["WECOM_TOKEN"], DEMO_ENV["WECOM_AES_KEY"]
)
# FAQ entries of kb/example.yaml (answered from the KB) and questions no entry matches (a wait for a rep).
QUESTIONS: Final = [
    "怎么退货",
    "发票怎么开",
    "运费多少",
    "会员有什么权益",
    "优惠券怎么用",
    "课程有效期多久",
    "我的快递到哪了",
    "你们周末有人吗",
    "上次买的那个还有货吗",
]


def rss_kib(pid: int) -> int:
    """Resident set size from /proc (0 once the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_s(cluster: Cluster) -> float:
    """CPU seconds of the cluster's postmaster and its live children (backends, WAL writer, checkpointer)."""
    try:
        head = int((cluster.datadir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    total = cpu_s(head)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == head:
            total += cpu_s(int(stat.parent.name))
    return total


class LoadStack:
    """A throwaway PostgreSQL, the sandbox and N bots, configured as shipped (config.yaml) apart from ports."""

    def __init__(
        self,
        root: Path,
        cluster: Cluster,
        backends: int,
        ingest_concurrency: int,
        malloc_arena_max: int,
        malloc_trim_interval_s: float,
    ) -> None:
        cluster.psql("CREATE DATABASE qunke_load")
        self.cluster = cluster
        self.stack = Stack(root, make_archive_keys(root / "keys"), database_url=cluster.url("qunke_load"))
        self.ports = [self.stack.bot_port, *(free_port() for _ in range(backends - 1))]
        self.front_port = free_port()
        config: dict[str, Any] = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
        config["server"]["port"] = self.stack.bot_port
        config["faq"]["example_kb"] = str(REPO / "kb" / "example.yaml")
        config["ingest"]["concurrency"] = ingest_concurrency
        config["server"]["malloc_trim_interval_s"] = malloc_trim_interval_s
        self.stack.config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        front = f"http://127.0.0.1:{self.front_port}"
        for key, path in (("SANDBOX_CALLBACK_URL", "/wecom/callback"), ("SANDBOX_OA_CALLBACK_URL", "/wechat/callback")):
            self.stack.env[key] = self.stack.sandbox.env[key] = f"{front}{path}"
        self.bots: list[Process] = []
        # The bots run as the deploy kit runs them (Dockerfile, deploy/qunke.service): glibc's arenas capped.
        self.bot_env = dict(self.stack.env)
        if malloc_arena_max > 0:
            self.bot_env["MALLOC_ARENA_MAX"] = str(malloc_arena_max)

    def start(self, customers: int, groups: int) -> None:
        self.stack.cli("db", "upgrade")
        self.stack.start_sandbox()
        self.seed(customers, groups)
        for index, port in enumerate(self.ports, start=1):
            env, root = self.bot_env, self.stack.root
            bot = Process(f"bot{index}", [*QUNKE, "serve", "--port", str(port)], env, root, root / f"bot{index}.log")
            bot.start()
            self.bots.append(bot)
            self.stack.wait_for(lambda p=port: _up(p), 120, f"bot{index}'s /healthz to answer 200")  # type: ignore[misc]

    def seed(self, customers: int, groups: int) -> None:
        """A corp big enough that 200 events a second are not the same dozen people: customers, each added by a
        rep, and groups of ten, made before the bots start (their start-up import reads them all)."""
        members = [m["userid"] for m in self.stack.state()["members"]]
        made = []
        for i in range(customers):
            external = self.stack.act("new-customer", {"name": f"压测客户{i:04d}"})["customer"]["external_userid"]
            self.stack.act("add-contact", {"customer": external, "member": members[i % len(members)]})
            made.append(external)
        for g in range(groups):
            picked = [made[(g * 10 + k) % len(made)] for k in range(10)] if made else []
            owner = members[g % len(members)]
            self.stack.act("create-group", {"owner": owner, "name": f"压测群{g:03d}", "members": picked})

    def pids(self) -> list[int]:
        return [p.popen.pid if p.popen else 0 for p in (*self.bots, self.stack.sandbox)]

    def plan(self, front_url: str, rate: float, seconds: float) -> Plan:
        state = http_json("GET", f"{self.stack.sandbox_url}/sandbox/state")
        follows = [(f["userid"], c["external_userid"]) for c in state["customers"] for f in c["follows"]]
        return Plan(
            front_url=f"{front_url}/wecom/callback",
            sandbox_url=self.stack.sandbox_url,
            corp=CORP,
            rate=rate,
            seconds=seconds,
            members=[m["userid"] for m in state["members"]],
            follows=follows,
            chat_ids=[g["chat_id"] for g in state["groups"] if g.get("status", 0) == 0],
            kf_customers=[c["external_userid"] for c in state["customers"]],
            questions=QUESTIONS,
        )

    def stop(self) -> None:
        for bot in self.bots:
            bot.stop()
        self.stack.stop()


def _up(port: int) -> bool:
    try:
        return http_text(f"http://127.0.0.1:{port}/healthz", timeout=5)[0] == 200
    except OSError:
        return False


async def every_minute(sample: Callable[[], Awaitable[None]], done: asyncio.Event) -> None:
    while True:
        try:
            await asyncio.wait_for(done.wait(), 60)
            return
        except TimeoutError:
            await sample()


async def drain(url: str, within_s: float) -> None:
    """Wait for the ingest workers to process what was stored, for at most `within_s`."""
    until = time.monotonic() + within_s
    while True:
        if not (await inbox_counts(url)).get("new", 0) or time.monotonic() >= until:
            return
        await asyncio.sleep(2)


async def run(args: argparse.Namespace, cluster: Cluster, tmp: Path) -> None:
    await asyncio.to_thread(make_durable, cluster, 0)
    url = cluster.url("qunke_load")
    load = LoadStack(
        tmp, cluster, args.backends, args.ingest_concurrency, args.malloc_arena_max, args.malloc_trim_interval_s
    )
    proxy = RoundRobinProxy(load.ports, CallbackCrypto.from_settings(CORP.token, CORP.aes_key, CORP.corp_id))
    samples: list[Sample] = []
    async with proxy.running(load.front_port) as front_url:
        try:
            await asyncio.to_thread(load.start, args.customers, args.groups)
            print(f"postgresql: {await pg_settings(cluster.url('postgres'))}; bots on {load.ports}, pids {load.pids()}")
            await asyncio.sleep(args.settle_s)  # start-up imports and syncs finish before the clock starts
            began = time.monotonic()

            generator_pid = [0]
            jiffies = [machine_jiffies()]
            activity, sampling = PgActivity(), asyncio.Event()
            watcher = asyncio.create_task(sample_pg_activity(url, "qunke_load", activity, sampling))

            async def sample() -> None:
                pids, at = load.pids(), time.monotonic() - began
                counts = await inbox_counts(url)
                cpu = [cpu_s(p) for p in (*pids, os.getpid(), generator_pid[0])] + [postgres_cpu_s(cluster)]
                async with aiohttp.ClientSession() as http:
                    memory = [await memory_gauges(http, port) for port in load.ports]
                samples.append(Sample(at, [rss_kib(p) for p in pids], cpu, counts, memory))

            await sample()
            ctx = multiprocessing.get_context("spawn")
            parent, child = ctx.Pipe()
            generator = ctx.Process(target=serve, args=(child,), daemon=True)
            generator.start()
            generator_pid[0] = generator.pid or 0
            proxy.log.started = began
            parent.send(load.plan(front_url, args.rate, args.minutes * 60))
            done = asyncio.Event()
            sampler = asyncio.create_task(every_minute(sample, done))
            traffic: Traffic = await asyncio.to_thread(parent.recv)
            generator.join(10)
            await drain(url, args.drain_s)
            done.set()
            await sampler
            await sample()
            jiffies.append(machine_jiffies())
            sampling.set()
            await watcher
            await print_report(args, url, traffic, proxy.log, samples, load)
            await account(load.ports, samples, jiffies, activity)
        finally:
            await asyncio.to_thread(load.stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10, help="how long to send")
    parser.add_argument("--rate", type=float, default=200, help="callbacks per second, all kinds together")
    parser.add_argument("--backends", type=int, default=2, help="`qunke serve` processes behind the front")
    parser.add_argument("--settle-s", type=float, default=15, help="wait after start-up before sending")
    parser.add_argument("--drain-s", type=float, default=300, help="at most this long for the inbox to drain")
    parser.add_argument("--ingest-concurrency", type=int, default=8, help="ingest.concurrency of each bot")
    parser.add_argument(
        "--malloc-arena-max", type=int, default=2, help="MALLOC_ARENA_MAX of the bots, as deployed (0: glibc's default)"
    )
    parser.add_argument(
        "--malloc-trim-interval-s", type=float, default=10, help="server.malloc_trim_interval_s of the bots (0: off)"
    )
    parser.add_argument("--customers", type=int, default=500, help="customers seeded in the sandbox")
    parser.add_argument("--groups", type=int, default=200, help="customer groups seeded in the sandbox")
    parser.add_argument("--workdir", type=Path, help="keep config, logs and sandbox state here (default: a temp dir)")
    args = parser.parse_args()
    print(
        f"load: {args.rate:g}/s for {args.minutes:g} min, {args.backends} processes "
        f"(ingest.concurrency {args.ingest_concurrency}, MALLOC_ARENA_MAX {args.malloc_arena_max or 'unset'}, "
        f"malloc_trim every {args.malloc_trim_interval_s:g} s), "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    cluster = start_cluster()
    try:
        if args.workdir:
            args.workdir.mkdir(parents=True, exist_ok=True)
            asyncio.run(run(args, cluster, args.workdir))
        else:
            with tempfile.TemporaryDirectory(prefix="qunke-load-") as tmp:
                asyncio.run(run(args, cluster, Path(tmp)))
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
