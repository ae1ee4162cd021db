"""Mass-message tasks (企业群发, add_msg_template): per-member parts, per-target results, the monthly cap."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from sandbox.cn_time import days_in_month, month_key
from sandbox.wire import Json


class ChatType(StrEnum):
    SINGLE = "single"
    GROUP = "group"


class PartStatus(IntEnum):
    """get_groupmsg_task status. 1 (confirmed) exists in WeCom but never lasts here: confirming sends at once."""

    UNSENT = 0
    SENT = 2


class TargetStatus(IntEnum):
    """get_groupmsg_send_result status."""

    UNSENT = 0
    SENT = 1
    NOT_FRIEND = 2
    OVER_LIMIT = 3


@dataclass(slots=True)
class Target:
    """One customer (single) or one customer group (group) of one member's part."""

    external_userid: str = ""
    chat_id: str = ""
    status: TargetStatus = TargetStatus.UNSENT
    send_time: int | None = None

    @property
    def target_id(self) -> str:
        return self.external_userid or self.chat_id


@dataclass(slots=True)
class MemberPart:
    """What one member is asked to send; they confirm it as a whole."""

    userid: str
    targets: list[Target]
    status: PartStatus = PartStatus.UNSENT
    send_time: int | None = None
    cancelled: bool = False

    @property
    def pending(self) -> bool:
        return self.status is PartStatus.UNSENT and not self.cancelled


@dataclass(slots=True)
class MassTask:
    msgid: str
    seq: int
    chat_type: ChatType
    sender: str
    created_at: int
    text: str
    attachments: list[Json]
    allow_select: bool
    parts: dict[str, MemberPart]
    fail_list: list[str]
    cancelled: bool = False
    reminds: list[int] = field(default_factory=list)

    def dispatched(self, now: int, dispatch_s: float) -> bool:
        """False while WeCom is still handing the task out (41063 "群发消息正在被派发中")."""
        return now >= self.created_at + dispatch_s

    @property
    def pending(self) -> bool:
        return any(part.pending for part in self.parts.values())


class MonthlyCap:
    """How many mass messages each customer or group received per calendar month (China time).

    "每位客户/每个客户群每月最多可接收条数为当月天数" [D:92135]; older corps have 4 a month, hence `fixed`.
    """

    def __init__(self, fixed: int | None) -> None:
        self.fixed = fixed
        # (target id, month) -> deliveries; public so the state file can carry it.
        self.received_counts: dict[tuple[str, str], int] = {}

    def cap(self, now: int) -> int:
        return self.fixed if self.fixed is not None else days_in_month(now)

    def received(self, target_id: str, now: int) -> int:
        return self.received_counts.get((target_id, month_key(now)), 0)

    def take(self, target_id: str, now: int) -> bool:
        """Count one delivery if the target is under this month's cap; False if it is over."""
        key = (target_id, month_key(now))
        count = self.received_counts.get(key, 0)
        if count >= self.cap(now):
            return False
        self.received_counts[key] = count + 1
        return True

    def snapshot(self, now: int) -> Json:
        month = month_key(now)
        return {
            "month": month,
            "cap": self.cap(now),
            "received": {target: n for (target, key), n in sorted(self.received_counts.items()) if key == month},
        }
