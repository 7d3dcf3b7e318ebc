"""CPU per record of each stage before the database, on the bench records.

    PYTHONPATH=. .venv/bin/python -m bench.stages [--records 10000] [--data FILE]

Pages of 1000 records go through the stages one page at a time (as a sync holds one page), each
stage timed with ``time.process_time``, the collector frozen as ``sellerhub`` processes do.
The write transaction itself is not here: ``bench.load`` measures the whole path.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.case_ours import CONTEXT, PLATFORM
from bench.generate import generate
from connectors.http.body import parse_json_object
from normalizer.pii import redact
from normalizer.registry import get_mapping
from sellerhub.memory import freeze_startup_objects
from warehouse.driver_rows import Dialect
from warehouse.fingerprints import (
    canonical_content,
    content_hash,
    content_text,
    normalized_content_hash,
    payload_text,
    text_hash,
)
from warehouse.page_prep import entity_plan

PAGE = 1000


class Stages:
    """CPU seconds per stage, summed over pages."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def run(self, name: str, stage: Callable[[], Any]) -> Any:
        started = time.process_time()
        result = stage()
        self.seconds[name] = self.seconds.get(name, 0.0) + time.process_time() - started
        return result


def _one_pass(record: Any, dialect: Dialect) -> tuple[Any, str]:
    """What ``prepare_row`` does instead of the content, content hash and driver values stages:
    ``row_parts`` then the hash of its normalized content."""
    parts = entity_plan(record.entity, dialect).row_parts(record.__dict__)
    assert parts is not None
    return parts, normalized_content_hash(parts[0])


def _page(stages: Stages, page: list[list[bytes]], kinds: list[str], dialect: Dialect) -> int:
    raws = stages.run("parse (msgspec, bytes)", lambda: [parse_json_object(x[2]) for x in page])
    mappings = [get_mapping(PLATFORM, stream) for stream in kinds]
    canonical = stages.run(
        "map (normalizer.stripe, pydantic models)",
        lambda: [m(raw, CONTEXT) for m, raw in zip(mappings, raws, strict=True)],
    )
    stored = stages.run(
        "redact the stored copy",
        lambda: [redact(PLATFORM, s, raw, CONTEXT) for s, raw in zip(kinds, raws, strict=True)],
    )
    stages.run("payload text + SHA-256", lambda: [text_hash(payload_text(s)) for s in stored])
    contents = stages.run(
        "canonical content", lambda: [[canonical_content(c) for c in cs] for cs in canonical]
    )
    stages.run("content hash", lambda: [[content_hash(c) for c in cs] for cs in contents])
    stages.run(
        "version JSON (only when a version is closed)",
        lambda: [[content_text(c).decode() for c in cs] for cs in contents],
    )
    stages.run(
        "driver values (SQLite)",
        lambda: [
            [entity_plan(c.entity, dialect).field_values(c.__dict__) for c in cs]
            for cs in canonical
        ],
    )
    stages.run(
        "hash input + hash + driver values, one pass (used)",
        lambda: [[_one_pass(c, dialect) for c in cs] for cs in canonical],
    )
    return sum(len(cs) for cs in canonical)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--data", type=Path, default=None, help="a bench.generate file")
    args = parser.parse_args()
    data = args.data or generate(
        Path(f"/tmp/sellerhub-bench-stages-{args.records}.jsonl"), args.records
    )
    lines = [line.rstrip(b"\n").split(b"\t", 2) for line in data.open("rb")][: args.records]
    streams = [line[1].decode() for line in lines]
    count = len(lines)
    dialect = Dialect.named("sqlite")
    freeze_startup_objects()

    stages = Stages()
    rows = 0
    for start in range(0, count, PAGE):  # one page alive at a time, as in a sync
        rows += _page(stages, lines[start : start + PAGE], streams[start : start + PAGE], dialect)
    for name, seconds in stages.seconds.items():
        print(f"{name:48s} {seconds / count * 1e6:7.1f} µs/record")
    print(f"{count:,} records, {rows:,} canonical rows ({rows / count:.2f} per record)")


if __name__ == "__main__":
    main()
