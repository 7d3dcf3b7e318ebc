"""fewer indexes to maintain on every canonical write

Joins the two branches (0003 scoring, 0004 connect flow). Drops indexes whose columns lead
another index of the same table, so every look-up they served is still indexed:

* ``ix_canonical_versions_lookup`` (entity, connection_id, external_id): the prefix of the
  unique (entity, connection_id, external_id, version);
* ``ix_<entity>_seller_id`` of orders, transactions, refunds, disputes and payouts: the prefix
  of their ``ix_<entity>_bucket`` (seller_id, platform, time).

Revision ID: 0005
Revises: 0003, 0004
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: tuple[str, ...] = ("0003", "0004")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUCKETED = ("orders", "transactions", "refunds", "disputes", "payouts")


def upgrade() -> None:
    op.drop_index("ix_canonical_versions_lookup", table_name="canonical_versions")
    for table in BUCKETED:
        op.drop_index(f"ix_{table}_seller_id", table_name=table)


def downgrade() -> None:
    for table in BUCKETED:
        op.create_index(f"ix_{table}_seller_id", table, ["seller_id"])
    op.create_index(
        "ix_canonical_versions_lookup",
        "canonical_versions",
        ["entity", "connection_id", "external_id"],
    )
