"""Assemble the Amazon emulator: world core, seeded world, ASGI app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from sandbox.amazon.app import create_app
from sandbox.amazon.facts import ACCESS_TOKEN_LIFETIME, PRODUCTION_LIMITS, SANDBOX_LIMIT, TOKENS
from sandbox.amazon.world import AmazonWorld
from sandbox.common.config import WorldConfig
from sandbox.common.world import LimitsMode, Settings, WorldCore


def build(config: WorldConfig, state_dir: Path, limits: LimitsMode) -> tuple[AmazonWorld, FastAPI]:
    table = dict(PRODUCTION_LIMITS) if limits == "production" else {}
    core = WorldCore.create(
        "amazon",
        config,
        state_dir,
        TOKENS,
        table,
        SANDBOX_LIMIT,
        Settings(access_token_lifetime=ACCESS_TOKEN_LIFETIME),
    )
    world = AmazonWorld(core)
    return world, create_app(world)
