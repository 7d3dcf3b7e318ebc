"""Whether a connection's canonical rows come from the current mappings.

A platform's ``MAPPING_VERSION`` (``normalizer.registry``) is bumped when its mappings change
what they output. Syncs write the pages they fetch with the new mappings; everything written
before stays as the old mappings made it until ``sellerhub renormalize`` maps the stored raw
records again. ``connections.mapping_version`` records the version a connection's rows were
last brought up to: set when the connection is created and by a renormalize that went through
every stream of the connection without a failure. Operators see a connection below the current
version in ``sellerhub status`` and in the API (``mapping_up_to_date``).
"""

from __future__ import annotations

from sqlalchemy import Connection as SqlConnection
from sqlalchemy import update

from normalizer.registry import MAPPING_VERSION
from warehouse.tables import Connection, table_of


def current_mapping_version(platform: str) -> int | None:
    """The platform's mapping version now (None for a platform without mappings)."""
    return MAPPING_VERSION.get(platform)


def behind(connection: Connection) -> tuple[int, int] | None:
    """(the connection's mapping version, the current one) when its rows predate the current
    mappings; None when they are current or it has none from before tracking began."""
    current = current_mapping_version(connection.platform)
    if connection.mapping_version is None or current is None:
        return None
    if connection.mapping_version >= current:
        return None
    return connection.mapping_version, current


def reminder(connection: Connection) -> str | None:
    """What an operator should do about a connection whose rows predate the current mappings."""
    versions = behind(connection)
    if versions is None:
        return None
    old, new = versions
    return (
        f"rows written by {connection.platform} mapping v{old}, current is v{new}: run "
        f"`sellerhub renormalize --platform {connection.platform}`"
    )


def mark_up_to_date(conn: SqlConnection, connection_id: str, version: int) -> None:
    """Record that every canonical row of the connection now comes from mapping ``version``."""
    table = table_of(Connection)
    conn.execute(update(table).where(table.c.id == connection_id).values(mapping_version=version))
