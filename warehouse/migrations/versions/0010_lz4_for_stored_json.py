"""PostgreSQL: stored JSON (raw payloads, quarantined payloads, closed versions) is compressed
with LZ4 instead of pglz

A raw record is about 1.2 KB of JSON; with its row it often passes the 2 KB TOAST threshold, and
PostgreSQL then compresses it with its default method, pglz. On a 100k-record load, pglz was the
largest single item in the server's CPU profile (11 % of its samples), and the server spent
5.2 s of CPU against 4.5 s with LZ4 (three alternating runs each; ``docs/benchmarks.md``, twelfth
round). LZ4 is also faster to decompress, which ``renormalize`` and lineage reads do.
https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-COMPRESSION

Only values written after the change use LZ4; earlier ones stay as they are and read the same.
The change needs PostgreSQL 14 or newer built with LZ4 (``default_toast_compression`` lists
it); without that, and on SQLite, this migration changes nothing.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Connection, text

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STORED_JSON = (
    ("raw_records", "payload"),
    ("quarantine", "payload"),
    ("canonical_versions", "content"),
)


def _lz4_available(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    methods = conn.execute(
        text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar()  # no such setting before PostgreSQL 14
    return methods is not None and "lz4" in methods


def _set_compression(method: str) -> None:
    conn = op.get_bind()
    if not _lz4_available(conn):
        return
    for table, column in STORED_JSON:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}")


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("default")
