"""Assemble the Stripe emulator: world core, seeded world, ASGI app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from sandbox.common.config import WorldConfig
from sandbox.common.world import LimitsMode, Settings, WorldCore
from sandbox.stripe.app import create_app
from sandbox.stripe.facts import LIVE_LIMIT, TEST_LIMIT, TOKENS
from sandbox.stripe.world import StripeWorld


def build(config: WorldConfig, state_dir: Path, limits: LimitsMode) -> tuple[StripeWorld, FastAPI]:
    default = LIVE_LIMIT if limits == "production" else TEST_LIMIT
    # Connect OAuth access tokens do not expire (no expires_in in the token response).
    core = WorldCore.create(
        "stripe", config, state_dir, TOKENS, {}, default, Settings(access_token_lifetime=None)
    )
    world = StripeWorld(core)
    return world, create_app(world)
