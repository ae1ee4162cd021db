"""The callback sender: signed, encrypted POSTs to the bot with WeCom's retries, duplicates and late arrivals."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from dataclasses import asdict, dataclass
from typing import Final

import aiohttp
from yarl import URL

from sandbox.clock import Clock
from sandbox.config import SandboxConfig
from sandbox.crypto import CallbackCrypto
from sandbox.delivery.log import CallbackAttempt, DeliveryLog
from sandbox.delivery.pool import NO_CLIENT_TIMEOUT, DeliveryPool
from sandbox.events import CallbackEvent, envelope_xml
from sandbox.wire import Json

logger = logging.getLogger(__name__)

# A held-back event waits at least this long, so "late" is late enough to land after a groupchat/get.
LATE_MIN_S: Final = 0.5


@dataclass(slots=True)
class Chaos:
    """Fault injection that the admin API may change while the sandbox runs."""

    duplicate_rate: float
    late_rate: float
    late_max_s: float

    @classmethod
    def from_config(cls, config: SandboxConfig) -> Chaos:
        return cls(config.duplicate_rate, config.late_rate, config.late_max_s)

    def to_json(self) -> Json:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: str
    event: CallbackEvent
    plaintext: str
    delay_s: float
    # Drawn when queued so a seed replays the same chaos; used only after a successful delivery.
    duplicate: bool


@dataclass(frozen=True, slots=True)
class SignedQuery:
    msg_signature: str
    timestamp: str
    nonce: str


class CallbackSender:
    """Each delivery is its own tracked task, so one held back lets later ones overtake it."""

    def __init__(
        self, config: SandboxConfig, crypto: CallbackCrypto, log: DeliveryLog, clock: Clock, chaos: Chaos
    ) -> None:
        self._config = config
        self._crypto = crypto
        self._log = log
        self._clock = clock
        self.chaos = chaos
        self._rng = random.Random(config.seed)
        self._pool = DeliveryPool("callback")
        # Delivery ids count up for the corp's lifetime (persisted), so the log never reuses one.
        self.issued = 0

    @property
    def crypto(self) -> CallbackCrypto:
        return self._crypto

    @property
    def pending(self) -> int:
        """Deliveries not yet finished: held back, in flight, waiting to retry or to be duplicated."""
        return self._pool.pending

    @property
    def session(self) -> aiohttp.ClientSession:
        return self._pool.session

    async def start(self) -> None:
        await self._pool.start()

    async def close(self, drain_s: float) -> None:
        """Let deliveries finish for up to drain_s seconds, cancel the rest (logged as gave_up), close HTTP."""
        await self._pool.close(drain_s)

    def submit(self, event: CallbackEvent) -> str:
        """Queue one event; returns its delivery id at once."""
        self._pool.check_accepting()
        self.issued += 1
        delivery = Delivery(
            delivery_id=f"d{self.issued:06d}",
            event=event,
            plaintext=event.to_xml(self._config.corp_id),
            delay_s=self._draw_delay(event),
            duplicate=self._rng.random() < self.chaos.duplicate_rate,
        )
        self._pool.spawn(self._deliver(delivery), f"sandbox-callback-{delivery.delivery_id}")
        return delivery.delivery_id

    def _draw_delay(self, event: CallbackEvent) -> float:
        late = self._rng.random() < self.chaos.late_rate
        if not (event.may_lag and late and self.chaos.late_max_s > 0):
            return 0.0
        high = self.chaos.late_max_s
        return round(self._rng.uniform(min(LATE_MIN_S, high), high), 3)

    def sign(self, encrypted: str) -> SignedQuery:
        # Nonces are digit strings in every sample WeCom has published; each attempt gets a fresh one.
        timestamp, nonce = str(self._clock.epoch()), str(secrets.randbelow(10**10))
        return SignedQuery(self._crypto.sign(timestamp, nonce, encrypted), timestamp, nonce)

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            await asyncio.sleep(delivery.delay_s)
        except asyncio.CancelledError:
            self._record(delivery, 0, False, "gave_up", None, note="shutdown")
            raise
        if await self._attempts(delivery, duplicate=False) and delivery.duplicate:
            await self._attempts(delivery, duplicate=True)

    async def _attempts(self, delivery: Delivery, duplicate: bool) -> bool:
        """One delivery plus up to `retries` retries (WECOM.md §1.7: "总共重试三次")."""
        total = 1 + self._config.retries
        attempt = 0
        try:
            for attempt in range(1, total + 1):
                outcome, status = await self._post(delivery)
                self._record(delivery, attempt, duplicate, outcome, status)
                if outcome == "ok":
                    return True
                if attempt < total:
                    await asyncio.sleep(self._config.retry_interval_s)
        except asyncio.CancelledError:
            self._record(delivery, attempt, duplicate, "gave_up", None, note="shutdown")
            raise
        self._record(delivery, total, duplicate, "gave_up", None, note=f"no success after {total} attempts")
        logger.warning("callback %s gave up after %d attempts", delivery.delivery_id, total)
        return False

    async def _post(self, delivery: Delivery) -> tuple[str, int | None]:
        encrypted = self._crypto.encrypt(delivery.plaintext)
        query = self.sign(encrypted)
        url = URL(self._config.callback_url).update_query(asdict(query))
        agent_id = self._config.agent_id if delivery.event.app_callback else None
        body = envelope_xml(self._config.corp_id, encrypted, agent_id)
        # WeCom cuts at exactly 5 s. aiohttp rounds a total timeout of 5 s or more up to the next whole second
        # (its ceil_threshold), so the deadline is asyncio's own and aiohttp's is switched off.
        try:
            async with asyncio.timeout(self._config.callback_timeout_s):
                async with self.session.post(
                    url,
                    data=body.encode(),
                    headers={"Content-Type": "text/xml"},
                    timeout=NO_CLIENT_TIMEOUT,
                    allow_redirects=False,
                ) as response:
                    await response.read()
                    status = response.status
        except TimeoutError:
            return "timeout", None
        except aiohttp.ClientError:
            return "connection_error", None
        return ("ok" if status == 200 else f"http_{status}"), status

    def _record(
        self,
        delivery: Delivery,
        attempt: int,
        duplicate: bool,
        outcome: str,
        status: int | None,
        note: str = "",
    ) -> None:
        self._log.append(
            CallbackAttempt(
                delivery_id=delivery.delivery_id,
                event=delivery.event.event,
                change_type=delivery.event.change_type,
                attempt=attempt,
                duplicate=duplicate,
                delayed_s=delivery.delay_s,
                outcome=outcome,
                http_status=status,
                plaintext=delivery.plaintext,
                note=note,
            )
        )
