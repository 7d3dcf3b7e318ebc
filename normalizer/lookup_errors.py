"""Errors for an unknown platform or stream name (KeyError subclasses with a readable message)."""

from __future__ import annotations

from collections.abc import Sequence


class UnknownPlatform(KeyError):
    def __init__(self, platform: str, known: Sequence[str]) -> None:
        self.platform = platform
        self.message = f"unknown platform {platform!r} (known: {', '.join(known)})"
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return self.message


class UnknownStream(KeyError):
    def __init__(self, platform: str, stream: str, known: Sequence[str]) -> None:
        self.platform = platform
        self.stream = stream
        self.message = f"{platform} has no stream {stream!r} (known: {', '.join(known)})"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message
