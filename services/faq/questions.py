"""Who asked and who should hear: a stored customer message as a question, and the rep responsible for it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.faq.answer_types import Question
from storage.models.customers import Customer
from storage.models.groups import Group
from storage.models.messages import Message


async def rep_for(session: AsyncSession, q: Question) -> str | None:
    """Who should hear about the question: the rep in a 1:1 chat, a group's owner, or the customer's owner rep."""
    if q.chat_type == "single":
        return q.member_userid
    if q.chat_type == "group":
        group = await session.get(Group, q.chat_id)
        return group.owner_userid if group is not None and group.owner_userid else None
    customer = await session.get(Customer, q.customer_id) if q.customer_id is not None else None
    if customer is not None and customer.merged_into_id is not None:  # the surviving profile holds the owner
        customer = await session.get(Customer, customer.merged_into_id)
    return customer.owner_userid if customer is not None and customer.owner_userid else None


def question_from(stored: Message) -> Question:
    """A stored customer message as a question: the sender is the customer (external_userid, or openid on the OA)."""
    customer = stored.sender_id
    return Question(
        message_id=stored.id,
        customer_id=stored.customer_id,
        channel=stored.channel,
        chat_type=stored.chat_type,
        chat_id=stored.chat_id,
        text=stored.text,
        asked_at=stored.sent_at,
        external_userid=customer if stored.chat_type != "oa" else "",
        openid=customer if stored.chat_type == "oa" else "",
        member_userid=stored.member_userid,
    )
