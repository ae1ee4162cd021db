"""App cleanup drains the callback sender: deliveries finish if they can, and the rest are logged as given up."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from sandbox import appkeys
from sandbox.app import create_app
from sandbox.config import SandboxConfig
from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import FAST, to_receiver


async def _add_contact_then_stop(receiver: Receiver, **overrides: Any) -> list[dict[str, Any]]:
    app = create_app(SandboxConfig(**{**FAST, **to_receiver(receiver.url), **overrides}))
    server = TestServer(app)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(server.make_url("/sandbox/state")) as response:
                world = await response.json()
            customer = next(c for c in world["customers"] if not c["follows"])["external_userid"]
            body = {"customer": customer, "member": "zhaoliu"}
            async with http.post(server.make_url("/sandbox/act/add-contact"), json=body) as response:
                assert response.status == 200
    finally:
        await server.close()
    return [entry.to_json() for entry in app[appkeys.LOG].since(0)]


async def test_cleanup_waits_for_delivery_when_it_finishes_within_drain_time(receiver: Receiver) -> None:
    entries = await _add_contact_then_stop(receiver, late_rate=1.0, late_max_s=0.5, callback_timeout_s=2.0)
    assert [(e["attempt"], e["outcome"]) for e in entries] == [(1, "ok")]
    assert len(receiver.delivered) == 1


async def test_cleanup_logs_gave_up_when_delivery_outlasts_drain_time(receiver: Receiver) -> None:
    entries = await _add_contact_then_stop(receiver, late_rate=1.0, late_max_s=1.0, callback_timeout_s=0.1)
    assert [(e["outcome"], e["note"]) for e in entries] == [("gave_up", "shutdown")]
    assert receiver.delivered == []
