"""Client-side contact actions: a customer adds or deletes a rep, a rep edits or deletes a customer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sandbox.events import CallbackEvent, FieldValue, contact_event
from sandbox.ids import IdFactory
from sandbox.model import ActionError, Corp, Customer, Follow, WelcomeCode
from sandbox.wire import Json, customer_state_json

# Limits of externalcontact/remark and of a contact way's state, applied to the client's edits as well.
REMARK_MAX: Final = 20
DESCRIPTION_MAX: Final = 150
REMARK_MOBILES_MAX: Final = 5
STATE_MAX: Final = 30
NAME_MAX: Final = 64


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action changed (a state fragment under `key`) and the callbacks it fires."""

    key: str
    fragment: Json
    events: tuple[CallbackEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class ContactEdit:
    """A rep's edit of one customer; None leaves a field as it is."""

    remark: str | None = None
    description: str | None = None
    tags: Sequence[str] | None = None
    remark_mobiles: Sequence[str] | None = None


def _customer_result(corp: Corp, customer: Customer, *events: CallbackEvent) -> ActionResult:
    return ActionResult("customer", customer_state_json(corp, customer), events)


def _follow(corp: Corp, customer: Customer, userid: str) -> Follow:
    member = corp.member(userid)
    follow = customer.follows.get(userid)
    if follow is None:
        raise ActionError(
            409,
            "not_a_contact",
            f"{member.name}（{userid}）不是客户 {customer.name} 的联系人",
            f"{userid} does not have customer {customer.external_userid} as a contact",
        )
    return follow


def _limit(value: str, limit: int, field: str) -> str:
    if len(value) > limit:
        raise ActionError(400, "too_long", f"{field} 最多 {limit} 个字符", f"{field} is limited to {limit} characters")
    return value


def add_contact(
    corp: Corp, ids: IdFactory, now: int, external_userid: str, userid: str, state: str = "", add_way: int = 1
) -> ActionResult:
    """The customer adds the rep (scans their QR code, by default); WeCom then pushes a WelcomeCode."""
    customer = corp.customer(external_userid)
    member = corp.member(userid)
    if userid in customer.follows:
        raise ActionError(
            409,
            "already_contact",
            f"客户 {customer.name} 已经添加了 {member.name}",
            f"customer {external_userid} already has {userid} as a contact",
        )
    customer.follows[userid] = Follow(
        userid, now, add_way, oper_userid=external_userid, state=_limit(state, STATE_MAX, "state")
    )
    extra: list[tuple[str, FieldValue]] = [("State", state)] if state else []
    # UNCONFIRMED when WeCom omits WelcomeCode besides a console welcome message; the sandbox always sends one,
    # and send_welcome_msg accepts it once within 20 s (WECOM.md §2b).
    code = WelcomeCode(ids.welcome_code(), userid, external_userid, now)
    # Codes live 20 s; an hour's worth is kept so the state file stays small.
    corp.welcome_codes = {k: c for k, c in corp.welcome_codes.items() if now - c.issued_at < 3600}
    corp.welcome_codes[code.code] = code
    extra.append(("WelcomeCode", code.code))
    event = contact_event("add_external_contact", now, userid, external_userid, extra)
    return _customer_result(corp, customer, event)


def edit_contact(corp: Corp, now: int, userid: str, external_userid: str, edit: ContactEdit) -> ActionResult:
    """Remark, description or corp tags fire edit_external_contact; remark phones alone fire nothing [D:92277]."""
    customer = corp.customer(external_userid)
    follow = _follow(corp, customer, userid)
    # Validate everything before changing anything, so a refused edit leaves no trace.
    remark = follow.remark if edit.remark is None else _limit(edit.remark, REMARK_MAX, "remark")
    description = follow.description
    if edit.description is not None:
        description = _limit(edit.description, DESCRIPTION_MAX, "description")
    tag_ids = follow.tag_ids if edit.tags is None else list(dict.fromkeys(corp.tag(k).tag_id for k in edit.tags))
    mobiles = follow.remark_mobiles if edit.remark_mobiles is None else list(edit.remark_mobiles)
    if len(mobiles) > REMARK_MOBILES_MAX:
        raise ActionError(400, "too_many", "备注手机号最多 5 个", "at most 5 remark mobiles")
    changed = (remark, description, tag_ids) != (follow.remark, follow.description, follow.tag_ids)
    follow.remark, follow.description, follow.tag_ids, follow.remark_mobiles = (
        remark,
        description,
        tag_ids,
        mobiles,
    )
    if not changed:
        return _customer_result(corp, customer)
    return _customer_result(corp, customer, contact_event("edit_external_contact", now, userid, external_userid))


def delete_customer(corp: Corp, now: int, userid: str, external_userid: str) -> ActionResult:
    """The rep deletes the customer: del_external_contact, and the rep leaves follow_user."""
    customer = corp.customer(external_userid)
    _follow(corp, customer, userid)
    del customer.follows[userid]
    return _customer_result(corp, customer, contact_event("del_external_contact", now, userid, external_userid))


def delete_rep(corp: Corp, now: int, external_userid: str, userid: str) -> ActionResult:
    """The customer deletes the rep: del_follow_user.

    UNCONFIRMED whether WeCom keeps a one-way relationship visible to the rep afterwards; the sandbox drops it from
    follow_user, the stricter reading, so the bot cannot keep messaging a customer who left.
    """
    customer = corp.customer(external_userid)
    _follow(corp, customer, userid)
    del customer.follows[userid]
    return _customer_result(corp, customer, contact_event("del_follow_user", now, userid, external_userid))


def new_customer(corp: Corp, ids: IdFactory, name: str, gender: int = 0, unionid: str = "") -> ActionResult:
    """A WeChat user appears; nothing is pushed, as no relationship with the corp exists yet."""
    name = name.strip()
    if not name:
        raise ActionError(400, "missing_name", "请填写微信昵称", "name is required")
    if gender not in (0, 1, 2):
        raise ActionError(400, "bad_gender", "性别只能是 0（未知）、1（男）或 2（女）", "gender must be 0, 1 or 2")
    customer = Customer(ids.external_userid(), _limit(name, NAME_MAX, "name"), gender, ids.avatar())
    customer.unionid = unionid
    corp.customers[customer.external_userid] = customer
    return _customer_result(corp, customer)
