"""canonical_versions keeps closed versions only; the current one is the canonical row

Since 0007 the current version's content was the canonical row, and its row in
``canonical_versions`` held only lineage the canonical row already had (raw record, mapping
version, version number, content hash, ``recorded_at`` as ``valid_from``) plus the sync run.
Writing that row, and its unique-index entry, for every new canonical row was a third of the
canonical write (``docs/benchmarks.md``). The run moves onto the canonical row (``run_id``);
the page writer writes a version into ``canonical_versions`` only when it closes it, with its
content as it was. Point-in-time reads take the current version from the canonical row
(``warehouse.history``). ``content`` and ``valid_to`` are now always set.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CANONICAL = (
    "accounts", "orders", "order_lines", "refunds", "transactions", "payouts", "disputes",
)  # fmt: skip

# Canonical tables: plain ALTER TABLE (their foreign keys rule out a batch copy on SQLite, see
# 0008). canonical_versions has no foreign keys, so a batch is fine there (as in 0007).


def upgrade() -> None:
    for table in CANONICAL:
        op.add_column(table, sa.Column("run_id", sa.Integer(), nullable=True))
        op.execute(
            f"UPDATE {table} SET run_id = (SELECT v.run_id FROM canonical_versions AS v"  # noqa: S608
            f" WHERE v.entity = '{table}' AND v.connection_id = {table}.connection_id"
            f" AND v.external_id = {table}.external_id AND v.version = {table}.version)"
        )
    op.execute("DELETE FROM canonical_versions WHERE valid_to IS NULL")
    with op.batch_alter_table("canonical_versions") as batch_op:
        batch_op.alter_column("content", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column(
            "valid_to", existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False
        )


def downgrade() -> None:
    """Each canonical row gets its current version back, content null as 0007 wrote it."""
    with op.batch_alter_table("canonical_versions") as batch_op:
        batch_op.alter_column("content", existing_type=sa.JSON(), nullable=True)
        batch_op.alter_column(
            "valid_to", existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True
        )
    for table in CANONICAL:
        op.execute(
            "INSERT INTO canonical_versions (entity, connection_id, external_id, version,"  # noqa: S608
            " content_hash, content, raw_id, run_id, mapping_version, valid_from, valid_to)"
            f" SELECT '{table}', connection_id, external_id, version, content_hash, NULL, raw_id,"
            f" run_id, mapping_version, recorded_at, NULL FROM {table}"
        )
        op.drop_column(table, "run_id")  # SQLite 3.35+: ALTER TABLE DROP COLUMN
