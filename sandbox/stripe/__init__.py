"""Stripe emulator: Connect OAuth (Standard accounts) and the read API of connected accounts."""
