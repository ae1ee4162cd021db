"""Fixtures for sandbox tests: a recording callback receiver and sandboxes that call it back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient, AiohttpServer

from sandbox.app import create_app
from sandbox.clock import FixedClock
from sandbox.config import SandboxConfig
from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import FAST, Client, to_receiver

SandboxFactory = Callable[..., Awaitable[Client]]


@pytest.fixture
async def receiver(aiohttp_server: AiohttpServer) -> Receiver:
    recorder = Receiver()
    server = await aiohttp_server(recorder.app())
    recorder.url = str(server.make_url("/wecom/callback"))
    return recorder


@pytest.fixture
def make_sandbox(receiver: Receiver, aiohttp_client: AiohttpClient) -> SandboxFactory:
    """Depends on the receiver first, so the sandbox (and its draining sender) stops before the receiver does."""

    async def make(**overrides: Any) -> Client:
        config = SandboxConfig(**{**FAST, **to_receiver(receiver.url), **overrides})
        return await aiohttp_client(create_app(config))

    return make


@pytest.fixture
async def sandbox(make_sandbox: SandboxFactory) -> Client:
    return await make_sandbox()


@pytest.fixture
async def fixed_sandbox(receiver: Receiver, aiohttp_client: AiohttpClient) -> Client:
    """A sandbox whose clock moves only through /sandbox/clock/advance, for rules with exact time boundaries."""
    config = SandboxConfig(**{**FAST, **to_receiver(receiver.url)})
    return await aiohttp_client(create_app(config, FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))))
