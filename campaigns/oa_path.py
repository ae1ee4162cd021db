"""The oa_template path: an OA template message to each chosen customer whose OA openid Qunke knows (linked through
the unionid), with each template field rendered from the customer's own data like `message`.

Template messages need no 48 h window, only a follower; a customer without a known openid is skipped as `no_openid`,
one whose field cannot be rendered as `template`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import facts as facts_of
from campaigns.document import CampaignDocument
from campaigns.templates import TemplateProblem, render
from services.outbox.queue import queue_oa_template
from storage.models.campaigns import CampaignRun, CampaignSend, SendOutcome
from storage.models.customers import Customer
from storage.models.outbox import Priority
from storage.repos import campaigns as rows

NO_OPENID: Final = "no_openid"


async def as_oa_templates(
    session: AsyncSession,
    run: CampaignRun,
    document: CampaignDocument,
    chunk: list[tuple[CampaignSend, str]],
    now: datetime,
) -> None:
    template = document.oa_template
    assert template is not None, "the document requires oa_template with this path"
    ids = [send.customer_id for send, _ in chunk]
    found = await session.execute(select(Customer.id, Customer.oa_openid).where(Customer.id.in_(ids)))
    openids = {int(cid): str(openid) for cid, openid in found if openid}
    facts = {person.customer_id: person.facts for person in await facts_of.recipients(session, ids, now)}
    for send, _ in chunk:
        openid = openids.get(send.customer_id)
        if openid is None:
            await rows.mark_sends(session, [send.id], outcome=SendOutcome.SKIPPED, reason=NO_OPENID)
            continue
        try:
            data = {key: render(text, facts[send.customer_id]) for key, text in template.data.items()}
        except TemplateProblem:
            await rows.mark_sends(session, [send.id], outcome=SendOutcome.SKIPPED, reason="template")
            continue
        outbox_id = await queue_oa_template(
            session,
            now,
            openid,
            template.template_id,
            data,
            template.url,
            key=f"campaign:{run.id}:{send.customer_id}",
            priority=Priority.LOW,
        )
        await rows.mark_sends(session, [send.id], outcome=SendOutcome.QUEUED, outbox_id=outbox_id)
