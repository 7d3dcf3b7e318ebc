"""Every connector this build knows, by platform name."""

from __future__ import annotations

from connectors.amazon import CONNECTOR as AMAZON
from connectors.model import Connector
from connectors.stripe import CONNECTOR as STRIPE

_CONNECTORS: dict[str, Connector] = {c.name: c for c in (AMAZON, STRIPE)}


class UnknownPlatform(KeyError):
    """No connector has that name."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown platform {self.name!r} (known: {', '.join(connector_names())})"


def get_connector(name: str) -> Connector:
    try:
        return _CONNECTORS[name]
    except KeyError:
        raise UnknownPlatform(name) from None


def connector_names() -> list[str]:
    return sorted(_CONNECTORS)
