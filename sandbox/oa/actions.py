"""What a follower does on the Official Account: follow, unfollow, send a message, click a menu."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.model import ActionError, Corp
from sandbox.oa.messages import OAPush, event_push, text_push
from sandbox.oa.model import NICKNAME_MAX, Follower, OAState, WindowKind

UNIONID_MAX = 64
EVENT_KEY_MAX = 128
TEXT_MAX = 2000


@dataclass(frozen=True, slots=True)
class OAWorld:
    corp: Corp
    oa: OAState
    original_id: str
    now: int


@dataclass(frozen=True, slots=True)
class OAResult:
    follower: Follower
    push: OAPush
    msgid: str = ""


@dataclass(frozen=True, slots=True)
class NewFollower:
    """Who starts following: a new person (nickname, optional unionid or a corp customer) or a returning openid."""

    nickname: str = ""
    unionid: str = ""
    customer: str = ""
    openid: str = ""


def _subscribed(follower: Follower) -> Follower:
    if not follower.subscribed:
        raise ActionError(
            409, "not_subscribed", f"{follower.nickname} 已取消关注公众号", f"{follower.openid} does not follow the OA"
        )
    return follower


def follow(world: OAWorld, who: NewFollower) -> OAResult:
    """subscribe: a new follower, or one who comes back; opens the 3-in-1-minute window."""
    if who.openid:
        follower = world.oa.follower(who.openid)
        if follower.subscribed:
            raise ActionError(409, "already_subscribed", f"{follower.nickname} 已关注公众号", "already a follower")
    else:
        follower = _new_follower(world, who)
        world.oa.followers[follower.openid] = follower
    follower.subscribed, follower.subscribe_time = True, world.now
    world.oa.open_window(follower, WindowKind.EVENT, world.now)
    world.oa.record(follower.openid, "in", "event", "关注公众号", world.now)
    return OAResult(follower, event_push(world.original_id, follower.openid, world.now, "subscribe"))


def _new_follower(world: OAWorld, who: NewFollower) -> Follower:
    unionid = who.unionid.strip()
    nickname = who.nickname.strip()
    if who.customer:
        customer = world.corp.customer(who.customer)
        if customer.unionid and any(f.unionid == customer.unionid for f in world.oa.followers.values()):
            raise ActionError(409, "already_follower", f"客户 {customer.name} 已是公众号粉丝", "already a follower")
        # Binding the OA to the corp's open platform account is what gives both sides the same unionid.
        if not customer.unionid:
            customer.unionid = world.oa.ids.unionid()
        unionid, nickname = customer.unionid, nickname or customer.name
    if not nickname or len(nickname) > NICKNAME_MAX:
        raise ActionError(
            400, "bad_nickname", f"昵称应为 1 到 {NICKNAME_MAX} 个字符", "nickname must be 1-64 characters"
        )
    if len(unionid) > UNIONID_MAX:
        raise ActionError(400, "bad_unionid", "unionid 太长", "unionid is too long")
    return Follower(world.oa.ids.openid(), nickname, unionid, True, world.now)


def unfollow(world: OAWorld, who: str) -> OAResult:
    """unsubscribe: the window closes; custom/send answers 43004 from now on."""
    follower = _subscribed(world.oa.resolve(world.corp, who))
    follower.subscribed, follower.window = False, None
    world.oa.record(follower.openid, "in", "event", "取消关注", world.now)
    return OAResult(follower, event_push(world.original_id, follower.openid, world.now, "unsubscribe"))


def say(world: OAWorld, who: str, text: str, menu_id: str = "") -> OAResult:
    """A text message (or a msgmenu click, which is text with bizmsgmenuid); opens 5 sends within 48 h."""
    follower = _subscribed(world.oa.resolve(world.corp, who))
    if not text.strip() or len(text) > TEXT_MAX:
        raise ActionError(400, "bad_text", f"消息应为 1 到 {TEXT_MAX} 个字符", f"text must be 1-{TEXT_MAX} characters")
    msgid = world.oa.ids.msgid()
    world.oa.open_window(follower, WindowKind.MESSAGE, world.now)
    world.oa.record(follower.openid, "in", "text", text, world.now, msgid)
    push = text_push(world.original_id, follower.openid, world.now, text, msgid, menu_id)
    return OAResult(follower, push, msgid)


def menu_click(world: OAWorld, who: str, key: str) -> OAResult:
    """A custom-menu CLICK event with its EventKey; opens 3 sends within 1 minute."""
    follower = _subscribed(world.oa.resolve(world.corp, who))
    if not key or len(key) > EVENT_KEY_MAX:
        raise ActionError(400, "bad_key", f"菜单 key 应为 1 到 {EVENT_KEY_MAX} 个字符", "key must be 1-128 characters")
    world.oa.open_window(follower, WindowKind.EVENT, world.now)
    world.oa.record(follower.openid, "in", "event", f"点击菜单 {key}", world.now)
    return OAResult(follower, event_push(world.original_id, follower.openid, world.now, "CLICK", key))
