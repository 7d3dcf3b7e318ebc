"""seller connect flow

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-25 14:55:08.669961
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import warehouse.types  # noqa: F401

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retention_policies",
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("delete_after_days", sa.Integer(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("tenant_id"),
    )
    op.create_table(
        "tenant_apps",
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("environment", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("draft_app", sa.Boolean(), nullable=False),
        sa.Column("app_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("tenant_id", "platform"),
    )
    op.create_table(
        "connect_attempts",
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("seller_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("link_expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("link_platforms", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("browser_binding", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["state"],
            ["oauth_states.state"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("state"),
    )
    op.create_table(
        "consent_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("seller_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("connection_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column(
            "platform_account_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True
        ),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("scopes", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("data", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("actor_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.create_index("ix_consent_events_tenant", ["tenant_id", "id"], unique=False)

    op.create_table(
        "disconnections",
        sa.Column("connection_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("disconnected_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("revocation", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("revocation_detail", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("purged_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("connection_id"),
    )
    with op.batch_alter_table("disconnections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_disconnections_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("disconnections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disconnections_tenant_id"))

    op.drop_table("disconnections")
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_events_tenant")

    op.drop_table("consent_events")
    op.drop_table("connect_attempts")
    op.drop_table("tenant_apps")
    op.drop_table("retention_policies")
