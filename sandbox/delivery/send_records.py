"""Delivery-log records for what the bot sends: app messages, mass messages and tasks, faults and limit hits.

Each message record names one recipient, so "every send landed exactly once" is a count over the log, and any
`app_message_dropped`, `mass_message_skipped` (over_limit) or `api_limited` record shows the bot crossed a limit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sandbox.wire import Json


@dataclass(frozen=True, slots=True)
class AppMessage:
    """message/send delivered to one member."""

    msgid: str
    agentid: int
    userid: str
    msgtype: str
    content: str
    message: Json
    duplicate_check: bool

    @property
    def kind(self) -> str:
        return "app_message"

    def fields(self) -> Json:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class AppMessageDropped:
    """message/send answered ok but not delivered to this member: a per-member or per-app limit was reached."""

    msgid: str
    agentid: int
    userid: str
    msgtype: str
    content: str
    reason: str

    @property
    def kind(self) -> str:
        return "app_message_dropped"

    def fields(self) -> Json:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class AppMessageDuplicate:
    """An identical request within its duplicate_check_interval: answered ok, not delivered again."""

    msgid: str
    original_msgid: str
    agentid: int
    userid: str
    msgtype: str
    content: str

    @property
    def kind(self) -> str:
        return "app_message_duplicate"

    def fields(self) -> Json:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class MassMessage:
    """A confirmed mass message delivered to one customer (single) or one customer group (group)."""

    msgid: str
    sender: str
    chat_type: str
    external_userid: str
    chat_id: str
    text: str
    attachments: int

    @property
    def kind(self) -> str:
        return "mass_message"

    def fields(self) -> Json:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class MassMessageSkipped:
    """A mass-message target that will never receive it: over_limit, not_a_friend, group_unavailable, cancelled."""

    msgid: str
    sender: str
    chat_type: str
    external_userid: str
    chat_id: str
    reason: str

    @property
    def kind(self) -> str:
        return "mass_message_skipped"

    def fields(self) -> Json:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class MassTaskEvent:
    """A mass task's life: created, confirmed (by `userid`), reminded, cancelled.

    `members` counts the parts concerned (all on created, those still unsent on reminded, those stopped on
    cancelled); `targets` and `failed` describe creation; `sent` and `skipped` one member's confirmation.
    """

    msgid: str
    action: str
    userid: str = ""
    members: int = 0
    targets: int = 0
    failed: int = 0
    sent: int = 0
    skipped: int = 0

    @property
    def kind(self) -> str:
        return "mass_task"

    def fields(self) -> Json:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class FaultApplied:
    """An injected fault met a request. `executed` says whether the API's effect happened (drop-after, latency)."""

    fault_id: str
    api: str
    errcode: int | None
    latency_ms: int
    drop: str | None
    executed: bool
    remaining: int | None

    @property
    def kind(self) -> str:
        return "fault"

    def fields(self) -> Json:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ApiLimited:
    """A call refused by the per-corp frequency limit (45009) or the read concurrency limit (45033)."""

    api: str
    errcode: int
    reason: str

    @property
    def kind(self) -> str:
        return "api_limited"

    def fields(self) -> Json:
        return asdict(self)
