"""Random-looking, seed-deterministic identifiers."""

from __future__ import annotations

import random
import string

ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits


def token(rng: random.Random, length: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choices(alphabet, k=length))


def digits(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(string.digits, k=length))
