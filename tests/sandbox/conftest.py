"""Fixtures for sandbox tests: a recording callback receiver and sandboxes that call it back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient, AiohttpServer

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from tests.sandbox.receiver import Receiver
from tests.sandbox.sandbox_api import FAST, Client

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
        config = SandboxConfig(**{**FAST, "callback_url": receiver.url, **overrides})
        return await aiohttp_client(create_app(config))

    return make


@pytest.fixture
async def sandbox(make_sandbox: SandboxFactory) -> Client:
    return await make_sandbox()
