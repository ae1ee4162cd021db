"""Typed application keys for everything the sandbox app holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from aiohttp import web

from .archive import ChatArchive
from .archive_faults import SdkFaults
from .archive_messages import MsgIds
from .archive_notify import ArchiveNotifier
from .callbacks import CallbackSender
from .clock import Clock
from .config import SandboxConfig
from .group_lag import GroupLag
from .ids import IdFactory
from .kf_model import KfStore
from .log import DeliveryLog
from .model import Corp
from .oa_callbacks import OACallbackSender
from .oa_model import OAState
from .tokens import TokenStore

CONFIG: Final = web.AppKey("sandbox_config", SandboxConfig)
CLOCK: Final = web.AppKey("sandbox_clock", Clock)
CORP: Final = web.AppKey("sandbox_corp", Corp)
IDS: Final = web.AppKey("sandbox_ids", IdFactory)
TOKENS: Final = web.AppKey("sandbox_tokens", TokenStore)
LOG: Final = web.AppKey("sandbox_log", DeliveryLog)
SENDER: Final = web.AppKey("sandbox_sender", CallbackSender)
KF: Final = web.AppKey("sandbox_kf", KfStore)
GROUP_LAG: Final = web.AppKey("sandbox_group_lag", GroupLag)

# Chat archive, Official Account and the clock-advance hook (sandbox-archive-oa).
ARCHIVE: Final = web.AppKey("sandbox_archive", ChatArchive)
MSGIDS: Final = web.AppKey("sandbox_archive_msgids", MsgIds)
NOTIFIER: Final = web.AppKey("sandbox_archive_notifier", ArchiveNotifier)
ARCHIVE_FAULTS: Final = web.AppKey("sandbox_archive_faults", SdkFaults)
OA: Final = web.AppKey("sandbox_oa", OAState)
OA_TOKENS: Final = web.AppKey("sandbox_oa_tokens", TokenStore)
OA_SENDER: Final = web.AppKey("sandbox_oa_sender", OACallbackSender)
# Called after /sandbox/clock/advance moves time, for state that acts when time passes (archive notify).
CLOCK_LISTENERS: Final[web.AppKey[list[Callable[[], object]]]] = web.AppKey("sandbox_clock_listeners")
