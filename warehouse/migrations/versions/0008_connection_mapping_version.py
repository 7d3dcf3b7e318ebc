"""connections.mapping_version: the mapping version a connection's rows were brought up to

Bumping a platform's ``MAPPING_VERSION`` leaves the rows already written as the old mapping
made them until ``sellerhub renormalize`` maps their raw records again; nothing told operators
so. The column records, per connection, the version its canonical rows were last brought up
to (set when the connection is created and by a complete renormalize); ``sellerhub status``
and the API report a connection whose version is below the current one
(``warehouse.mapping_state``). An existing connection starts at the oldest mapping version
among its canonical rows, or null when it has none.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CANONICAL = (
    "accounts", "orders", "order_lines", "refunds", "transactions", "payouts", "disputes",
)  # fmt: skip


# Plain ALTER TABLE on both backends, never a batch (copy-and-move) on SQLite: every sync
# table's foreign keys point at connections, so dropping the old copy would fail.


def upgrade() -> None:
    op.add_column("connections", sa.Column("mapping_version", sa.Integer(), nullable=True))
    versions = " UNION ALL ".join(
        f"SELECT mapping_version FROM {table} WHERE connection_id = connections.id"  # noqa: S608
        for table in CANONICAL
    )
    op.execute(
        f"UPDATE connections SET mapping_version = (SELECT MIN(mapping_version) FROM ({versions}) AS v)"  # noqa: S608, E501
    )


def downgrade() -> None:
    op.drop_column("connections", "mapping_version")  # SQLite 3.35+: ALTER TABLE DROP COLUMN
