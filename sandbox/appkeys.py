"""Typed application keys for everything the sandbox app holds."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from .callbacks import CallbackSender
from .clock import Clock
from .config import SandboxConfig
from .ids import IdFactory
from .kf_model import KfStore
from .log import DeliveryLog
from .model import Corp
from .tokens import TokenStore

CONFIG: Final = web.AppKey("sandbox_config", SandboxConfig)
CLOCK: Final = web.AppKey("sandbox_clock", Clock)
CORP: Final = web.AppKey("sandbox_corp", Corp)
IDS: Final = web.AppKey("sandbox_ids", IdFactory)
TOKENS: Final = web.AppKey("sandbox_tokens", TokenStore)
LOG: Final = web.AppKey("sandbox_log", DeliveryLog)
SENDER: Final = web.AppKey("sandbox_sender", CallbackSender)
KF: Final = web.AppKey("sandbox_kf", KfStore)
