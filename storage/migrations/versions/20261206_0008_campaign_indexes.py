"""Campaign and segment indexes: a tag's customers in id order, customers' own messages, live customers by owner,
what was sent to each customer lately.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "merged_into_id IS NULL"
SPOKE = "sender_kind = 'customer'"
SENT = "outcome IN ('queued', 'task')"


def upgrade() -> None:
    with op.batch_alter_table("customer_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_tags_tag_name")
        batch_op.create_index("ix_customer_tags_name_customer", ["tag_name", "customer_id"], unique=False)
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_customer_spoke",
            ["customer_id", "sent_at"],
            unique=False,
            postgresql_where=sa.text(SPOKE),
            sqlite_where=sa.text(SPOKE),
        )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customers_live_owner",
            ["owner_userid", "id"],
            unique=False,
            postgresql_where=sa.text(LIVE),
            sqlite_where=sa.text(LIVE),
        )
    with op.batch_alter_table("campaign_sends", schema=None) as batch_op:
        batch_op.create_index(
            "ix_campaign_sends_sent",
            ["customer_id", "created_at", "campaign_id"],
            unique=False,
            postgresql_where=sa.text(SENT),
            sqlite_where=sa.text(SENT),
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_sends", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_sends_sent")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_live_owner")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_customer_spoke")
    with op.batch_alter_table("customer_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_tags_name_customer")
        batch_op.create_index("ix_customer_tags_tag_name", ["tag_name"], unique=False)
