"""Serve emulators with uvicorn on loopback, each in a background thread.

``start_sandbox`` is a plain function: it works from sync code and from inside a running event
loop (each server runs its own loop in its own thread).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, overload

import uvicorn
from fastapi import FastAPI

from sandbox.amazon import platform as amazon_platform
from sandbox.amazon.world import AmazonWorld
from sandbox.common.config import WorldConfig, load_or_create
from sandbox.common.world import LimitsMode, PlatformWorld
from sandbox.stripe import platform as stripe_platform
from sandbox.stripe.world import StripeWorld

HOST = "127.0.0.1"
Builder = Callable[[WorldConfig, Path, LimitsMode], tuple[PlatformWorld, FastAPI]]
BUILDERS: Mapping[str, Builder] = {
    "amazon": amazon_platform.build,
    "stripe": stripe_platform.build,
}
_STARTUP_TIMEOUT = 10.0


@dataclass
class _Served:
    world: PlatformWorld
    server: uvicorn.Server
    thread: threading.Thread
    port: int


class RunningSandbox:
    """Running emulators; stop them with ``.stop()`` or by leaving the ``with`` block."""

    def __init__(self, served: dict[str, _Served], config: WorldConfig) -> None:
        self._served = served
        self.config = config

    @property
    def platforms(self) -> list[str]:
        return list(self._served)

    def base_url(self, platform: str) -> str:
        return f"http://{HOST}:{self._get(platform).port}"

    @overload
    def world(self, platform: Literal["amazon"]) -> AmazonWorld: ...
    @overload
    def world(self, platform: Literal["stripe"]) -> StripeWorld: ...
    @overload
    def world(self, platform: str) -> PlatformWorld: ...
    def world(self, platform: str) -> PlatformWorld:
        return self._get(platform).world

    def _get(self, platform: str) -> _Served:
        if platform not in self._served:
            raise KeyError(
                f"sandbox does not serve {platform!r} (serving: {', '.join(self._served)})"
            )
        return self._served[platform]

    def stop(self) -> None:
        for served in self._served.values():
            served.server.should_exit = True
        for served in self._served.values():
            served.thread.join(timeout=5)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _serve(app: FastAPI, port: int) -> tuple[uvicorn.Server, threading.Thread, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("sandbox server failed to start")
        time.sleep(0.005)
    return server, thread, sock.getsockname()[1]


def start_sandbox(
    platforms: Sequence[str],
    state_dir: Path,
    *,
    seed: int = 7,
    limits: Literal["sandbox", "production"] = "sandbox",
    ports: Mapping[str, int] | None = None,
) -> RunningSandbox:
    """Start one emulator per platform on 127.0.0.1 (ephemeral ports unless ``ports`` says).

    ``state_dir`` keeps the world identity (``sandbox.json``), OAuth grants and admin changes;
    a later call on the same directory serves the same data and honours the same tokens.
    """
    unknown = [p for p in platforms if p not in BUILDERS]
    if unknown:
        raise ValueError(f"unknown platforms {unknown}; known: {sorted(BUILDERS)}")
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    config = load_or_create(state_dir, seed)
    served: dict[str, _Served] = {}
    try:
        for name in dict.fromkeys(platforms):
            world, app = BUILDERS[name](config, state_dir, limits)
            server, thread, port = _serve(app, (ports or {}).get(name, 0))
            served[name] = _Served(world, server, thread, port)
    except BaseException:
        RunningSandbox(served, config).stop()
        raise
    return RunningSandbox(served, config)
