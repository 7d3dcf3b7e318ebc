"""Buyer privacy: the keyed buyer hash, and the redacted copy of a raw record that we store.

``buyer_key`` turns a buyer identifier (an e-mail, a platform customer id) into
``"bk_" + HMAC-SHA256(tenant key, normalised identifier)``. The key is per tenant, so two
lenders cannot join their buyers; the same e-mail on two platforms of one tenant gives the same
key. A value that already is a key is returned unchanged, which is what makes redaction safe:
the redacted copy carries the key where the identifier was, and mapping it gives the same
canonical rows as mapping the original.

``redact`` is driven by per-platform, per-stream field-path tables (below). Path syntax:
dotted keys; ``name[]`` walks every element of a list; ``name[key=value]`` only the elements
whose ``key`` equals ``value``; ``*`` every value of an object. ``drop`` paths are set to
``None`` (the shape of the record stays); ``key`` paths are replaced by their buyer key. Country
codes are kept; the seller's own business data (store name, ship-from address) is not touched.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from normalizer.context import MappingContext
from normalizer.errors import MappingError
from normalizer.lookup_errors import UnknownPlatform, UnknownStream

_KEY_FORMAT = re.compile(r"^bk_[0-9a-f]{64}$")


def is_buyer_key(value: str) -> bool:
    return bool(_KEY_FORMAT.match(value))


def buyer_key(ctx: MappingContext, identifier: str) -> str:
    """Keyed hash of a buyer identifier; e-mails are compared case-insensitively."""
    value = identifier.strip()
    if not value:
        raise MappingError("buyer identifier: empty")
    if is_buyer_key(value):
        return value
    if "@" in value:
        value = value.lower()
    digest = hmac.new(ctx.buyer_hash_key, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return "bk_" + digest


@dataclass(frozen=True)
class RedactionRules:
    drop: tuple[str, ...] = ()  # personal data: set to None
    key: tuple[str, ...] = ()  # identifiers the mapping hashes: replaced by the buyer key


def _address(prefix: str, fields: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{prefix}.{name}" for name in fields)


# Amazon Orders v2026-01-01 CustomerAddress (all but countryCode, stateOrRegion, addressType).
# https://developer-docs.amazon.com/sp-api/reference/searchorders (models/orders_2026-01-01.json)
_AMAZON_ADDRESS = (
    "name", "companyName", "addressLine1", "addressLine2", "addressLine3", "city",
    "districtOrCounty", "municipality", "postalCode", "phone", "extendedFields",
)  # fmt: skip
# Amazon Orders v0 Address: https://developer-docs.amazon.com/sp-api/docs/orders-api-v0-reference
_AMAZON_V0_ADDRESS = (
    "Name", "CompanyName", "AddressLine1", "AddressLine2", "AddressLine3", "City", "County",
    "District", "Municipality", "PostalCode", "Phone", "ExtendedFields",
)  # fmt: skip
# Stripe address objects: https://docs.stripe.com/api/charges/object#charge_object-billing_details
_STRIPE_ADDRESS = ("line1", "line2", "city", "postal_code")

_AMAZON_ORDERS = RedactionRules(
    drop=(
        "buyer.buyerName",
        "buyer.buyerCompanyName",
        *_address("recipient.deliveryAddress", _AMAZON_ADDRESS),
        "recipient.deliveryPreference",
        "orderItems[].fulfillment.packing.giftOption.giftMessage",
        "tax.taxRegistrations[entityType=BUYER].legalName",
        "tax.taxRegistrations[entityType=BUYER].taxRegistrationNumber",
        *_address("tax.taxRegistrations[entityType=BUYER].taxRegistrationAddress", _AMAZON_ADDRESS),
        # v0 getOrders shape
        "BuyerInfo.BuyerName",
        "BuyerInfo.BuyerCounty",
        "BuyerInfo.BuyerTaxInfo",
        "BuyerTaxInformation",
        *_address("ShippingAddress", _AMAZON_V0_ADDRESS),
    ),
    key=("buyer.buyerEmail", "BuyerInfo.BuyerEmail"),
)

_STRIPE_CHARGES = RedactionRules(
    drop=(
        "billing_details.name",
        "billing_details.phone",
        "billing_details.tax_id",
        *_address("billing_details.address", _STRIPE_ADDRESS),
        "shipping.name",
        "shipping.phone",
        *_address("shipping.address", _STRIPE_ADDRESS),
        # legacy Sources / Cards carry the owner's details (and a client secret)
        "source.client_secret",
        "source.name",
        "source.last4",
        "source.fingerprint",
        "source.exp_month",
        "source.exp_year",
        "source.card.name",
        "source.card.last4",
        "source.card.fingerprint",
        "source.card.exp_month",
        "source.card.exp_year",
        "source.address_line1",
        "source.address_line2",
        "source.address_city",
        "source.address_zip",
        "source.owner.name",
        "source.owner.email",
        "source.owner.phone",
        "source.owner.verified_name",
        "source.owner.verified_email",
        "source.owner.verified_phone",
        *_address("source.owner.address", _STRIPE_ADDRESS),
        *_address("source.owner.verified_address", _STRIPE_ADDRESS),
        # card and bank details that identify a person's instrument
        "payment_method_details.*.last4",
        "payment_method_details.*.fingerprint",
        "payment_method_details.*.exp_month",
        "payment_method_details.*.exp_year",
        "payment_method_details.*.email",
        "payment_method_details.*.name",
        "payment_method_details.*.cardholder_name",
        "payment_method_details.*.verified_name",
        "payment_method_details.*.bank_account_holder_name",
    ),
    key=("billing_details.email", "receipt_email", "customer"),
)

# https://docs.stripe.com/api/disputes/object#dispute_object-evidence
_STRIPE_DISPUTES = RedactionRules(
    drop=(
        "evidence.billing_address",
        "evidence.customer_email_address",
        "evidence.customer_name",
        "evidence.customer_purchase_ip",
        "evidence.customer_signature",
        "evidence.shipping_address",
        "evidence.access_activity_log",
        "evidence.customer_communication",
        "evidence.uncategorized_text",
    ),
)

_NOTHING = RedactionRules()

REDACTION_TABLES: Mapping[str, Mapping[str, RedactionRules]] = {
    "amazon": {"orders": _AMAZON_ORDERS, "transactions": _NOTHING, "account": _NOTHING},
    "stripe": {
        "account": _NOTHING,  # the seller's own business data
        "charges": _STRIPE_CHARGES,
        "refunds": _NOTHING,
        "balance_transactions": _NOTHING,
        "payouts": _NOTHING,
        "disputes": _STRIPE_DISPUTES,
    },
}


def redaction_rules(platform: str, stream: str) -> RedactionRules:
    if platform not in REDACTION_TABLES:
        raise UnknownPlatform(platform, sorted(REDACTION_TABLES))
    streams = REDACTION_TABLES[platform]
    if stream not in streams:
        raise UnknownStream(platform, stream, sorted(streams))
    return streams[stream]


_SEGMENT = re.compile(r"^(?P<name>[^\[\]]+)(?:\[(?:(?P<key>[^=\]]+)=(?P<value>[^\]]*))?\])?$")


def _walk(node: Any, segments: list[str], apply: Callable[[dict[str, Any], str], None]) -> None:
    """Call ``apply(parent, key)`` for every place the path reaches (only where the key exists).

    Copy on write: every container the walk descends into is replaced, in its (already copied)
    parent, by a shallow copy before anything below it changes. The record handed to
    :func:`redact` is never modified, and the parts no path reaches are shared, not copied
    (a deep copy of every record was half the cost of loading a page).
    """
    if not segments or not isinstance(node, dict):
        return
    head, rest = segments[0], segments[1:]
    if head == "*":
        targets = list(node)
    else:
        match = _SEGMENT.match(head)
        if match is None:  # pragma: no cover - the tables are ours
            raise ValueError(f"bad redaction path segment {head!r}")
        name = match["name"]
        if name not in node:
            return
        if "[" in head:
            items = node[name]
            if isinstance(items, list):
                copied_items = [dict(item) if isinstance(item, dict) else item for item in items]
                node[name] = copied_items
                for item in copied_items:
                    wanted = match["key"] is None or (
                        isinstance(item, dict) and item.get(match["key"]) == match["value"]
                    )
                    if wanted:
                        _walk(item, rest, apply)
            return
        targets = [name]
    for name in targets:
        if rest:
            child = node[name]
            if isinstance(child, dict):
                child = node[name] = dict(child)
            _walk(child, rest, apply)
        else:
            apply(node, name)


def _drop(parent: dict[str, Any], key: str) -> None:
    parent[key] = None


def _keyer(ctx: MappingContext) -> Callable[[dict[str, Any], str], None]:
    def replace(parent: dict[str, Any], key: str) -> None:
        value = parent[key]
        if isinstance(value, str) and value.strip():
            parent[key] = buyer_key(ctx, value)
        elif isinstance(value, dict) and isinstance(value.get("id"), str) and value["id"].strip():
            parent[key] = buyer_key(ctx, value["id"])  # an expanded object: keep only the key
        elif value is not None:
            parent[key] = None

    return replace


def redact(
    platform: str, stream: str, record: Mapping[str, Any], ctx: MappingContext
) -> dict[str, Any]:
    """A copy of ``record`` for storage, with the buyer's personal data removed.

    The copy shares the parts no redaction path reaches with ``record``: treat both as
    read-only JSON (the runner serializes the copy and never changes either)."""
    rules = redaction_rules(platform, stream)
    copied: dict[str, Any] = dict(record)
    for path in rules.drop:
        _walk(copied, _segments(path), _drop)
    replace = _keyer(ctx)
    for path in rules.key:
        _walk(copied, _segments(path), replace)
    return copied


@functools.lru_cache(maxsize=1024)
def _split(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def _segments(path: str) -> list[str]:
    return list(_split(path))
