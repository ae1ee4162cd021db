"""The state file's saves stay a small share of the sandbox's loop however large the corp grows."""

from __future__ import annotations

from pathlib import Path

from pytest_aiohttp import AiohttpClient

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.state.file import SAVE_COST_FACTOR, SAVE_DEBOUNCE_S, STATE_SAVER
from tests.sandbox.archive_support import archive_config
from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import FAST, act


async def test_next_save_waits_in_proportion_to_the_last_when_a_save_is_costly(
    receiver: Receiver, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    config = SandboxConfig(
        **{**FAST, "callback_url": receiver.url, "state_file": tmp_path / "s.json", "archive": archive_config()}
    )
    client = await aiohttp_client(create_app(config))
    saver = client.app[STATE_SAVER]
    await act(client, "new-customer", name="存盘成本")
    await saver.save()
    assert saver.last_cost_s > 0
    assert saver.next_delay_s() == max(SAVE_DEBOUNCE_S, saver.last_cost_s * SAVE_COST_FACTOR)
    saver.last_cost_s = 0.5  # a corp after minutes of load: the snapshot held the loop half a second
    assert saver.next_delay_s() == 0.5 * SAVE_COST_FACTOR
    assert "存盘成本" in (tmp_path / "s.json").read_text(encoding="utf-8")
