"""Part 2 of bench/sender.py: real limits on a clock the bot and the sandbox share, fast-forwarded when idle.

One member gets 1,100 app messages (30/min and 1,000/h both bind), 150 kf customers get 6 replies each (5 allowed),
and kf/send_msg's per-API limit is scaled from 10,000/min to 300/min in both the sandbox and the bot so it binds in
minutes of simulated time (the same window code as the real value). The sandbox's own counters are the judge: each
peak over its limit is the ratio reported, and a schedule's length is compared with the fastest legal one.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, Final

import aiohttp
from sqlalchemy import select

from bench.sender_setup import QUIET, bench_db, fast_forward_until_drained, kf_customers, open_windows, sandbox_json
from bench.sender_setup import sandbox_running as running
from sandbox.clock import OffsetClock
from sandbox.config import SandboxConfig
from services.outbox.messages import Text
from services.outbox.queue import queue_app_message, queue_kf_reply
from storage.models.outbox import Outbox, OutboxStatus

MEMBER: Final = "zhangsan"
MEMBER_MESSAGES: Final = 1100
KF_CUSTOMERS: Final = 150
API_PER_MINUTE: Final = 300  # kf/send_msg's 10,000/min, scaled


def fastest(count: int, limits: list[tuple[int, float]]) -> float:
    """The earliest moment the last of `count` sends may go when each (n, seconds) allows n per window."""
    times: list[float] = []
    for k in range(count):
        times.append(max([0.0] + [times[k - n] + w for n, w in limits if k >= n]))
    return times[-1]


def span_s(entries: list[dict[str, Any]]) -> float:
    moments = sorted(datetime.fromisoformat(e["at"]).timestamp() for e in entries)
    return moments[-1] - moments[0]


async def run_limits(database_url: str) -> None:
    clock = OffsetClock()
    config = SandboxConfig(**{**QUIET, "api_limit_per_min": API_PER_MINUTE})
    async with running(config, clock) as url, aiohttp.ClientSession() as http:
        pairs = await kf_customers(http, url, KF_CUSTOMERS)
        ceilings = {"poll_interval_s": 0.01, "api_per_minute": API_PER_MINUTE, "global_per_second": 1000}
        async with bench_db(database_url, url, **ceilings) as bench:
            await open_windows(bench.sessions, pairs, clock)
            async with bench.sessions() as session, session.begin():
                for n in range(MEMBER_MESSAGES):
                    await queue_app_message(session, clock.now(), [MEMBER], Text(f"限额测试 {n}"))
                for n, (kfid, user) in enumerate(pairs):
                    for k in range(6):
                        await queue_kf_reply(session, clock.now(), kfid, user, Text(f"限额回复 {n}-{k}"))
            wall = await fast_forward_until_drained(bench, clock)
            async with bench.sessions() as session:
                rows = list((await session.execute(select(Outbox))).scalars())
        limits = await sandbox_json(http, url, "/sandbox/limits")
        log = (await sandbox_json(http, url, "/sandbox/log"))["entries"]
        state = await sandbox_json(http, url, "/sandbox/state")
    report(limits, log, state, rows, wall)


def report(
    limits: dict[str, Any], log: list[dict[str, Any]], state: dict[str, Any], rows: list[Outbox], wall: float
) -> None:
    kinds = Counter(e["kind"] for e in log)
    member = limits["members"][MEMBER]
    mine = [e for e in log if e["kind"] == "app_message" and e["userid"] == MEMBER]
    ideal = fastest(MEMBER_MESSAGES, [(30, 60.0), (1000, 3600.0)])
    kf_api = limits["apis"]["/cgi-bin/kf/send_msg"]
    kf_sent = [e for e in log if e["kind"] == "kf_send"]
    kf_ideal = fastest(len(kf_sent), [(API_PER_MINUTE, 60.0)])
    used = [s["sends_used"] for a in state["kf_accounts"] for s in a["sessions"]]
    failed = Counter(r.reason.split(":")[0] for r in rows if r.status == OutboxStatus.FAILED)
    print(f"\nreal limits on a shared clock, moved on whenever nothing may go ({wall:.1f} s wall):")
    minute, hour = member["peak_minute"], member["peak_hour"]
    print(f"  member {MEMBER}: busiest minute {minute}/30 ({minute / 30:.2f}), "
          f"busiest hour {hour}/1000 ({hour / 1000:.2f}), dropped {member['dropped']}")  # fmt: skip
    print(f"    {len(mine)} messages over {span_s(mine) / 60:.1f} min; the fastest legal schedule takes "
          f"{ideal / 60:.1f} min ({ideal / span_s(mine):.2f} of the pace)")  # fmt: skip
    print(f"  kf/send_msg at {API_PER_MINUTE}/min: busiest minute {kf_api['peak_minute']} "
          f"({kf_api['peak_minute'] / API_PER_MINUTE:.2f}), 45009 answers {kf_api['rejected_45009']}; "
          f"{len(kf_sent)} sends over {span_s(kf_sent):.0f} s, fastest legal {kf_ideal:.0f} s "
          f"({kf_ideal / span_s(kf_sent):.2f} of the pace)")  # fmt: skip
    print(f"  kf allowance: most sends in one customer's window {max(used)}/5 ({max(used) / 5:.2f}); "
          f"sixth replies refused by Qunke before the call: {failed.get('kf_quota', 0)}, by WeCom: "
          f"{kinds['kf_send_rejected']}")  # fmt: skip
    print(f"  never crossed: app_message_dropped {kinds['app_message_dropped']}, api_limited {kinds['api_limited']}")
