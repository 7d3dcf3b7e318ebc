"""Keep each test's outcome on its item, so the page fixture can save what the browser showed
when a test failed."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[Any]
) -> Generator[None, Any, Any]:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report
