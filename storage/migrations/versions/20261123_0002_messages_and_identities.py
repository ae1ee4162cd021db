"""Messages from every channel, pull cursors, archive failures, kf sessions, OA identities and merges.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "archive_failures",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("msgid", sa.String(length=128), nullable=False),
        sa.Column("publickey_ver", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_archive_failures")),
    )
    op.create_table(
        "cursors",
        sa.Column("name", sa.String(length=96), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cursors")),
    )
    op.create_table(
        "customer_merges",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("survivor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("merged_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_id"], ["customers.id"], name=op.f("fk_customer_merges_merged_id_customers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["survivor_id"], ["customers.id"], name=op.f("fk_customer_merges_survivor_id_customers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_merges")),
    )
    with op.batch_alter_table("customer_merges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_merges_merged_id"), ["merged_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_merges_survivor_id"), ["survivor_id"], unique=False)

    op.create_table(
        "kf_sessions",
        sa.Column("open_kfid", sa.String(length=64), nullable=False),
        sa.Column("external_userid", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("servicer_userid", sa.String(length=64), nullable=False),
        sa.Column("last_customer_msg_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("event_code", sa.String(length=128), nullable=False),
        sa.Column("event_code_kind", sa.String(length=16), nullable=False),
        sa.Column("event_code_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_kf_sessions_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("open_kfid", "external_userid", name=op.f("pk_kf_sessions")),
    )
    with op.batch_alter_table("kf_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kf_sessions_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_type", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=160), nullable=False),
        sa.Column("sender_kind", sa.String(length=16), nullable=False),
        sa.Column("sender_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("member_userid", sa.String(length=64), nullable=True),
        sa.Column("msgtype", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "body", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recalled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_messages_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("source_key", name=op.f("uq_messages_source_key")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_chat_time", ["chat_id", "sent_at"], unique=False)
        batch_op.create_index("ix_messages_customer_time", ["customer_id", "sent_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_member_userid"), ["member_userid"], unique=False)

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("oa_openid", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("merged_into_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_customers_merged_into_id"), ["merged_into_id"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_customers_oa_openid"), ["oa_openid"])
        batch_op.create_foreign_key(
            batch_op.f("fk_customers_merged_into_id_customers"), "customers", ["merged_into_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_customers_merged_into_id_customers"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_customers_oa_openid"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_customers_merged_into_id"))
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("oa_openid")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_member_userid"))
        batch_op.drop_index("ix_messages_customer_time")
        batch_op.drop_index("ix_messages_chat_time")

    op.drop_table("messages")
    with op.batch_alter_table("kf_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kf_sessions_customer_id"))

    op.drop_table("kf_sessions")
    with op.batch_alter_table("customer_merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_merges_survivor_id"))
        batch_op.drop_index(batch_op.f("ix_customer_merges_merged_id"))

    op.drop_table("customer_merges")
    op.drop_table("cursors")
    op.drop_table("archive_failures")
