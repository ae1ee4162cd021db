"""The state view's chat parts: the archive's position, Official Account followers and reps' 1:1 chats."""

from __future__ import annotations

from aiohttp import web

from sandbox import appkeys
from sandbox.archive.store import RETENTION_MS, ChatArchive, single_chat
from sandbox.model import Corp
from sandbox.oa.model import follower_json
from sandbox.wire import Json


def chats_json(corp: Corp, archive: ChatArchive) -> list[Json]:
    """Every rep–customer pair that may chat (an active contact), plus past pairs that still have messages."""
    summary = archive.chat_summary()
    chats: list[Json] = []
    listed: set[str] = set()
    for customer in corp.customers.values():
        for userid in customer.follows:
            key = single_chat(userid, customer.external_userid)
            listed.add(key)
            chats.append(_chat(key, userid, customer.external_userid, True, summary.get(key, (0, 0))))
    for key, counts in summary.items():
        if key.startswith("single:") and key not in listed:
            _, userid, external_userid = key.split(":", 2)
            chats.append(_chat(key, userid, external_userid, False, counts))
    return chats


def _chat(key: str, userid: str, external_userid: str, active: bool, counts: tuple[int, int]) -> Json:
    return {
        "chat": key,
        "member": userid,
        "customer": external_userid,
        "active": active,
        "messages": counts[0],
        "last_seq": counts[1],
    }


def chat_state_json(app: web.Application) -> Json:
    corp, archive, config = app[appkeys.CORP], app[appkeys.ARCHIVE], app[appkeys.CONFIG]
    return {
        "archive": {
            "enabled": archive.enabled,
            "last_seq": archive.last_seq,
            "publickey_ver": config.archive.key_version,
            "retention_days": RETENTION_MS // 86_400_000,
            "notify_interval_s": config.archive.notify_interval_s,
        },
        "oa_followers": [follower_json(corp, follower) for follower in app[appkeys.OA].followers.values()],
        "chats": chats_json(corp, archive),
    }
