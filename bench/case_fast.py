"""Case (a'), ours with the prototype write path of ``bench/fast_path.py`` (same rows)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bench import case_ours
from bench.fast_path import redact_cow, write_page_fast
from bench.generate import Page
from normalizer.registry import get_mapping
from warehouse.writer import MappedRecord, QuarantineItem


def map_page(page: Page) -> tuple[list[MappedRecord], list[QuarantineItem]]:
    mapping = get_mapping(case_ours.PLATFORM, page.stream)
    context = case_ours.CONTEXT
    mapped = [
        MappedRecord(
            str(raw["id"]),
            redact_cow(case_ours.PLATFORM, page.stream, raw, context),
            mapping(raw, context),
        )
        for raw in page.records
    ]
    return mapped, []


def run(url: str, data: Path, page_size: int) -> tuple[Callable[[], int], Callable[[], None]]:
    engine = case_ours.prepare(url)
    return (
        lambda: case_ours.load(engine, data, page_size, write=write_page_fast, mapper=map_page)
    ), engine.dispose
