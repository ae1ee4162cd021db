"""A run's audience drawn once into campaign_audience, so each keyset batch walks an index range instead of
re-evaluating the filter (whose tag semi-join re-read the tag's index from its start every batch).

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


def upgrade() -> None:
    op.create_table(
        "campaign_audience",
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "customer_id", name=op.f("pk_campaign_audience")),
    )


def downgrade() -> None:
    op.drop_table("campaign_audience")
