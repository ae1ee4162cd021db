"""/metrics says where the ingest worker's time goes (qunke_ingest_stage_seconds): the claim, the WeCom re-read of
a changed contact, the handlers and the commit, each observed once an event is processed."""

from __future__ import annotations

import re

from tests.integration.test_faq import eventually
from tests.support.stack import running_stack

STAGES = ("claim", "reread", "handle", "commit")


async def test_metrics_time_each_ingest_stage_when_a_contact_change_is_processed(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        state = await stack.sandbox_state()
        candy = next(c["external_userid"] for c in state["customers"] if c["name"] == "糖糖🍬")
        await stack.act("add-contact", customer=candy, member="zhangsan")

        async def counted() -> dict[str, float] | None:
            async with stack.http.get(f"{stack.bot_url}/metrics") as resp:
                page = await resp.text()
            found = re.findall(r'^qunke_ingest_stage_seconds_count\{stage="(\w+)"\} ([0-9.e+]+)$', page, re.M)
            counts = {stage: float(n) for stage, n in found}
            return counts if all(counts.get(stage, 0) >= 1 for stage in STAGES) else None

        counts = await eventually(counted, timeout=20)
        assert all(counts[stage] >= 1 for stage in STAGES)
