"""The outbox, the quota state every sender process shares, kf/OA send windows and the mass-task funnel.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_pauses",
        sa.Column("api", sa.String(length=96), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("api", name=op.f("pk_api_pauses")),
    )
    op.create_table(
        "kf_windows",
        sa.Column("open_kfid", sa.String(length=64), nullable=False),
        sa.Column("external_userid", sa.String(length=64), nullable=False),
        sa.Column("last_customer_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sends_since", sa.Integer(), nullable=False),
        sa.Column("session_state", sa.Integer(), nullable=True),
        sa.Column("servicer_userid", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("open_kfid", "external_userid", name=op.f("pk_kf_windows")),
    )
    op.create_table(
        "member_send_stamps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("stamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_send_stamps")),
    )
    with op.batch_alter_table("member_send_stamps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_send_stamps_outbox_id"), ["outbox_id"], unique=False)
        batch_op.create_index("ix_member_send_stamps_user_stamp", ["userid", "stamp"], unique=False)

    op.create_table(
        "oa_windows",
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("window_kind", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sends", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("openid", name=op.f("pk_oa_windows")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("api", sa.String(length=96), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unknown_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("content_key", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "result", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_content_key", ["content_key", "first_attempt_at"], unique=False)
        batch_op.create_index(
            "ix_outbox_due",
            ["priority", "due_at", "id"],
            unique=False,
            postgresql_where=sa.text("due_at IS NOT NULL"),
            sqlite_where=sa.text("due_at IS NOT NULL"),
        )
        batch_op.create_index("ix_outbox_kind_recipient", ["kind", "recipient", "status"], unique=False)
        batch_op.create_index("ix_outbox_status_id", ["status", "id"], unique=False)

    op.create_table(
        "rate_counters",
        sa.Column("scope", sa.String(length=128), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "bucket", name=op.f("pk_rate_counters")),
    )
    op.create_table(
        "mass_tasks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("outbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("msgid", sa.String(length=128), nullable=True),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("chat_type", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "remind_times",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_mass_tasks_outbox_id_outbox"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mass_tasks")),
        sa.UniqueConstraint("msgid", name=op.f("uq_mass_tasks_msgid")),
        sa.UniqueConstraint("outbox_id", name=op.f("uq_mass_tasks_outbox_id")),
    )
    with op.batch_alter_table("mass_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mass_tasks_sender"), ["sender"], unique=False)

    op.create_table(
        "mass_targets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("target_type", sa.String(length=8), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("send_time", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"], ["mass_tasks.id"], name=op.f("fk_mass_targets_task_id_mass_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mass_targets")),
        sa.UniqueConstraint("task_id", "target_id", name="uq_mass_targets_task_target"),
    )
    with op.batch_alter_table("mass_targets", schema=None) as batch_op:
        batch_op.create_index("ix_mass_targets_target_period", ["target_id", "period", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mass_targets", schema=None) as batch_op:
        batch_op.drop_index("ix_mass_targets_target_period")

    op.drop_table("mass_targets")
    with op.batch_alter_table("mass_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mass_tasks_sender"))

    op.drop_table("mass_tasks")
    op.drop_table("rate_counters")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_id")
        batch_op.drop_index("ix_outbox_kind_recipient")
        batch_op.drop_index(
            "ix_outbox_due", postgresql_where=sa.text("due_at IS NOT NULL"), sqlite_where=sa.text("due_at IS NOT NULL")
        )
        batch_op.drop_index("ix_outbox_content_key")

    op.drop_table("outbox")
    op.drop_table("oa_windows")
    with op.batch_alter_table("member_send_stamps", schema=None) as batch_op:
        batch_op.drop_index("ix_member_send_stamps_user_stamp")
        batch_op.drop_index(batch_op.f("ix_member_send_stamps_outbox_id"))

    op.drop_table("member_send_stamps")
    op.drop_table("kf_windows")
    op.drop_table("api_pauses")
