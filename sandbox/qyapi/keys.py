"""Typed application keys for the sending side: quotas, duplicate check, mass tasks, API limits and faults."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from sandbox.faults import FaultBook
from sandbox.mass.engine import MassEngine
from sandbox.messages.dedupe import DuplicateChecker
from sandbox.messages.quota import AppMessageQuota
from sandbox.qyapi.ratelimit import ApiLimiter

QUOTA: Final = web.AppKey("sandbox_app_message_quota", AppMessageQuota)
DUPLICATES: Final = web.AppKey("sandbox_duplicate_checker", DuplicateChecker)
MASS: Final = web.AppKey("sandbox_mass_engine", MassEngine)
LIMITER: Final = web.AppKey("sandbox_api_limiter", ApiLimiter)
FAULTS: Final = web.AppKey("sandbox_faults", FaultBook)
