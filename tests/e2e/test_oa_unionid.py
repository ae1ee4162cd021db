"""One person across WeCom and the Official Account, black-box: a corp customer starts following the OA and writes
there; `qunke customer show` of the WeCom customer shows the OA message on their own timeline (the bot asked the
OA's user/info for the follower's unionid), and no separate follower profile appears."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.harness import Stack
from tests.e2e.scenarios import UNSTAFFED

pytestmark = pytest.mark.e2e
E2E_STACKS = (UNSTAFFED,)

# A corp customer with a unionid who does not follow the OA in the demo seed.
CUSTOMER = "Kevin"
SAID = "公众号里问一下：体验官的新品什么时候寄出？"


def oa_messages(stack: Stack, customer_id: int) -> list[dict[str, Any]] | None:
    shown = stack.cli_json("customer", "show", str(customer_id))
    said = [e for e in shown["timeline"] if e["kind"] == "message" and e.get("channel") == "oa"]
    return said or None


def test_a_customer_who_follows_the_oa_sees_their_oa_message_on_their_wecom_profile(unstaffed_stack: Stack) -> None:
    stack = unstaffed_stack
    external_userid = stack.external_userid(CUSTOMER)
    customer_id = stack.customer_id(external_userid)  # imported by the bot at start-up, unionid included
    followed = stack.act("oa-follow", {"customer": external_userid})
    openid = followed["message"]["openid"]
    stack.act("oa-say", {"openid": openid, "text": SAID})
    said = stack.wait_for(lambda: oa_messages(stack, customer_id), 60, f"{CUSTOMER}'s OA message on their profile")
    assert [e.get("text") for e in said] == [SAID], said
    names = [row["name"] for row in stack.customers()]
    assert not [n for n in names if n == f"公众号粉丝{openid[-4:]}"], names
