"""Pieces every emulator shares: clock, grants, rate limits, faults, admin endpoints."""
