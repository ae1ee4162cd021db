"""What every simulated kf action shares: its world, its result, and finding the customer and the chat."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sandbox.contacts.actions import new_customer
from sandbox.http_json import Body
from sandbox.ids import IdFactory
from sandbox.kf.model import KfAccount, KfChat, KfStore, StreamItem
from sandbox.kf.wire import session_json
from sandbox.model import ActionError, Corp, Customer
from sandbox.wire import Json

NEW_CUSTOMER = "new"
DEFAULT_NICKNAME = "微信用户"


@dataclass(frozen=True, slots=True)
class KfWorld:
    corp: Corp
    ids: IdFactory
    store: KfStore
    now: int


@dataclass(slots=True)
class KfActionResult:
    """The chat an action touched, the stream items it appended (each batch is one callback) and extra fields."""

    account: KfAccount
    chat: KfChat | None
    items: list[StreamItem] = field(default_factory=list)
    extra: Json = field(default_factory=dict)

    def fragment(self, w: KfWorld) -> Json:
        body: Json = {"open_kfid": self.account.open_kfid}
        if self.chat is not None:
            body["external_userid"] = self.chat.external_userid
            body["session"] = session_json(w.corp, self.chat, w.now)
        if self.items:
            body["msgid"] = str(self.items[-1].item.get("msgid", ""))
            body["msgids"] = [str(item.item.get("msgid", "")) for item in self.items]
        body.update(self.extra)
        return body


def raw_object(raw: Mapping[str, object], name: str, required: bool = True) -> Json | None:
    value = raw.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        raise ActionError(400, "bad_field", f"字段 {name} 应为 JSON 对象", f"field {name} must be a JSON object")
    return value


def customer_of(w: KfWorld, b: Body) -> Customer:
    """`customer` is an external_userid, or "new" for a WeChat user who has never met the corp."""
    key = b.text("customer")
    if key != NEW_CUSTOMER:
        return w.corp.customer(key)
    name = b.optional_text("name") or DEFAULT_NICKNAME
    created = new_customer(w.corp, w.ids, name, b.integer("gender", 0), b.optional_text("unionid") or "")
    return w.corp.customer(str(created.fragment["external_userid"]))


def customer_json(customer: Customer) -> Json:
    body: Json = {"external_userid": customer.external_userid, "name": customer.name}
    if customer.unionid:
        body["unionid"] = customer.unionid
    return body


def existing_chat(w: KfWorld, account: KfAccount, external_userid: str) -> KfChat:
    chat = w.store.existing_chat(account.open_kfid, external_userid)
    if chat is None:
        raise ActionError(
            409,
            "no_kf_chat",
            f"客户 {external_userid} 还没有在「{account.name}」咨询过",
            f"customer {external_userid} has no chat with kf account {account.open_kfid}",
        )
    return chat


def servicer_of(w: KfWorld, account: KfAccount, userid: str) -> str:
    member = w.corp.member(userid)
    if userid not in account.servicers:
        raise ActionError(
            409,
            "not_a_servicer",
            f"{member.name}（{userid}）不是「{account.name}」的接待人员",
            f"{userid} is not a servicer of kf account {account.open_kfid}",
        )
    return userid
