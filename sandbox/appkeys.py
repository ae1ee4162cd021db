"""Typed application keys for everything the sandbox app holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from aiohttp import web

from sandbox.archive.faults import SdkFaults
from sandbox.archive.messages import MsgIds
from sandbox.archive.notify import ArchiveNotifier
from sandbox.archive.store import ChatArchive
from sandbox.callbacks import CallbackSender
from sandbox.clock import Clock
from sandbox.config import SandboxConfig
from sandbox.contacts.group_lag import GroupLag
from sandbox.delivery.log import DeliveryLog
from sandbox.ids import IdFactory
from sandbox.kf.model import KfStore
from sandbox.model import Corp
from sandbox.oa.callbacks import OACallbackSender
from sandbox.oa.model import OAState
from sandbox.qyapi.tokens import TokenStore

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
