"""A console with 企业微信登录 wired as the bot wires it, against a real sandbox on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

from bot.channels.wecom.client import WeComClient
from bot.config.settings import Settings, WeComSettings
from bot.console_login import WECOM_API, wecom_login
from console import ConsoleConfig
from sandbox.app import create_app
from sandbox.config import SandboxConfig
from tests.support.console_world import World, running_console
from tests.support.postgres import free_port
from tests.support.stack import start_site

SANDBOX = SandboxConfig()


@asynccontextmanager
async def console_with_wecom_login(database_url: str) -> AsyncIterator[World]:
    port = free_port()
    runner = await start_site(create_app(SANDBOX), port)
    base = f"http://127.0.0.1:{port}"
    settings = Settings(wecom=WeComSettings(api_base=base, corp_id=SANDBOX.corp_id, secret=SANDBOX.secret, agent_id=1))
    holder = web.Application()  # stands in for the bot's app, which holds the client it created at start-up
    async with aiohttp.ClientSession() as http:
        holder[WECOM_API] = WeComClient(http, base, SANDBOX.corp_id, SANDBOX.secret, 5.0)
        config = ConsoleConfig(wecom_login=wecom_login(holder, settings))
        try:
            async with running_console(database_url, config) as world:
                yield world
        finally:
            await runner.cleanup()
