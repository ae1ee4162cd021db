"""Delivery-log records for kf sends: accepted, refused, and repeats answered without sending again."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sandbox.wire import Json


@dataclass(frozen=True, slots=True)
class KfSend:
    """A message that reached the customer; exactly one per accepted msgid."""

    via: str
    open_kfid: str
    touser: str
    msgid: str
    msgtype: str
    content: str | None
    menu: Json | None
    payload: Json
    # How much of the 5-message allowance is used after this send.
    sends_used: int
    code: str = ""

    @property
    def kind(self) -> str:
        return "kf_send"

    def fields(self) -> Json:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class KfSendRejected:
    via: str
    errcode: int
    errmsg: str
    open_kfid: str
    touser: str
    msgid: str
    msgtype: str

    @property
    def kind(self) -> str:
        return "kf_send_rejected"

    def fields(self) -> Json:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class KfSendRepeat:
    """A send whose msgid was already accepted: answered 95020, not delivered or counted again."""

    via: str
    open_kfid: str
    msgid: str

    @property
    def kind(self) -> str:
        return "kf_send_repeat"

    def fields(self) -> Json:
        return asdict(self)
