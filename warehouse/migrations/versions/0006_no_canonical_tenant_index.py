"""canonical tables: no index on tenant_id alone

Every canonical write maintained ``ix_<entity>_tenant_id``, yet no read needs it: per-seller
reads use the bucket index (seller_id, platform, time) or ``ix_<entity>_seller_id``, and a
look-up by external id goes through the tenant's connections to the natural key
(connection_id, external_id) (``warehouse.history.lineage``). Dropping it saves a B-tree
insert per canonical row (``docs/benchmarks.md``).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CANONICAL = (
    "accounts", "orders", "order_lines", "refunds", "transactions", "payouts", "disputes",
)  # fmt: skip


def upgrade() -> None:
    for table in CANONICAL:
        op.drop_index(f"ix_{table}_tenant_id", table_name=table)


def downgrade() -> None:
    for table in CANONICAL:
        op.create_index(f"ix_{table}_tenant_id", table, ["tenant_id"])
