"""Injected faults: queued by ``POST /_sandbox/faults``, consumed in order by matching requests.

Kinds served here (the grant faults ``revoke`` and ``expire_access_tokens`` act at once and are
handled by the admin router):

* ``status``: answer with that HTTP status and the platform's own error body;
* ``slow``: wait ``delay`` seconds, then serve the request normally;
* ``cut``: send the headers and part of a body, then drop the connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.common.stats import Stats

ADMIN_PREFIX = "/_sandbox"

ErrorRenderer = Callable[[int], tuple[dict[str, Any], dict[str, str]]]


@dataclass
class QueuedFault:
    kind: Literal["status", "slow", "cut"]
    count: int = 1
    path_prefix: str | None = None
    status: int | None = None
    retry_after: float | None = None
    delay: float = 0.0

    def matches(self, path: str) -> bool:
        return self.path_prefix is None or path.startswith(self.path_prefix)


class FaultQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[QueuedFault] = []

    def add(self, fault: QueuedFault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def take(self, path: str) -> QueuedFault | None:
        """The first queued fault matching ``path``, with one of its uses consumed."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(path):
                    fault.count -= 1
                    if fault.count <= 0:
                        del self._faults[index]
                    return QueuedFault(**asdict(fault))
        return None


class ConnectionCut(Exception):
    """Raised after a partial body so the server drops the connection mid-response."""


class _HideCuts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionCut)


logging.getLogger("uvicorn.error").addFilter(_HideCuts())


class FaultMiddleware:
    """Pure ASGI middleware (a ``cut`` needs control of the raw send channel)."""

    def __init__(
        self, app: ASGIApp, queue: FaultQueue, stats: Stats, render: ErrorRenderer
    ) -> None:
        self.app = app
        self.queue = queue
        self.stats = stats
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        fault = self.queue.take(path)
        if fault is None:
            await self.app(scope, receive, send)
            return
        self.stats.fault()
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay)
            await self.app(scope, receive, send)
        elif fault.kind == "status":
            await self._status(fault, send)
        else:
            await self._cut(send)

    async def _status(self, fault: QueuedFault, send: Send) -> None:
        status = fault.status or 500
        body, headers = self.render(status)
        if fault.retry_after is not None:
            value = fault.retry_after
            headers = {
                **headers,
                "retry-after": str(int(value)) if value == int(value) else str(value),
            }
        payload = json.dumps(body).encode()
        raw_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ]
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": payload})

    async def _cut(self, send: Send) -> None:
        partial = b'{"data":[{"id":"'
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": partial, "more_body": True})
        raise ConnectionCut("sandbox fault: connection cut")
