"""The load test's front: a round-robin reverse proxy for several `qunke serve` processes that times every ack.

WeCom (the load generator and the sandbox alike) knows one callback URL, this one. Each POST goes to the next
backend in turn (a backend refusing the connection is skipped, as a load balancer's health check would); the answer
is passed back unchanged. Every callback is decrypted here too, only to learn its kind and dedupe key, so the end of
the run can check each acknowledged callback against the inbox.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Final

import aiohttp
from aiohttp import web

from bot.channels.wecom.crypto import CallbackCrypto, CallbackCryptoError
from bot.channels.wecom.parse import CallbackParseError, parse_xml, to_callback

BAD_GATEWAY: Final = 502


@dataclass(frozen=True, slots=True)
class Ack:
    arrived: float  # time.monotonic() when the request arrived
    kind: str
    dedupe_key: str
    status: int
    latency_s: float  # front to backend and back: the ack time WeCom would see, less its own network


@dataclass
class FrontLog:
    started: float = field(default_factory=time.monotonic)  # the clock's start; set when traffic begins
    acks: list[Ack] = field(default_factory=list)
    served: dict[int, int] = field(default_factory=dict)

    def at_s(self, ack: Ack) -> float:
        """Seconds since the clock started (negative: before it, e.g. the sandbox's own seeding callbacks)."""
        return ack.arrived - self.started


def _identify(crypto: CallbackCrypto, body: bytes) -> tuple[str, str]:
    try:
        encrypted = parse_xml(body.decode())["Encrypt"]
        callback = to_callback(parse_xml(crypto.decrypt(str(encrypted))))
    except (CallbackCryptoError, CallbackParseError, KeyError, UnicodeDecodeError):
        return "unreadable", ""
    return callback.kind, callback.dedupe_key


class RoundRobinProxy:
    def __init__(self, backend_ports: list[int], crypto: CallbackCrypto) -> None:
        self.backends = list(backend_ports)
        self.crypto = crypto
        self.log = FrontLog()
        self._turn = itertools.count()
        self._http: aiohttp.ClientSession | None = None

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        arrived = time.monotonic()
        kind, key = _identify(self.crypto, body) if request.method == "POST" else ("get", "")
        status, payload = await self._relay(request, body)
        if request.method == "POST" and request.path == "/wecom/callback":
            self.log.acks.append(Ack(arrived, kind, key, status, time.monotonic() - arrived))
        return web.Response(status=status, body=payload)

    async def _relay(self, request: web.Request, body: bytes) -> tuple[int, bytes]:
        assert self._http is not None
        first = next(self._turn)
        for step in range(len(self.backends)):
            port = self.backends[(first + step) % len(self.backends)]
            url = f"http://127.0.0.1:{port}{request.path_qs}"
            try:
                async with self._http.request(request.method, url, data=body, headers=_HEADERS) as response:
                    payload = await response.read()
            except aiohttp.ClientConnectorError:
                continue  # refused: that backend is down, try the next
            except (aiohttp.ClientError, TimeoutError):
                return BAD_GATEWAY, b""
            self.log.served[port] = self.log.served.get(port, 0) + 1
            return response.status, payload
        return BAD_GATEWAY, b""

    @asynccontextmanager
    async def running(self, port: int) -> AsyncIterator[str]:
        # WeCom gives up after 5 s; the front waits longer so a slow ack is measured, not cut.
        timeout = aiohttp.ClientTimeout(total=30)
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout)
        app = web.Application(client_max_size=1 << 20)
        app.router.add_route("*", "/{tail:.*}", self.forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=2048).start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            await runner.cleanup()
            await self._http.close()


_HEADERS: Final = {"Content-Type": "text/xml"}
