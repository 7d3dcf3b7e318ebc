"""Amazon Selling Partner API connector."""

from connectors.amazon.facts import FACTS
from connectors.amazon.streams import STREAMS
from connectors.model import Connector

CONNECTOR = Connector(facts=FACTS, streams=STREAMS)

__all__ = ["CONNECTOR", "FACTS"]
