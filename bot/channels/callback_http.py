"""What every callback endpoint shares: refusals with one log line, capped body reads, and store-then-ack."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from aiohttp import web

from bot.channel_ports import CallbackInbox, InboxClosed, InboxSlow
from bot.metrics import Metrics
from storage.repos.inbound import NewInbound

_CHUNK: Final = 16384


class Refused(Exception):
    """A callback turned away before anything was stored: its HTTP status, a short reason and an optional detail."""

    def __init__(self, status: int, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.status, self.reason, self.detail = status, reason, detail


def required_query(request: web.Request, *names: str) -> list[str]:
    values = [request.query.get(name, "") for name in names]
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise Refused(400, "missing_query", ",".join(missing))
    return values


def refuse(
    request: web.Request, metrics: Metrics, log: logging.Logger, channel: str, refused: Refused, label: str = ""
) -> web.Response:
    """Count it, log it once with the reason, answer 4xx with the reason as the body."""
    metrics.refused.labels(label + refused.reason).inc()
    log.warning(
        "%s callback refused: %s %s from %s%s",
        channel,
        refused.reason,
        request.method,
        request.remote,
        f" ({refused.detail})" if refused.detail else "",
    )
    return web.Response(status=refused.status, text=refused.reason)


async def read_capped(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise Refused(413, "body_too_large", f"{request.content_length} bytes")
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise Refused(413, "body_too_large", f"over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def store_then_ack(
    inbox: CallbackInbox,
    metrics: Metrics,
    row: NewInbound,
    started: float,
    ok: Callable[[], web.Response],
    *,
    label: str = "",
    after_commit: Callable[[], None] = lambda: None,
) -> web.Response:
    """Answer only once the row is committed; a failure to store is a 503, which the platform retries."""
    try:
        with metrics.callback_waiting():
            is_new = await inbox.store(row)
    except InboxClosed:
        metrics.callback_outcome(label + "unavailable")
        return web.Response(status=503, text="shutting down")
    except InboxSlow:  # the inbox writer logged it; the platform retries, and a late commit makes that a duplicate
        metrics.callback_outcome(label + "store_slow")
        return web.Response(status=503, text="storage slow")
    except Exception:  # the inbox writer logged it
        metrics.callback_outcome(label + "store_failed")
        return web.Response(status=503, text="storage unavailable")
    after_commit()
    metrics.callback_outcome(label + ("stored" if is_new else "duplicate"))
    metrics.ack_seconds.observe(time.perf_counter() - started)
    return ok()
