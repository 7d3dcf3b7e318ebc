"""Which mapping handles which platform stream, and the mapping version per platform.

Bump a platform's ``MAPPING_VERSION`` whenever its mappings change what they output: the
warehouse records the version on every canonical row, so rows can be re-derived from raw.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from normalizer import amazon, stripe
from normalizer.context import MappingContext
from normalizer.lookup_errors import UnknownPlatform, UnknownStream
from normalizer.schema import CanonicalRecord

__all__ = [
    "MAPPING_VERSION",
    "MappingFn",
    "UnknownPlatform",
    "UnknownStream",
    "get_mapping",
    "platforms",
    "streams",
]

MappingFn = Callable[[dict[str, Any], MappingContext], list[CanonicalRecord]]

_MAPPINGS: Mapping[str, Mapping[str, MappingFn]] = {
    amazon.PLATFORM: amazon.MAPPINGS,
    stripe.PLATFORM: stripe.MAPPINGS,
}

MAPPING_VERSION: dict[str, int] = {amazon.PLATFORM: 1, stripe.PLATFORM: 2}


def platforms() -> list[str]:
    return sorted(_MAPPINGS)


def streams(platform: str) -> list[str]:
    if platform not in _MAPPINGS:
        raise UnknownPlatform(platform, platforms())
    return list(_MAPPINGS[platform])


def get_mapping(platform: str, stream: str) -> MappingFn:
    """The pure mapping ``(raw, ctx) -> list[CanonicalRecord]`` of a platform stream."""
    known = streams(platform)
    if stream not in known:
        raise UnknownStream(platform, stream, known)
    return _MAPPINGS[platform][stream]
