"""The world's identity, persisted in ``state_dir/sandbox.json`` so restarts see the same data."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sandbox.common.jsonfile import locked, read_json, write_json

log = logging.getLogger(__name__)

CONFIG_FILE = "sandbox.json"


@dataclass(frozen=True)
class WorldConfig:
    seed: int
    anchor: date  # seeded history ends at this day's midnight UTC

    @property
    def anchor_time(self) -> datetime:
        return datetime(self.anchor.year, self.anchor.month, self.anchor.day, tzinfo=UTC)


def load_or_create(state_dir: Path, seed: int, today: date | None = None) -> WorldConfig:
    """Reuse the stored seed and anchor; create them on first start (anchor = today UTC)."""
    path = state_dir / CONFIG_FILE
    with locked(path):
        stored = read_json(path, None)
        if stored is None:
            config = WorldConfig(seed=seed, anchor=today or datetime.now(UTC).date())
            write_json(path, {"seed": config.seed, "anchor": config.anchor.isoformat()})
            return config
    config = WorldConfig(seed=int(stored["seed"]), anchor=date.fromisoformat(stored["anchor"]))
    if config.seed != seed:
        log.warning("sandbox: %s keeps seed %s (asked for %s)", path, config.seed, seed)
    return config
