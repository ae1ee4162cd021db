"""The sandbox CLI against a running sandbox, against no sandbox, and as a server that stops cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from sandbox.cli.main import app
from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import Client, customer_named, settle, state
from tests.support.postgres import free_port


async def _run(sandbox_url: str, *args: str) -> Any:
    # The CLI runs its own event loop, so it goes to a thread while this loop keeps serving the sandbox.
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env={"SANDBOX_URL": sandbox_url})


async def test_state_prints_machine_readable_json_when_json_flag_is_given(sandbox: Client) -> None:
    result = await _run(str(sandbox.make_url("")), "state", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["corp_id"] == "ww5a1f0c9e2b7d4a31"


async def test_port_and_url_options_reach_that_sandbox_when_sandbox_url_points_elsewhere(sandbox: Client) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    by_port = await _run(nowhere, "--port", str(sandbox.make_url("").port), "state", "--json")
    assert by_port.exit_code == 0, by_port.output
    assert json.loads(by_port.output)["corp_id"] == "ww5a1f0c9e2b7d4a31"
    by_url = await _run(nowhere, "--url", str(sandbox.make_url("")), "state", "--json")
    assert by_url.exit_code == 0, by_url.output
    unreachable = await _run(str(sandbox.make_url("")), "--url", nowhere, "state")
    assert unreachable.exit_code == 1 and nowhere in unreachable.output


async def test_act_add_contact_fires_callback_when_run_from_cli(sandbox: Client, receiver: Receiver) -> None:
    candy = customer_named(await state(sandbox), "糖糖🍬")["external_userid"]
    url = str(sandbox.make_url(""))
    result = await _run(url, "act", "add-contact", "--customer", candy, "--member", "lisi", "--state", "cli")
    assert result.exit_code == 0, result.output
    assert "操作成功" in result.output
    await settle(sandbox)
    assert receiver.delivered[0].event["State"] == "cli"
    logged = await _run(url, "log", "--json")
    assert [entry["outcome"] for entry in json.loads(logged.output)] == ["ok"]


async def test_act_prints_one_line_error_when_ids_are_unknown(sandbox: Client) -> None:
    result = await _run(str(sandbox.make_url("")), "act", "delete-rep", "--customer", "wmNOPE", "--member", "lisi")
    assert result.exit_code == 1
    assert "未找到客户 wmNOPE" in result.output
    assert "Traceback" not in result.output


async def test_cli_prints_one_line_error_when_sandbox_is_not_running() -> None:
    result = await _run(f"http://127.0.0.1:{free_port()}", "state")
    assert result.exit_code == 1
    assert "无法连接沙箱" in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


async def test_server_stops_cleanly_when_it_receives_sigterm(tmp_path: Path) -> None:
    port = free_port()
    closed = f"http://127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "SANDBOX_CALLBACK_URL": f"{closed}/cb",
        "SANDBOX_OA_CALLBACK_URL": f"{closed}/oa",
        # The state it saves at exit goes to the test's folder, never the checkout's var/ (other tests start there).
        "SANDBOX_STATE_FILE": str(tmp_path / "state.json"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sandbox", "--port", str(port), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            break
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, output.decode()
    assert "沙箱已停止" in output.decode()
