"""oa_person_holds: an OA follower handed to a person, so the FAQ stays out of their chat until the hand-off ticket
is solved or closed or the chat goes idle (issue 17, branch oaperson).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 00:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "released_at IS NULL"


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "oa_person_holds",
        sa.Column("id", big, autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.String(length=160), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("customer_id", big, nullable=True),
        sa.Column("message_id", big, nullable=True),
        sa.Column("rep", sa.String(length=64), nullable=True),
        sa.Column("alerted", json, nullable=False),
        sa.Column("ticket_id", big, nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_messages", sa.Integer(), nullable=False),
        sa.Column("last_alert_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_oa_person_holds_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_oa_person_holds_ticket_id_tickets"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oa_person_holds")),
    )
    with op.batch_alter_table("oa_person_holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oa_person_holds_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            "uq_oa_person_holds_live_chat",
            ["chat_id"],
            unique=True,
            postgresql_where=sa.text(LIVE),
            sqlite_where=sa.text(LIVE),
        )


def downgrade() -> None:
    op.drop_table("oa_person_holds")
