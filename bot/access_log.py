"""The bot's HTTP access log without a line per health check or metrics scrape (one every few seconds)."""

from __future__ import annotations

from typing import Final

from aiohttp import web
from aiohttp.web_log import AccessLogger

QUIET_PATHS: Final = frozenset({"/healthz", "/metrics"})


class QuietAccessLogger(AccessLogger):
    """aiohttp's access log line, except for successful probes; a failing probe is still logged."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if request.path in QUIET_PATHS and response.status < 400:
            return
        super().log(request, response, time)
