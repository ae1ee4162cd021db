"""Official Account (公众号) followers, their unionid link to corp customers, and the customer-service windows
their actions open (WECOM.md §4)."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Final

from sandbox.model import ActionError, Corp
from sandbox.state.codec import from_plain, rng_restore, rng_snapshot, to_plain
from sandbox.wire import Json

OPENID_LENGTH: Final = 28
TRANSCRIPT_MAX: Final = 10_000
NICKNAME_MAX: Final = 64
_ID_ALPHABET: Final = string.ascii_letters + string.digits + "_-"
_ALNUM: Final = string.ascii_letters + string.digits


class WindowKind(StrEnum):
    MESSAGE = "message"
    EVENT = "event"


# A user message opens 5 sends within 48 h; a follow or a menu click opens 3 within 1 minute (WECOM.md §4).
WINDOW_RULES: Final = {WindowKind.MESSAGE: (48 * 3600, 5), WindowKind.EVENT: (60, 3)}


class SendRefusal(IntEnum):
    """custom/send refusals (wechatpy constants; the OA error code table)."""

    REQUIRE_SUBSCRIBE = 43004
    OUT_OF_WINDOW = 45015
    OVER_COUNT = 45047


@dataclass(slots=True)
class ServiceWindow:
    kind: WindowKind
    opened_at: int
    closes_at: int
    quota: int
    used: int = 0

    def to_json(self) -> Json:
        return {
            "kind": self.kind.value,
            "opened_at": self.opened_at,
            "closes_at": self.closes_at,
            "quota": self.quota,
            "used": self.used,
        }


@dataclass(slots=True)
class Follower:
    openid: str
    nickname: str
    unionid: str
    subscribed: bool
    subscribe_time: int
    window: ServiceWindow | None = None


@dataclass(frozen=True, slots=True)
class OAMessage:
    """One line of a follower's conversation: what they sent ("in") or what the bot sent them ("out")."""

    n: int
    openid: str
    direction: str
    msgtype: str
    content: str
    at: int
    msgid: str = ""

    def to_json(self) -> Json:
        return {
            "n": self.n,
            "openid": self.openid,
            "direction": self.direction,
            "msgtype": self.msgtype,
            "content": self.content,
            "at": self.at,
            "msgid": self.msgid,
        }


class OAIds:
    """openids, unionids and MsgIds from their own seeded stream, so the corp's ids do not shift."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"qunke-sandbox-oa-{seed}")
        self._issued: set[str] = set()

    def _fresh(self, length: int) -> str:
        while True:
            value = "o" + self._rng.choice(_ALNUM)
            value += "".join(self._rng.choice(_ID_ALPHABET) for _ in range(length - len(value)))
            if value not in self._issued:
                self._issued.add(value)
                return value

    def snapshot(self) -> dict[str, object]:
        return rng_snapshot(self._rng, self._issued)

    def restore(self, data: object) -> None:
        self._issued = rng_restore(self._rng, data)

    def openid(self) -> str:
        return self._fresh(OPENID_LENGTH)

    def unionid(self) -> str:
        return self._fresh(OPENID_LENGTH)

    def msgid(self) -> str:
        # OA MsgIds are 64-bit integers, usually shown with 16-20 digits.
        return str(10**16 + self._rng.randrange(9 * 10**18))


@dataclass(slots=True)
class OAState:
    ids: OAIds
    followers: dict[str, Follower] = field(default_factory=dict)
    transcript: list[OAMessage] = field(default_factory=list)
    _n: int = 0

    def snapshot(self) -> Json:
        return {
            "ids": self.ids.snapshot(),
            "followers": to_plain(self.followers),
            "transcript": to_plain(self.transcript),
            "n": self._n,
        }

    def restore(self, data: Json) -> None:
        self.ids.restore(data["ids"])
        self.followers = from_plain(dict[str, Follower], data["followers"])
        self.transcript = from_plain(list[OAMessage], data["transcript"])
        self._n = from_plain(int, data["n"])

    def follower(self, openid: str) -> Follower:
        found = self.followers.get(openid)
        if found is None:
            raise ActionError(404, "unknown_openid", f"未找到公众号粉丝 {openid}", f"unknown follower openid {openid}")
        return found

    def for_customer(self, corp: Corp, external_userid: str) -> Follower:
        """The follower who is this customer: the same unionid (WECOM.md §4)."""
        customer = corp.customer(external_userid)
        for follower in self.followers.values():
            if customer.unionid and follower.unionid == customer.unionid:
                return follower
        raise ActionError(
            404,
            "not_a_follower",
            f"客户 {customer.name} 没有关注公众号（没有相同 unionid 的粉丝）",
            f"customer {external_userid} has no follower with the same unionid",
        )

    def resolve(self, corp: Corp, who: str) -> Follower:
        """An openid, or a corp customer linked to a follower by unionid."""
        return self.follower(who) if who in self.followers else self.for_customer(corp, who)

    def open_window(self, follower: Follower, kind: WindowKind, now: int) -> None:
        """UNCONFIRMED how overlapping windows combine; the latest user action decides, which is stricter when a
        menu click (3 in 1 min) follows a message (5 in 48 h)."""
        seconds, quota = WINDOW_RULES[kind]
        follower.window = ServiceWindow(kind, now, now + seconds, quota)

    def take_send(self, follower: Follower, now: int) -> SendRefusal | None:
        """Count one customer-service message against the window, or say why it is refused."""
        if not follower.subscribed:
            return SendRefusal.REQUIRE_SUBSCRIBE
        window = follower.window
        if window is None or now >= window.closes_at:
            return SendRefusal.OUT_OF_WINDOW
        if window.used >= window.quota:
            return SendRefusal.OVER_COUNT
        window.used += 1
        return None

    def record(self, openid: str, direction: str, msgtype: str, content: str, at: int, msgid: str = "") -> None:
        self._n += 1
        self.transcript.append(OAMessage(self._n, openid, direction, msgtype, content, at, msgid))
        if len(self.transcript) > TRANSCRIPT_MAX:
            del self.transcript[0]

    def since(self, n: int) -> list[OAMessage]:
        return [line for line in self.transcript if line.n > n]

    @property
    def last_n(self) -> int:
        return self._n


def follower_json(corp: Corp, follower: Follower) -> Json:
    linked = next(
        (c.external_userid for c in corp.customers.values() if follower.unionid and c.unionid == follower.unionid),
        None,
    )
    return {
        "openid": follower.openid,
        "nickname": follower.nickname,
        "unionid": follower.unionid or None,
        "subscribed": follower.subscribed,
        "subscribe_time": follower.subscribe_time,
        "customer": linked,
        "window": follower.window.to_json() if follower.window is not None else None,
    }


# (nickname, the customer whose unionid they share or "" for none, has a unionid of their own, days ago).
# Lemon柠檬 has no unionid in the corp seed: linking her gives her one, as binding the OA would.
SEED_FOLLOWERS: Final = (
    ("小鹿乱撞🦌", "小鹿乱撞🦌", True, 35),
    ("王姐(宝妈)", "王姐(宝妈)", True, 50),
    ("老周", "老周", True, 70),
    ("柠檬Lemon", "Lemon柠檬", True, 20),
    ("路人甲", "", True, 6),
    ("匿名访客", "", False, 2),
)


def seed_followers(corp: Corp, ids: OAIds, now: int) -> OAState:
    """Some followers are corp customers (same unionid; one is given a unionid if they lack it), one is not a
    customer, and one has no unionid at all (the OA is not bound to the corp's open platform account)."""
    state = OAState(ids)
    by_name = {customer.name: customer for customer in corp.customers.values()}
    for nickname, customer_name, has_unionid, days_ago in SEED_FOLLOWERS:
        unionid = ""
        customer = by_name.get(customer_name) if customer_name else None
        if customer is not None:
            if not customer.unionid:
                customer.unionid = ids.unionid()
            unionid = customer.unionid
        elif has_unionid:
            unionid = ids.unionid()
        follower = Follower(ids.openid(), nickname, unionid, True, now - days_ago * 86_400)
        state.followers[follower.openid] = follower
    return state
