"""canonical_versions.content: null while the version is current

The current version's fields are already the canonical row itself. Writing them a second time
as JSON in ``canonical_versions.content`` made every canonical row cost two copies of its
content; the page writer now leaves ``content`` null on the current version and writes it when
the version is closed (``valid_to`` set), from the row as it was. Readers take a current
version's content from the canonical row (``warehouse.history``). Existing current versions
keep their content: it equals the row, and closing them keeps it (``COALESCE``).

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("canonical_versions") as batch_op:
        batch_op.alter_column("content", existing_type=sa.JSON(), nullable=True)


def downgrade() -> None:
    """Current versions get their content back from the canonical rows first."""
    from warehouse.stored_content import fill_current_content

    fill_current_content(op.get_bind())
    with op.batch_alter_table("canonical_versions") as batch_op:
        batch_op.alter_column("content", existing_type=sa.JSON(), nullable=False)
