"""Where sellerhub keeps its data, from the environment.

``SELLERHUB_HOME`` (default ``./.sellerhub``) holds the embedded SQLite warehouse, the local
master key and the sandbox emulators' state. ``DATABASE_URL`` points the warehouse at
PostgreSQL instead (``postgresql+psycopg://user@host:5432/db``; ``postgresql://`` is accepted
and given the psycopg driver).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = Path(".sellerhub")


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str

    @property
    def sandbox_dir(self) -> Path:
        return self.home / "sandbox"

    @classmethod
    def from_env(cls, home: Path | None = None) -> Settings:
        resolved = (home or Path(os.environ.get("SELLERHUB_HOME", DEFAULT_HOME))).resolve()
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{resolved / 'warehouse.db'}"
        return cls(home=resolved, database_url=normalize_database_url(url))

    def ensure_home(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)


def normalize_database_url(url: str) -> str:
    """Give bare PostgreSQL URLs the psycopg 3 driver (the one we install)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
