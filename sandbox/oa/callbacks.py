"""The Official Account callback sender: signed, encrypted (safe-mode) POSTs with WeChat's retries and duplicates."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Final

import aiohttp
from yarl import URL

from sandbox.callbacks import Chaos
from sandbox.clock import Clock
from sandbox.config import SandboxConfig
from sandbox.crypto import CallbackCrypto
from sandbox.delivery.log import DeliveryLog
from sandbox.delivery.pool import NO_CLIENT_TIMEOUT, DeliveryPool
from sandbox.oa.messages import OAPush, envelope_xml, plain_signature
from sandbox.wire import Json

logger = logging.getLogger(__name__)

# The platform stops retrying on "success" or an empty body (WECOM.md §4).
ACCEPTED_BODIES: Final = (b"", b"success")
BODY_PREVIEW: Final = 200


@dataclass(frozen=True, slots=True)
class OACallbackAttempt:
    delivery_id: str
    openid: str
    msg_type: str
    event: str
    attempt: int
    duplicate: bool
    outcome: str
    http_status: int | None
    plaintext: str
    body: str = ""
    note: str = ""

    @property
    def kind(self) -> str:
        return "oa_callback"

    def fields(self) -> Json:
        return asdict(self)


class OACallbackSender:
    """Like the WeCom sender: 5 s timeout, then up to 3 retries on timeout, connection error or non-200.

    A 200 whose body is neither "success" nor empty is logged as `bad_answer` and not retried: the platform
    shows the follower "该公众号暂时无法提供服务，请稍后再试" instead (WECOM.md §4).
    """

    def __init__(self, config: SandboxConfig, log: DeliveryLog, clock: Clock, chaos: Callable[[], Chaos]) -> None:
        self._config = config
        self._oa = config.oa
        # Same AES scheme as WeCom, with the AppID as receiveid (WECOM.md §4).
        self._crypto = CallbackCrypto(config.oa.token, config.oa.aes_key, config.oa.app_id)
        self._log = log
        self._clock = clock
        self._chaos = chaos
        self._rng = random.Random(f"qunke-sandbox-oa-callbacks-{config.seed}")
        self._pool = DeliveryPool("OA callback")
        # Delivery ids count up for the corp's lifetime (persisted), so the log never reuses one.
        self.issued = 0

    @property
    def pending(self) -> int:
        return self._pool.pending

    async def start(self) -> None:
        await self._pool.start()

    async def close(self, drain_s: float) -> None:
        await self._pool.close(drain_s)

    def submit(self, push: OAPush) -> str:
        self._pool.check_accepting()
        self.issued += 1
        delivery_id = f"o{self.issued:06d}"
        duplicate = self._rng.random() < self._chaos().duplicate_rate
        self._pool.spawn(self._deliver(delivery_id, push, duplicate), f"sandbox-oa-{delivery_id}")
        return delivery_id

    async def _deliver(self, delivery_id: str, push: OAPush, duplicate: bool) -> None:
        if await self._attempts(delivery_id, push, duplicate=False) and duplicate:
            await self._attempts(delivery_id, push, duplicate=True)

    async def _attempts(self, delivery_id: str, push: OAPush, duplicate: bool) -> bool:
        total = 1 + self._config.retries
        attempt = 0
        record = _Recorder(self._log, delivery_id, push, duplicate)
        try:
            for attempt in range(1, total + 1):
                outcome, status, body = await self._post(push)
                record(attempt, outcome, status, body)
                if outcome in ("ok", "bad_answer"):
                    return outcome == "ok"
                if attempt < total:
                    await asyncio.sleep(self._config.retry_interval_s)
        except asyncio.CancelledError:
            record(attempt, "gave_up", None, note="shutdown")
            raise
        record(total, "gave_up", None, note=f"no success after {total} attempts")
        return False

    async def _post(self, push: OAPush) -> tuple[str, int | None, bytes]:
        session = self._pool.session
        encrypted = self._crypto.encrypt(push.plaintext)
        timestamp, nonce = str(self._clock.epoch()), str(secrets.randbelow(10**10))
        query = {
            "signature": plain_signature(self._oa.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": push.openid,
            "encrypt_type": "aes",
            "msg_signature": self._crypto.sign(timestamp, nonce, encrypted),
        }
        url = URL(self._oa.callback_url).update_query(query)
        body = envelope_xml(self._oa.original_id, encrypted).encode()
        try:
            # An exact deadline, as for WeCom callbacks (aiohttp would round 5 s up to 6).
            async with asyncio.timeout(self._config.callback_timeout_s):
                async with session.post(
                    url,
                    data=body,
                    headers={"Content-Type": "text/xml"},
                    timeout=NO_CLIENT_TIMEOUT,
                    allow_redirects=False,
                ) as response:
                    answer = await response.read()
                    status = response.status
        except TimeoutError:
            return "timeout", None, b""
        except aiohttp.ClientError:
            return "connection_error", None, b""
        if status != 200:
            return f"http_{status}", status, answer
        return ("ok" if answer in ACCEPTED_BODIES else "bad_answer"), status, answer


@dataclass(frozen=True, slots=True)
class _Recorder:
    log: DeliveryLog
    delivery_id: str
    push: OAPush
    duplicate: bool

    def __call__(self, attempt: int, outcome: str, status: int | None, body: bytes = b"", note: str = "") -> None:
        self.log.append(
            OACallbackAttempt(
                delivery_id=self.delivery_id,
                openid=self.push.openid,
                msg_type=self.push.msg_type,
                event=self.push.event,
                attempt=attempt,
                duplicate=self.duplicate,
                outcome=outcome,
                http_status=status,
                plaintext=self.push.plaintext,
                body=body[:BODY_PREVIEW].decode("utf-8", errors="replace"),
                note=note,
            )
        )
