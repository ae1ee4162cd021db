"""Conversation bookkeeping: recalls, kf session state and OA follows (bot/ingest/intake.py stores the messages)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.dispatch import Context, Router
from bot.events import KfSessionChanged, MessageRecalled, OaFollowChanged, Person
from services.conversations import recording as conversations
from services.conversations.recording import PersonRef
from services.customers import identity
from storage.models.customers import Customer
from storage.repos import timeline, windows

router = Router("conversations")


async def _customer(session: AsyncSession, person: Person, now: datetime) -> Customer:
    ref = PersonRef.of(person)
    return await conversations.customer_for(session, ref, now)


@router.on(MessageRecalled)
async def on_message_recalled(event: MessageRecalled, ctx: Context) -> None:
    await conversations.recall(ctx.session, event.channel.value, event.msgid, event.occurred_at)


@router.on(KfSessionChanged)
async def on_kf_session_changed(event: KfSessionChanged, ctx: Context) -> None:
    now = ctx.clock.now()
    customer = await _customer(ctx.session, event.customer, now)
    await conversations.note_kf_session_change(
        ctx.session,
        event.open_kfid,
        event.customer.external_userid,
        customer.id,
        event.occurred_at,
        state=event.state,
        servicer_userid=event.servicer_userid,
        code=event.code,
        code_kind=event.code_kind,
    )
    await timeline.add_event_once(
        ctx.session,
        customer_id=customer.id,
        kind=f"kf_{event.change}",
        occurred_at=event.occurred_at,
        source_key=event.source_key,
        member_userid=event.servicer_userid or None,
        chat_id=event.open_kfid,
        detail=dict(event.detail),
    )


@router.on(OaFollowChanged)
async def on_oa_follow_changed(event: OaFollowChanged, ctx: Context) -> None:
    customer = await identity.customer_for_openid(ctx.session, event.openid, ctx.clock.now(), unionid=event.unionid)
    if event.followed:  # a follow opens the OA's short customer-service window (3 messages within a minute)
        await windows.note_oa_user_action(ctx.session, event.openid, event.occurred_at)
    await timeline.add_event_once(
        ctx.session,
        customer_id=customer.id,
        kind="oa_followed" if event.followed else "oa_unfollowed",
        occurred_at=event.occurred_at,
        source_key=event.source_key,
        chat_id=None,
    )
