"""The sender against the sandbox over HTTP: members, kf, OA and mass tasks, each quota met and never crossed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import SystemClock
from services.outbox.mass_queue import queue_mass_task
from services.outbox.masstasks import show_funnel
from services.outbox.messages import MassContent, Menu, MenuItem, Text
from services.outbox.queue import queue_app_message, queue_kf_event_message, queue_kf_reply, queue_oa_message
from services.service.alerts import Alert, alert_member
from storage.models.outbox import OutboxStatus
from storage.repos.windows import note_kf_customer_message, note_oa_user_message
from tests.support.sender_stack import sender_stack

CLOCK = SystemClock()


async def test_alert_reaches_the_member_once_when_queued(database_url: str) -> None:
    async with sender_stack(database_url) as stack:
        await stack.queue(
            lambda s: alert_member(s, CLOCK.now(), "zhangsan", Alert("客户等待回复", "王姐 5 分钟未得到回复"))
        )
        rows = await stack.drained()
        delivered = await stack.log("app_message")
    assert [r.status for r in rows] == [OutboxStatus.SENT]
    assert [(e["userid"], e["content"]) for e in delivered] == [("zhangsan", "【客户等待回复】\n王姐 5 分钟未得到回复")]
    assert delivered[0]["duplicate_check"]


async def test_member_minute_is_never_crossed_when_forty_messages_queue_at_once(database_url: str) -> None:
    async with sender_stack(database_url) as stack:

        async def forty(session: AsyncSession) -> None:
            for n in range(40):
                await queue_app_message(session, CLOCK.now(), ["lisi"], Text(f"第 {n} 条通知"))

        await stack.queue(forty)
        rows = await stack.drained(allow_deferred=True)
        delivered = await stack.log("app_message")
        dropped = await stack.log("app_message_dropped")
    assert len(delivered) == 30 and not dropped
    deferred = [r for r in rows if r.status == OutboxStatus.DEFERRED]
    assert len(deferred) == 10 and all(r.reason.startswith("member_rate") for r in deferred)
    assert all(r.not_before >= CLOCK.now() + timedelta(seconds=50) for r in deferred)


async def test_a_burst_of_alerts_is_folded_into_a_digest_when_it_would_cross_the_minute(database_url: str) -> None:
    async with sender_stack(database_url) as stack:

        async def burst(session: AsyncSession) -> None:
            for n in range(45):
                alert = Alert("新工单", f"工单 #{n}", customer_text=f"问题{n}")
                await alert_member(session, CLOCK.now(), "wangwu", alert)

        await stack.queue(burst)
        await stack.drained()
        delivered = await stack.log("app_message")
        dropped = await stack.log("app_message_dropped")
    assert len(delivered) == 30 and not dropped
    digest = delivered[-1]["content"]
    assert digest.startswith("【提醒汇总】") and "共 16 条" in digest and "工单 #44" in digest


async def test_kf_replies_stop_at_five_when_the_customer_wrote_once(database_url: str) -> None:
    async with sender_stack(database_url) as stack:
        said = await stack.act("kf-say", customer="new", text="在吗？想咨询一下课程")
        kfid, customer = said["open_kfid"], said["external_userid"]

        async def replies(session: AsyncSession) -> None:
            # What the kf puller does when it reads the customer's message.
            await note_kf_customer_message(session, kfid, customer, CLOCK.now())
            menu = Menu("请问您想了解哪方面？", (MenuItem("price", "价格"), MenuItem("time", "上课时间")))
            await queue_kf_reply(session, CLOCK.now(), kfid, customer, menu)
            for n in range(5):
                await queue_kf_reply(session, CLOCK.now(), kfid, customer, Text(f"回复 {n}"))

        await stack.queue(replies)
        rows = await stack.drained()
        sent = await stack.log("kf_send")
        refused = await stack.log("kf_send_rejected")
    assert [r.status for r in rows] == [OutboxStatus.SENT] * 5 + [OutboxStatus.FAILED]
    assert rows[-1].reason.startswith("kf_quota")
    assert len(sent) == 5 and not refused
    assert sent[0]["msgtype"] == "msgmenu"


async def test_oa_messages_stay_inside_the_followers_window(database_url: str) -> None:
    async with sender_stack(database_url) as stack:
        follower = (await stack.state())["oa_followers"][0]["openid"]
        await stack.act("oa-say", openid=follower, text="你好，请问门店几点开门？")

        async def replies(session: AsyncSession) -> None:
            await note_oa_user_message(session, follower, CLOCK.now())
            for n in range(6):
                await queue_oa_message(session, CLOCK.now(), follower, Text(f"您好，第 {n} 条"))

        await stack.queue(replies)
        rows = await stack.drained()
        sent = await stack.log("oa_send")
        refused = await stack.log("oa_send_rejected")
    assert [r.status for r in rows] == [OutboxStatus.SENT] * 5 + [OutboxStatus.FAILED]
    assert rows[-1].reason.startswith("oa_quota")
    assert len(sent) == 5 and not refused


async def test_mass_task_funnel_is_tracked_from_created_to_delivered_when_the_member_confirms(
    database_url: str,
) -> None:
    async with sender_stack(database_url) as stack:
        customers = [c["external_userid"] for c in (await stack.state())["customers"] if "zhangsan" in _reps(c)]

        async def task(session: AsyncSession) -> int:
            content = MassContent("双十一会员专享：全场八折，点击链接领券")
            return await queue_mass_task(
                session, CLOCK.now(), sender="zhangsan", chat_type="single", targets=customers, content=content
            )

        task_id = await stack.queue(task)
        await stack.drained(timeout=30)
        funnel = await stack.queue(lambda s: show_funnel(s, task_id))
        delivered = await stack.log("mass_message")
    assert funnel is not None and funnel.status == "confirmed" and funnel.msgid
    assert funnel.created_at is not None and funnel.confirmed_at is not None
    assert funnel.targets == {"sent": len(customers)}
    assert sorted(e["external_userid"] for e in delivered) == sorted(customers)


def _reps(customer: dict[str, object]) -> list[str]:
    follows = customer.get("follow_user") or customer.get("follows") or []
    assert isinstance(follows, list)
    return [str(f["userid"]) if isinstance(f, dict) else str(f) for f in follows]


async def test_a_welcome_goes_out_on_its_event_code_and_an_expired_code_fails_with_its_reason(
    database_url: str,
) -> None:
    async with sender_stack(database_url) as stack:
        entered = await stack.act("kf-enter", customer="new")
        kfid, customer, code = entered["open_kfid"], entered["external_userid"], entered["welcome_code"]
        welcome = Menu("欢迎光临！想了解什么？", (MenuItem("course", "课程"), MenuItem("human", "转人工")))

        async def queue(session: AsyncSession) -> tuple[int, int]:
            fresh = await queue_kf_event_message(
                session, CLOCK.now(), kfid, customer, code, CLOCK.now() + timedelta(seconds=20), welcome
            )
            stale = await queue_kf_event_message(
                session, CLOCK.now(), kfid, customer, "expired-code", CLOCK.now(), Text("再见")
            )
            return fresh, stale

        fresh, stale = await stack.queue(queue)
        rows = {r.id: r for r in await stack.drained()}
        sent = await stack.log("kf_send")
    assert rows[fresh].status == OutboxStatus.SENT
    assert rows[stale].status == OutboxStatus.FAILED and rows[stale].reason.startswith("kf_code_expired")
    assert [(e["via"], e["msgtype"], e["code"]) for e in sent] == [("send_msg_on_event", "msgmenu", code)]
