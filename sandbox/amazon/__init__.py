"""Amazon SP-API emulator: LWA OAuth, Orders v2026-01-01, Finances v2024-06-19, Sellers v1."""
