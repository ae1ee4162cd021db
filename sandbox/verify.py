"""Callback URL verification: the signed GET with an encrypted echostr that WeCom sends when a URL is saved."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import asdict, dataclass
from typing import Final

import aiohttp
from yarl import URL

from sandbox.callbacks import CallbackSender
from sandbox.config import SandboxConfig
from sandbox.delivery.log import DeliveryLog
from sandbox.wire import Json

# WeCom wants the plaintext back within one second [D:90930].
VERIFY_TIMEOUT_S: Final = 1.0
BODY_PREVIEW: Final = 200


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    outcome: str
    http_status: int | None
    expected: str
    body: str
    elapsed_ms: int

    @property
    def kind(self) -> str:
        return "verify_url"

    def fields(self) -> Json:
        return asdict(self)


async def verify_url(config: SandboxConfig, sender: CallbackSender, log: DeliveryLog) -> VerifyResult:
    """Success iff the answer is HTTP 200 whose body is exactly the plaintext (no quotes, BOM or newline)."""
    # The official sample's echostr decrypts to a 19-digit number; keep that shape.
    expected = str(10**18 + secrets.randbelow(9 * 10**18))
    echostr = sender.crypto.encrypt(expected)
    query = sender.sign(echostr)
    url = URL(config.callback_url).update_query({**asdict(query), "echostr": echostr})
    loop = asyncio.get_running_loop()
    started = loop.time()
    status: int | None = None
    body = b""
    try:
        timeout = aiohttp.ClientTimeout(total=VERIFY_TIMEOUT_S)
        async with sender.session.get(url, timeout=timeout, allow_redirects=False) as response:
            status = response.status
            body = await response.read()
        outcome = "ok" if status == 200 and body == expected.encode() else "mismatch"
        if status != 200:
            outcome = f"http_{status}"
    except TimeoutError:
        outcome = "timeout"
    except aiohttp.ClientError:
        outcome = "connection_error"
    elapsed_ms = round((loop.time() - started) * 1000)
    preview = body[:BODY_PREVIEW].decode("utf-8", errors="replace")
    result = VerifyResult(outcome == "ok", outcome, status, expected, preview, elapsed_ms)
    log.append(result)
    return result
