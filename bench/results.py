"""One case's figures (``bench.load`` writes them; ``bench.medians`` reads them back)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Result:
    records_target: int
    backend: str
    case: str
    page_size: int | None
    records: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    # PostgreSQL's own processes meanwhile (bench.server_cpu); None on SQLite or unreadable
    server_cpu_seconds: float | None = None
    peak_rss_mib: float = 0.0
    baseline_rss_mib: float = 0.0
    db_mib: float = 0.0
    status: str = "ok"  # ok | timeout | failed
    note: str = ""
    load_before: float = 0.0
    load_after: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


def load_run(path: Path) -> list[Result]:
    """The results a ``bench.load --output`` file holds."""
    return [Result(**item) for item in json.loads(path.read_text(encoding="utf-8"))["results"]]


def load_results(paths: list[Path]) -> list[Result]:
    return [result for path in paths for result in load_run(path)]
