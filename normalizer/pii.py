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
from collections.abc import Mapping
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
    return _hash_identifier(_keyed_sha256(ctx.buyer_hash_key), identifier)


def _hash_identifier(keyed: _KeyedSha256, identifier: str) -> str:
    value = identifier.strip()
    if not value:
        raise MappingError("buyer identifier: empty")
    if value.startswith("bk_") and is_buyer_key(value):
        return value
    if "@" in value:
        value = value.lower()
    return "bk_" + keyed.hexdigest(value.encode("utf-8"))


class _KeyedSha256:
    """HMAC-SHA256 keyed once (the standard library's ``hmac``); each value copies the keyed
    state instead of hashing the key again."""

    __slots__ = ("_keyed",)

    def __init__(self, key: bytes) -> None:
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def hexdigest(self, message: bytes) -> str:
        mac = self._keyed.copy()
        mac.update(message)
        return mac.hexdigest()


def _keyed_sha256(key: bytes) -> _KeyedSha256:
    if type(key) is bytes:
        return _cached_keyed_sha256(key)
    return _KeyedSha256(key)  # not hashable for the cache (bytearray); hmac checks the type


@functools.lru_cache(maxsize=64)
def _cached_keyed_sha256(key: bytes) -> _KeyedSha256:
    return _KeyedSha256(key)


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


# ------------------------------------------------------------------ compiled redaction paths
#
# Each RedactionRules is compiled once into a tree of parsed segments, grouped per object by
# what they do (shared prefixes are walked once; an absent ``source`` skips its 30 paths in one
# look-up). The walk copies on write: an object or list is copied only when something below it
# changes, so the record handed to ``redact`` is never modified and everything no path changes
# is shared with it. Every place a path reaches is reached by that path only (``_compile``
# refuses tables where the order paths are applied in would matter), so one pass is enough.

_SEGMENT = re.compile(r"^(?P<name>[^\[\]]+)(?:\[(?:(?P<key>[^=\]]+)=(?P<value>[^\]]*))?\])?$")

_DROP, _KEY = 0, 1  # what happens where a path ends

_Tree = dict[str, "_Tree | int"]  # segment -> the paths below it, or the action where one ends


@dataclass(frozen=True, slots=True)
class _Node:
    """The paths below one object, grouped by what they do with the key they reach."""

    drops: tuple[str, ...] = ()  # set to None
    keys: tuple[str, ...] = ()  # replaced by the buyer key
    objects: tuple[tuple[str, _Node], ...] = ()  # paths going on inside an object
    lists: tuple[_Each, ...] = ()  # paths going on inside (some) elements of a list
    every: _Node | int | None = None  # ``*``: the paths inside every value, or its action


@dataclass(frozen=True, slots=True)
class _Each:
    """``name[]`` (every element) or ``name[match_key=match_value]``, then the paths ``below``."""

    name: str
    below: _Node
    match_key: str | None
    match_value: str | None


_EMPTY = _Node()
_COMPILED: dict[int, tuple[RedactionRules, _Node]] = {}


def _compiled(rules: RedactionRules) -> _Node:
    """``rules`` compiled once (by identity: a look-up here costs less than hashing the rules)."""
    entry = _COMPILED.get(id(rules))
    if entry is None or entry[0] is not rules:
        if len(_COMPILED) >= 256:  # pragma: no cover - only the tables' rules come here
            _COMPILED.clear()
        entry = _COMPILED[id(rules)] = (rules, _compile(rules))
    return entry[1]


def _compile(rules: RedactionRules) -> _Node:
    """The paths as one tree; ValueError for a table whose result would depend on the order its
    paths are applied in (a path ending where another goes on, ``*`` next to a named key, ...).
    """
    tree: _Tree = {}
    for action, paths in ((_DROP, rules.drop), (_KEY, rules.key)):
        for path in paths:
            _insert(tree, path, action)
    node = _freeze(tree)
    return _EMPTY if node == _EMPTY else node


def _insert(tree: _Tree, path: str, action: int) -> None:
    *parents, last = path.split(".")
    node = tree
    for segment in parents:
        child = node.setdefault(segment, {})
        if not isinstance(child, dict):
            raise ValueError(f"redaction path {path!r} goes on where another one ends")
        node = child
    if node.setdefault(last, action) != action:
        raise ValueError(f"redaction path {path!r} ends where another one goes on or differs")


def _freeze(tree: _Tree) -> _Node:
    if "*" in tree:
        if len(tree) > 1:
            raise ValueError(f"redaction paths: '*' next to named keys {sorted(tree)}")
        below = tree["*"]
        return _Node(every=below if isinstance(below, int) else _freeze(below))
    drops: list[str] = []
    keys: list[str] = []
    objects: list[tuple[str, _Node]] = []
    lists: list[_Each] = []
    for segment, below in tree.items():
        match = _SEGMENT.match(segment)
        if match is None:
            raise ValueError(f"bad redaction path segment {segment!r}")
        name = match["name"]
        if "[" in segment:
            if isinstance(below, int):
                raise ValueError(f"redaction path ends in a list segment {segment!r}")
            lists.append(_each(name, _freeze(below), match["key"], match["value"]))
        elif isinstance(below, int):
            (drops if below == _DROP else keys).append(name)
        else:
            objects.append((name, _freeze(below)))
    node = _Node(tuple(drops), tuple(keys), tuple(objects), tuple(lists))
    if len(set(_names(node))) != len(_names(node)):
        raise ValueError(f"redaction paths: one key reached in two ways {sorted(tree)}")
    return node


def _each(name: str, below: _Node, match_key: str | None, match_value: str | None) -> _Each:
    if match_key is not None and (below.every is not None or match_key in _names(below)):
        raise ValueError(f"redaction path below {name}[{match_key}=...] changes {match_key!r}")
    return _Each(name, below, match_key, match_value)


def _names(node: _Node) -> list[str]:
    return [
        *node.drops,
        *node.keys,
        *(name for name, _ in node.objects),
        *(e.name for e in node.lists),
    ]


class _Keyer:
    """The buyer keys of one record. The identifier hashed last is remembered: a charge's
    e-mail is often both ``receipt_email`` and ``billing_details.email``."""

    __slots__ = ("_ctx", "_identifier", "_key")

    def __init__(self, ctx: MappingContext) -> None:
        self._ctx = ctx
        self._identifier: str | None = None  # the identifier hashed last, and its key
        self._key = ""

    def replace(self, value: Any) -> Any:
        """What a ``key`` path leaves where ``value`` was (None stays None)."""
        if isinstance(value, str):
            identifier = value
        elif isinstance(value, dict) and isinstance(value.get("id"), str):
            identifier = value["id"]  # an expanded object: keep only the key
        else:
            return None
        if not identifier.strip():
            return None
        if identifier != self._identifier:
            self._key = buyer_key(self._ctx, identifier)
            self._identifier = identifier
        return self._key


def _redact_object(obj: dict[str, Any], node: _Node, keyer: _Keyer) -> dict[str, Any] | None:
    """The redacted copy of ``obj``, or None when no path changes anything in it.

    (Written out flat: this loop is the cost of ``redact``.)"""
    copied: dict[str, Any] | None = None
    for name in node.drops:
        if obj.get(name) is not None:
            if copied is None:
                copied = dict(obj)
            copied[name] = None
    for name in node.keys:
        value = obj.get(name)
        if value is not None and (new := keyer.replace(value)) is not value:
            if copied is None:
                copied = dict(obj)
            copied[name] = new
    for name, below in node.objects:
        value = obj.get(name)
        if isinstance(value, dict) and (new := _redact_object(value, below, keyer)) is not None:
            if copied is None:
                copied = dict(obj)
            copied[name] = new
    for each in node.lists:
        value = obj.get(each.name)
        if isinstance(value, list) and (new := _redact_list(value, each, keyer)) is not None:
            if copied is None:
                copied = dict(obj)
            copied[each.name] = new
    if node.every is not None:
        return _redact_every(obj, node.every, keyer)  # ``*`` has no named siblings
    return copied


def _redact_every(obj: dict[str, Any], every: _Node | int, keyer: _Keyer) -> dict[str, Any] | None:
    copied: dict[str, Any] | None = None
    for name, value in obj.items():
        if isinstance(every, _Node):
            if not isinstance(value, dict):
                continue
            new = _redact_object(value, every, keyer)
            if new is None:
                continue
        else:
            new = None if every == _DROP else keyer.replace(value)
        if new is not value:
            if copied is None:
                copied = dict(obj)
            copied[name] = new
    return copied


def _redact_list(items: list[Any], each: _Each, keyer: _Keyer) -> list[Any] | None:
    copied: list[Any] | None = None
    match_key, match_value, below = each.match_key, each.match_value, each.below
    for index, item in enumerate(items):
        if isinstance(item, dict) and (match_key is None or item.get(match_key) == match_value):
            new = _redact_object(item, below, keyer)
            if new is not None:
                if copied is None:
                    copied = list(items)
                copied[index] = new
    return copied


def redact(
    platform: str, stream: str, record: Mapping[str, Any], ctx: MappingContext
) -> dict[str, Any]:
    """A copy of ``record`` for storage, with the buyer's personal data removed.

    The copy shares the parts no redaction path changes with ``record``: treat both as
    read-only JSON (the runner serializes the copy and never changes either)."""
    node = _compiled(redaction_rules(platform, stream))
    source = record if isinstance(record, dict) else dict(record)
    if node is not _EMPTY:
        copied = _redact_object(source, node, _Keyer(ctx))
        if copied is not None:
            return copied
    return dict(source)
