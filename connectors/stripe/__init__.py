"""Stripe connector (Connect OAuth, Standard accounts)."""

from connectors.model import Connector
from connectors.stripe.facts import FACTS
from connectors.stripe.streams import STREAMS

CONNECTOR = Connector(facts=FACTS, streams=STREAMS)

__all__ = ["CONNECTOR", "FACTS"]
