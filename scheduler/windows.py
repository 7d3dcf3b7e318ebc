"""Pure cursor arithmetic: which time range a stream run reads, in which windows.

The committed ``cursor`` means "everything up to this moment has been read". A run reads from
``cursor - lookback`` (or ``now - backfill`` the first time) up to ``now - end_lag``, split into
windows no longer than ``max_window``. While a run is in progress, ``pending`` records where it
is (window start, final end, the next page's parameters), saved with every page, so a run that
dies resumes where it stopped instead of moving the cursor past unread data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.model import CursorSpec, QueryParams


def parse_instant(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"cursor {value!r} has no time zone")
    return parsed.astimezone(UTC)


def format_instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def format_param(spec: CursorSpec, value: datetime) -> str:
    if spec.value_format == "unix":
        return str(int(value.timestamp()))
    return format_instant(value)


@dataclass(frozen=True)
class Progress:
    """Where an incremental run is: reading ``[window_start, until)``, next page ``resume``."""

    window_start: datetime
    until: datetime
    resume: QueryParams | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "window_start": format_instant(self.window_start),
            "until": format_instant(self.until),
            "resume": self.resume,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Progress:
        return cls(
            window_start=parse_instant(data["window_start"]),
            until=parse_instant(data["until"]),
            resume=data.get("resume"),
        )


def plan_run(
    spec: CursorSpec, cursor: str | None, pending: dict[str, Any] | None, now: datetime
) -> Progress:
    """Where this run starts: resume an unfinished run, or start a new one from the cursor."""
    if pending:
        return Progress.from_json(pending)
    # whole seconds: the bound we send is the bound we record (platforms take seconds)
    until = (now - spec.end_lag).replace(microsecond=0)
    start = parse_instant(cursor) - spec.lookback if cursor else now - spec.backfill
    return Progress(window_start=min(start, until), until=until)


def window_end(spec: CursorSpec, progress: Progress) -> datetime:
    if spec.max_window is None:
        return progress.until
    return min(progress.window_start + spec.max_window, progress.until)


def window_params(spec: CursorSpec, start: datetime, end: datetime) -> QueryParams:
    params: QueryParams = {spec.lower_param: format_param(spec, start)}
    if spec.upper_param:
        params[spec.upper_param] = format_param(spec, end)
    return params


def next_cursor(old: str | None, until: datetime) -> str:
    """The cursor after a completed run; it never moves backwards."""
    if old is not None and parse_instant(old) >= until:
        return old
    return format_instant(until)


ZERO = timedelta(0)
