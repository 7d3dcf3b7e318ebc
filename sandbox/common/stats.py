"""Counters an emulator exposes at ``GET /_sandbox/stats``."""

from __future__ import annotations

import threading
from typing import Any


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.token_requests: dict[str, int] = {"authorization_code": 0, "refresh_token": 0}
        self.api_requests = 0
        self.rate_limited = 0
        self.faults_served = 0
        # OAuth error codes the token endpoint answered (invalid_grant, invalid_client, ...)
        self.token_errors: dict[str, int] = {}
        # refresh tokens presented again after a rotation replaced them (a client bug)
        self.refresh_token_reused = 0

    def token_request(self, grant_type: str) -> None:
        with self._lock:
            self.token_requests[grant_type] = self.token_requests.get(grant_type, 0) + 1

    def token_error(self, error: str, *, reused: bool = False) -> None:
        with self._lock:
            self.token_errors[error] = self.token_errors.get(error, 0) + 1
            if reused:
                self.refresh_token_reused += 1

    def api_request(self) -> None:
        with self._lock:
            self.api_requests += 1

    def limited(self) -> None:
        with self._lock:
            self.rate_limited += 1

    def fault(self) -> None:
        with self._lock:
            self.faults_served += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "token_requests": dict(self.token_requests),
                "api_requests": self.api_requests,
                "rate_limited": self.rate_limited,
                "faults_served": self.faults_served,
                "token_errors": dict(self.token_errors),
                "invalid_grant": self.token_errors.get("invalid_grant", 0),
                "refresh_token_reused": self.refresh_token_reused,
            }
