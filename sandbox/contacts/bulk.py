"""A crowd of customers at once for load tests: each already a contact of a rep, as if added long ago.

Nothing is pushed: a real corp's existing contacts reach the bot through its start-up import
(externalcontact/batch/get_by_user), not through one add_external_contact callback each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sandbox.contacts.actions import NAME_MAX, ActionResult
from sandbox.ids import IdFactory
from sandbox.model import ActionError, Corp, Customer, Follow

MAX_SEED: Final = 100_000
ADD_WAY_QR: Final = 1


def seed_customers(corp: Corp, ids: IdFactory, now: int, name: str, count: int, members: Sequence[str]) -> ActionResult:
    """`count` new customers named `name`0, `name`1, ..., the i-th added by members[i % len(members)]."""
    name = name.strip()
    if not name or len(name) + len(str(count)) > NAME_MAX:
        raise ActionError(400, "bad_name", f"昵称前缀须为 1 到 {NAME_MAX} 个字符", "name must be a non-empty prefix")
    if not 1 <= count <= MAX_SEED:
        raise ActionError(400, "bad_count", f"count 须在 1 到 {MAX_SEED} 之间", f"count must be 1..{MAX_SEED}")
    if not members:
        raise ActionError(400, "missing_field", "缺少字段 members", "missing field members")
    reps = [corp.member(userid).userid for userid in members]  # an unknown rep is refused before anything changes
    created = []
    for index in range(count):
        customer = Customer(ids.external_userid(), f"{name}{index}", 0, ids.avatar())
        rep = reps[index % len(reps)]
        customer.follows[rep] = Follow(rep, now, ADD_WAY_QR, oper_userid=customer.external_userid)
        corp.customers[customer.external_userid] = customer
        created.append(customer.external_userid)
    return ActionResult("customers", {"external_userids": created, "members": reps})
