"""The FAQ's repeat guard counts per conversation, over real HTTP against the sandbox: a suggestion a group owner got
for a customer's group question does not silence the kf answer that customer asks for later."""

from __future__ import annotations

from bot.config.settings import ServiceSettings
from tests.integration.test_faq import ANSWERS, decided, eventually, logged
from tests.support.stack import running_stack


async def test_the_kf_answer_goes_out_when_the_same_question_was_suggested_privately_for_a_group(
    database_url: str,
) -> None:
    update = {"service": ServiceSettings(on_duty=("wangwu",))}
    async with running_stack(database_url, settings_update=update, sync_groups_on_start=True) as stack:
        state = await stack.sandbox_state()
        await stack.wait_for_groups(len(state["groups"]))
        group = state["groups"][0]
        customer = next(m["userid"] for m in group["member_list"] if m["type"] == 2)
        await stack.act("say", **{"as": customer, "in": group["chat_id"]}, text="直播课有回放吗")
        await eventually(logged(stack, "app_message", ANSWERS["class_replay"]))

        await stack.act("kf-say", customer=customer, text="直播课有回放吗？")
        await eventually(logged(stack, "kf_send", ANSWERS["class_replay"], touser=customer))
        reply = await eventually(lambda: decided(stack, "直播课有回放吗？"))
        assert (reply.decision, reply.entry_id) == ("answered", "class_replay")
