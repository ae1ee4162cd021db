"""Customer-contact events: keep customers, members and groups in sync and write the timeline."""

from __future__ import annotations

from bot.dispatch import Context, Router
from bot.events import (
    CustomerAdded,
    CustomerDeletedByMember,
    CustomerEdited,
    CustomerTransferFailed,
    GroupChange,
    GroupCreated,
    GroupDismissed,
    GroupResync,
    GroupUpdated,
    JoinScene,
    MemberDeletedByCustomer,
    QuitScene,
)
from services.customers import lifecycle
from services.customers.groups import MembershipChange

router = Router("contacts")


@router.on(CustomerAdded)
async def on_customer_added(event: CustomerAdded, ctx: Context) -> None:
    await lifecycle.record_customer_added(
        ctx.session,
        ctx.directory,
        member_userid=event.member_userid,
        external_userid=event.external_userid,
        state=event.state,
        occurred_at=event.occurred_at,
        source_key=event.source_key,
        now=ctx.clock.now(),
    )


@router.on(CustomerEdited)
async def on_customer_edited(event: CustomerEdited, ctx: Context) -> None:
    await lifecycle.refresh_customer(ctx.session, ctx.directory, event.external_userid, ctx.clock.now())


@router.on(CustomerDeletedByMember)
async def on_customer_deleted_by_member(event: CustomerDeletedByMember, ctx: Context) -> None:
    await lifecycle.record_follow_ended(
        ctx.session,
        ctx.directory,
        member_userid=event.member_userid,
        external_userid=event.external_userid,
        by_customer=False,
        by_transfer=event.by_transfer,
        occurred_at=event.occurred_at,
        source_key=event.source_key,
        now=ctx.clock.now(),
    )


@router.on(MemberDeletedByCustomer)
async def on_member_deleted_by_customer(event: MemberDeletedByCustomer, ctx: Context) -> None:
    await lifecycle.record_follow_ended(
        ctx.session,
        ctx.directory,
        member_userid=event.member_userid,
        external_userid=event.external_userid,
        by_customer=True,
        by_transfer=False,
        occurred_at=event.occurred_at,
        source_key=event.source_key,
        now=ctx.clock.now(),
    )


@router.on(CustomerTransferFailed)
async def on_transfer_failed(event: CustomerTransferFailed, ctx: Context) -> None:
    await lifecycle.record_transfer_failed(
        ctx.session,
        ctx.directory,
        member_userid=event.member_userid,
        external_userid=event.external_userid,
        reason=event.reason,
        occurred_at=event.occurred_at,
        source_key=event.source_key,
        now=ctx.clock.now(),
    )


@router.on(GroupCreated)
async def on_group_created(event: GroupCreated, ctx: Context) -> None:
    await lifecycle.sync_group(ctx.session, ctx.directory, event.chat_id, ctx.clock.now())


@router.on(GroupDismissed)
async def on_group_dismissed(event: GroupDismissed, ctx: Context) -> None:
    await lifecycle.sync_group(ctx.session, ctx.directory, event.chat_id, ctx.clock.now())


@router.on(GroupResync)
async def on_group_resync(event: GroupResync, ctx: Context) -> None:
    await lifecycle.sync_group(ctx.session, ctx.directory, event.chat_id, ctx.clock.now())


@router.on(GroupUpdated)
async def on_group_updated(event: GroupUpdated, ctx: Context) -> None:
    change = None
    if event.change in (GroupChange.ADD_MEMBER, GroupChange.DEL_MEMBER):
        change = MembershipChange(
            joined=event.change == GroupChange.ADD_MEMBER,
            ids=event.changed_ids,
            scene={JoinScene.QR: "qr", JoinScene.INVITED: "invite"}.get(event.join_scene, "unknown"),
            removed=event.quit_scene == QuitScene.REMOVED,
            source_key=event.source_key,
            occurred_at=event.occurred_at,
        )
    await lifecycle.sync_group(
        ctx.session,
        ctx.directory,
        event.chat_id,
        ctx.clock.now(),
        change,
        expected_version=event.member_version,
    )
