"""One quiet line for requests aiohttp refuses before any handler runs (a URL over 8 KB, broken headers)."""

from __future__ import annotations

import logging
from typing import Final

from aiohttp.http_exceptions import HttpProcessingError

SERVER_LOGGER: Final = "aiohttp.server"


class BadRequestLogFilter(logging.Filter):
    """aiohttp answers these with a correct 4xx but logs them at ERROR with a traceback; a stranger's malformed
    request is not our error, so the record becomes one WARNING line naming what was wrong."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= exc.code < 500:
            remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.msg, record.args = (
                "refused a malformed HTTP request from %s: %s %s",
                (
                    remote,
                    exc.code,
                    type(exc).__name__,
                ),
            )
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


def quiet_bad_requests() -> None:
    """Install the filter once per process (create_app may run many times in tests)."""
    logger = logging.getLogger(SERVER_LOGGER)
    if not any(isinstance(f, BadRequestLogFilter) for f in logger.filters):
        logger.addFilter(BadRequestLogFilter())
