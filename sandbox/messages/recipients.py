"""message/send's recipients: touser, toparty and totag resolved against the directory, invalid ones reported."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from sandbox.model import Corp, Member
from sandbox.qyapi.reply import QyapiError
from sandbox.wire import Json

TOUSER_MAX: Final = 1000
TOPARTY_MAX: Final = 100
TOTAG_MAX: Final = 100
ALL: Final = "@all"
ROOT_PARTY: Final = 1
ACTIVE: Final = 1


@dataclass(frozen=True, slots=True)
class Recipients:
    userids: tuple[str, ...]
    invaliduser: tuple[str, ...]
    invalidparty: tuple[str, ...]
    invalidtag: tuple[str, ...]
    # The recipients as asked for, normalised, so the duplicate check compares requests, not directory changes.
    key: str


def _ids(body: Json, name: str) -> list[str]:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise QyapiError(40058, f"invalid Request Parameter: {name}")
    return list(dict.fromkeys(part.strip() for part in value.split("|") if part.strip()))


def _active(corp: Corp) -> dict[str, Member]:
    """Userids match case-insensitively in WeCom, and invaliduser comes back lower-case [D:90236].

    A member who is disabled, not yet activated or gone (status != 1) cannot receive app messages; the sandbox
    reports them in invaliduser (UNCONFIRMED: WeCom may list some of them in unlicenseduser instead).
    """
    return {userid.lower(): member for userid, member in corp.members.items() if member.status == ACTIVE}


def _party_members(corp: Corp, party: str) -> list[str] | None:
    """A department's active members, or None for a department the directory does not have.

    The demo directory has a root department 1 holding every department its members belong to.
    """
    if not party.isdigit():
        return None
    number = int(party)
    members = [m for m in corp.members.values() if m.status == ACTIVE]
    if number == ROOT_PARTY:
        return [m.userid for m in members]
    if not any(number in m.department for m in corp.members.values()):
        return None
    return [m.userid for m in members if number in m.department]


def resolve_recipients(corp: Corp, body: Json) -> Recipients:
    users, parties, tags = _ids(body, "touser"), _ids(body, "toparty"), _ids(body, "totag")
    if not (users or parties or tags):
        raise QyapiError(82001)
    if len(users) > TOUSER_MAX:
        raise QyapiError(40032)
    if len(parties) > TOPARTY_MAX:
        raise QyapiError(82002)
    if len(tags) > TOTAG_MAX:
        raise QyapiError(82003)
    active = _active(corp)
    if ALL in users:
        # "@all" sends to everyone in the app's visibility; toparty and totag are then ignored [D:90236].
        return Recipients(tuple(m.userid for m in active.values()), (), (), (), ALL)
    found: dict[str, None] = {}
    invalid_users: list[str] = []
    for userid in users:
        member = active.get(userid.lower())
        if member is None:
            invalid_users.append(userid.lower())
        else:
            found[member.userid] = None
    invalid_parties: list[str] = []
    for party in parties:
        party_members = _party_members(corp, party)
        if party_members is None:
            invalid_parties.append(party)
        else:
            found.update(dict.fromkeys(party_members))
    # The sandbox directory has no member tags (通讯录标签; corp tags are for customers), so every tag is invalid.
    key = json.dumps([sorted({u.lower() for u in users}), sorted(parties), sorted(tags)], separators=(",", ":"))
    return Recipients(tuple(found), tuple(dict.fromkeys(invalid_users)), tuple(invalid_parties), tuple(tags), key)
