"""Running the sandbox as a server: logging without secrets, then aiohttp's run_app with graceful signals."""

import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from sandbox.app import create_app
from sandbox.config import SandboxConfig

# The simulator page and its polling: a line per poll every two seconds would bury the bot's calls and the actions.
QUIET_PATHS = frozenset(
    {
        "/",
        "/sandbox",
        "/sandbox/",
        "/sandbox/feed",
        "/sandbox/state",
        "/sandbox/log",
        "/sandbox/pending",
        "/sandbox/tasks",
        "/sandbox/tasks.html",
        "/sandbox/tasks.js",
        "/sandbox/kf/chats",
        "/sandbox/archive/messages",
        "/sandbox/oa/messages",
        "/favicon.ico",
    }
)


def is_quiet(method: str, path: str, status: int) -> bool:
    """A successful read of the page, its files or its polling endpoints: not worth a console line."""
    if method != "GET" or (status >= 400 and path != "/favicon.ico"):
        return False
    return path in QUIET_PATHS or path.startswith("/sandbox/static/")


class PathOnlyAccessLogger(AbstractAccessLogger):
    """gettoken carries the app secret and every qyapi call its access_token in the query, so log paths only."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if is_quiet(request.method, request.path, response.status):
            return
        self.logger.info("%s %s -> %s (%.0f ms)", request.method, request.path, response.status, time * 1000)


def run_server(config: SandboxConfig, host: str, port: int, fresh: bool = False) -> None:
    """Blocks until SIGINT/SIGTERM; run_app then runs cleanup_ctx, which drains pending callbacks and saves the state.

    Raises StateFileError (before listening) when the saved state cannot be used.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    web.run_app(
        create_app(config, fresh=fresh),
        host=host,
        port=port,
        print=None,
        access_log_class=PathOnlyAccessLogger,
    )
