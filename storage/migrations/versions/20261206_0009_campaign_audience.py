"""A run's audience drawn once into campaign_audience, so each keyset batch walks an index range instead of
re-evaluating the filter (whose tag semi-join re-read the tag's index from its start every batch); live customers
in id order with their owner (ix_customers_live_id_owner), so a segment preview merges index-only scans.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "merged_into_id IS NULL"


def upgrade() -> None:
    op.create_table(
        "campaign_audience",
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "customer_id", name=op.f("pk_campaign_audience")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customers_live_id_owner",
            ["id", "owner_userid"],
            unique=False,
            postgresql_where=sa.text(LIVE),
            sqlite_where=sa.text(LIVE),
        )


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_live_id_owner")
    op.drop_table("campaign_audience")
