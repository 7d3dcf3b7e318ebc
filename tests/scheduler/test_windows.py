"""Cursor arithmetic: first backfill, look-back, 180-day windows, resume, never backwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.model import CursorSpec
from scheduler import windows

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
AMAZON_FINANCES = CursorSpec(
    field="postedDate",
    lower_param="postedAfter",
    upper_param="postedBefore",
    lookback=timedelta(hours=48),
    max_window=timedelta(days=180),
    backfill=timedelta(days=730),
    end_lag=timedelta(minutes=2),
)


def test_first_run_backfills_in_windows_of_at_most_180_days() -> None:
    progress = windows.plan_run(AMAZON_FINANCES, None, None, NOW)
    assert progress.window_start == NOW - timedelta(days=730)
    assert progress.until == NOW - timedelta(minutes=2)
    spans = []
    while True:
        end = windows.window_end(AMAZON_FINANCES, progress)
        spans.append(end - progress.window_start)
        if end >= progress.until:
            break
        progress = windows.Progress(end, progress.until)
    assert all(span <= timedelta(days=180) for span in spans)
    assert sum(spans, timedelta(0)) == timedelta(days=730) - timedelta(minutes=2)


def test_later_runs_start_a_look_back_before_the_cursor() -> None:
    cursor = "2026-11-20T00:00:00Z"
    progress = windows.plan_run(AMAZON_FINANCES, cursor, None, NOW)
    assert progress.window_start == datetime(2026, 11, 18, tzinfo=UTC)
    params = windows.window_params(AMAZON_FINANCES, progress.window_start, progress.until)
    assert params == {"postedAfter": "2026-11-18T00:00:00Z", "postedBefore": "2026-11-25T11:58:00Z"}


def test_an_unfinished_run_resumes_where_it_stopped() -> None:
    pending = windows.Progress(
        datetime(2025, 6, 1, tzinfo=UTC), NOW, {"nextToken": "abc"}
    ).to_json()
    progress = windows.plan_run(AMAZON_FINANCES, "2025-01-01T00:00:00Z", pending, NOW)
    assert progress.window_start == datetime(2025, 6, 1, tzinfo=UTC)
    assert progress.resume == {"nextToken": "abc"}


def test_unix_cursors_are_whole_seconds() -> None:
    spec = CursorSpec(field="created", lower_param="created[gte]", value_format="unix")
    assert windows.window_params(spec, NOW, NOW) == {"created[gte]": str(int(NOW.timestamp()))}


def test_the_cursor_never_moves_backwards() -> None:
    later = "2026-11-30T00:00:00Z"
    assert windows.next_cursor(later, NOW) == later
    assert windows.next_cursor("2026-01-01T00:00:00Z", NOW) == "2026-11-25T12:00:00Z"
    assert windows.next_cursor(None, NOW) == "2026-11-25T12:00:00Z"
