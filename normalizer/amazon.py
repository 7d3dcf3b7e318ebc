"""Amazon Selling Partner API raw records -> canonical records.

Streams:

* ``orders``: Orders API v2026-01-01 ``searchOrders``/``getOrder`` order objects (also the
  deprecated v0 ``getOrders`` shape, which the recorded Airbyte data uses) -> Order + OrderLines.
  https://developer-docs.amazon.com/sp-api/docs/orders-api-v2026-01-01-reference
* ``transactions``: Finances API v2024-06-19 ``listTransactions`` Transaction -> Transactions
  (plus a Refund or a Payout for refunds and disbursements).
  https://developer-docs.amazon.com/sp-api/docs/finances-api-reference
* ``account``: Sellers API ``getMarketplaceParticipations`` element -> Account.
  https://developer-docs.amazon.com/sp-api/docs/sellers-api-v1-reference

Money: Orders API amounts are decimal strings, Finances amounts are JSON numbers (BigDecimal),
so pages must be parsed with ``parse_float=Decimal``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from normalizer.amazon_marketplaces import MARKETPLACE_CURRENCY
from normalizer.context import MappingContext
from normalizer.errors import MappingError
from normalizer.money import normalize_currency, parse_amount
from normalizer.pii import buyer_key
from normalizer.raw import (
    country_code,
    ensure_record,
    get,
    lookup,
    optional_bool,
    optional_dict,
    optional_list,
    optional_str,
    require,
    require_own_account,
    require_str,
    within,
)
from normalizer.records import build
from normalizer.schema import (
    Account,
    AccountStatus,
    CanonicalRecord,
    Order,
    OrderLine,
    OrderStatus,
    Payout,
    PayoutStatus,
    Refund,
    RefundStatus,
    Transaction,
    TransactionStatus,
    TransactionType,
)
from normalizer.timeutil import parse_datetime

PLATFORM = "amazon"
ZERO = Decimal(0)


def _money(
    node: object, field: str, amount_key: str = "amount", currency_key: str = "currencyCode"
) -> tuple[Decimal, str]:
    if not isinstance(node, Mapping):
        raise MappingError(f"{field}: missing")
    amount = parse_amount(node.get(amount_key), f"{field}.{amount_key}")
    currency = normalize_currency(node.get(currency_key), f"{field}.{currency_key}")
    return amount, currency


def _same_currency(found: str, expected: str, field: str) -> None:
    if found != expected:
        raise MappingError(f"{field}: currency {found} differs from the order's {expected}")


def _optional_time(raw: Mapping[str, Any], path: str) -> datetime | None:
    value = get(raw, path)
    return None if value is None else parse_datetime(value, path)


def _channel(name: str) -> str:
    """``Amazon.com`` -> ``amazon.com``; ``NON_AMAZON`` / ``Non-Amazon`` -> ``non-amazon``."""
    return re.sub(r"[\s_]+", "-", name.strip().lower())


# ---------------------------------------------------------------------------------- orders

# https://developer-docs.amazon.com/sp-api/docs/orders-api-v2026-01-01-reference#fulfillmentstatus
_FULFILLMENT_STATUS = {
    "PENDING_AVAILABILITY": OrderStatus.PENDING,
    "PENDING": OrderStatus.PENDING,
    "UNSHIPPED": OrderStatus.OPEN,
    "PARTIALLY_SHIPPED": OrderStatus.PARTIALLY_FULFILLED,
    "SHIPPED": OrderStatus.FULFILLED,
    "CANCELLED": OrderStatus.CANCELLED,
    "UNFULFILLABLE": OrderStatus.FAILED,
}

# v0 OrderStatus; InvoiceUnconfirmed means shipped, invoice not yet confirmed.
# https://developer-docs.amazon.com/sp-api/docs/orders-api-v0-reference#orderstatus
_V0_ORDER_STATUS = {
    "PendingAvailability": OrderStatus.PENDING,
    "Pending": OrderStatus.PENDING,
    "Unshipped": OrderStatus.OPEN,
    "PartiallyShipped": OrderStatus.PARTIALLY_FULFILLED,
    "Shipped": OrderStatus.FULFILLED,
    "InvoiceUnconfirmed": OrderStatus.FULFILLED,
    "Canceled": OrderStatus.CANCELLED,
    "Unfulfillable": OrderStatus.FAILED,
}


def map_orders(raw: dict[str, Any], ctx: MappingContext) -> list[CanonicalRecord]:
    """One order -> [Order, OrderLine...]. Accepts the v2026-01-01 and the v0 order shapes."""
    record = ensure_record(raw)
    if "orderId" in record:
        return _order_2026(record, ctx)
    if "AmazonOrderId" in record:
        return _order_v0(record, ctx)
    raise MappingError("orderId: missing (neither an Orders v2026-01-01 nor a v0 order)")


def _breakdown_sums(breakdowns: list[Any], prefix: str, currency: str) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    for index, entry in enumerate(breakdowns):
        with within(f"{prefix}[{index}]"):
            entry = ensure_record(entry)
            kind = require_str(entry, "type").upper()
            amount, found = _money(entry.get("subtotal"), "subtotal")
            _same_currency(found, currency, "subtotal.currencyCode")
        sums[kind] = sums.get(kind, ZERO) + amount
    return sums


def _order_lines(
    record: Mapping[str, Any], order_id: str, currency: str | None, updated_at: datetime | None
) -> list[OrderLine]:
    lines: list[OrderLine] = []
    for index, item in enumerate(optional_list(record, "orderItems")):
        with within(f"orderItems[{index}]"):
            lines.append(_order_line(ensure_record(item), order_id, currency, updated_at))
    return lines


def _order_line(
    item: Mapping[str, Any], order_id: str, order_currency: str | None, updated_at: datetime | None
) -> OrderLine:
    item_id = require_str(item, "orderItemId")
    quantity = require(item, "quantityOrdered")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise MappingError("quantityOrdered: must be a non-negative integer")
    unit: tuple[Decimal, str] | None = None
    if get(item, "product.price.unitPrice") is not None:
        unit = _money(get(item, "product.price.unitPrice"), "product.price.unitPrice")
    currency = unit[1] if unit else order_currency
    item_total: Decimal | None = None
    for index, entry in enumerate(optional_list(item, "proceeds.breakdowns")):
        if isinstance(entry, Mapping) and str(entry.get("type", "")).upper() == "ITEM":
            where = f"proceeds.breakdowns[{index}].subtotal"
            amount, found = _money(entry.get("subtotal"), where)
            if currency is not None:
                _same_currency(found, currency, f"{where}.currencyCode")
            currency = found
            item_total = amount if item_total is None else item_total + amount
    if currency is None:
        raise MappingError("product.price.unitPrice: missing, and no currency for the line")
    if item_total is None:
        item_total = unit[0] * quantity if unit else ZERO
    if unit is not None:
        unit_price = unit[0]
    elif quantity:
        unit_price = (item_total / quantity).quantize(item_total, rounding=ROUND_HALF_EVEN)
    else:
        unit_price = item_total
    return build(
        OrderLine,
        external_id=item_id,
        updated_at=updated_at,
        order_external_id=order_id,
        sku=optional_str(item, "product.sellerSku"),
        title=optional_str(item, "product.title"),
        quantity=quantity,
        currency=currency,
        unit_price=unit_price,
        line_total=item_total,
    )


def _order_2026(record: Mapping[str, Any], ctx: MappingContext) -> list[CanonicalRecord]:
    order_id = require_str(record, "orderId")
    placed_at = parse_datetime(get(record, "createdTime"), "createdTime")
    updated_at = _optional_time(record, "lastUpdatedTime")
    raw_status = get(record, "fulfillment.fulfillmentStatus")
    if raw_status is None:
        raise MappingError(
            "fulfillment.fulfillmentStatus: missing (request includedData=FULFILLMENT)"
        )
    status = lookup(_FULFILLMENT_STATUS, raw_status, "fulfillment.fulfillmentStatus")

    channel_name = optional_str(record, "salesChannel.channelName")
    marketplace_name = optional_str(record, "salesChannel.marketplaceName")
    if channel_name and channel_name.upper() != "AMAZON":
        channel = _channel(channel_name)
    else:
        channel = _channel(marketplace_name) if marketplace_name else "amazon"

    grand = get(record, "proceeds.grandTotal")
    currency: str | None = None
    gross = ZERO
    if grand is not None:
        gross, currency = _money(grand, "proceeds.grandTotal")
    lines_currency = (
        currency
        or _first_item_currency(record)
        or _fallback_currency(optional_str(record, "salesChannel.marketplaceId"), ctx)
    )
    lines = _order_lines(record, order_id, lines_currency, updated_at)
    if currency is None:
        # No PROCEEDS in includedData: the best we know is the items' own proceeds.
        totals = [
            get(item, "proceeds.proceedsTotal") for item in optional_list(record, "orderItems")
        ]
        if totals and all(isinstance(total, Mapping) for total in totals):
            for index, total in enumerate(totals):
                amount, found = _money(total, f"orderItems[{index}].proceeds.proceedsTotal")
                currency = currency or found
                _same_currency(found, currency, f"orderItems[{index}].proceeds.proceedsTotal")
                gross += amount
        currency = currency or lines_currency
    if currency is None:
        raise MappingError("proceeds.grandTotal: missing, and no currency known for the order")
    sums = _breakdown_sums(
        optional_list(record, "proceeds.breakdowns"), "proceeds.breakdowns", currency
    )
    tax = sums.get("TAX", ZERO)

    email = optional_str(record, "buyer.buyerEmail")
    order = build(
        Order,
        external_id=order_id,
        updated_at=updated_at,
        placed_at=placed_at,
        status=status,
        channel=channel,
        currency=currency,
        gross=gross,
        tax=tax,
        shipping=sums.get("SHIPPING", ZERO),
        discount=abs(sums.get("DISCOUNT", ZERO)),
        net=gross - tax,
        buyer_country=country_code(
            get(record, "recipient.deliveryAddress.countryCode"),
            "recipient.deliveryAddress.countryCode",
        ),
        buyer_key=buyer_key(ctx, email) if email else None,
    )
    return [order, *lines]


def _fallback_currency(marketplace_id: str | None, ctx: MappingContext) -> str | None:
    """The marketplace's currency, else the account's, for orders that state no amount."""
    if marketplace_id in MARKETPLACE_CURRENCY:
        return MARKETPLACE_CURRENCY[marketplace_id]
    if ctx.account_currency:
        return normalize_currency(ctx.account_currency, "account_currency")
    return None


def _first_item_currency(record: Mapping[str, Any]) -> str | None:
    for item in optional_list(record, "orderItems"):
        code = get(item, "product.price.unitPrice.currencyCode")
        if isinstance(code, str) and code.strip():
            return normalize_currency(code, "orderItems.product.price.unitPrice.currencyCode")
    return None


def _order_v0(record: Mapping[str, Any], ctx: MappingContext) -> list[CanonicalRecord]:
    """v0 getOrders order: no items, no tax split (OrderTotal only), so net = gross."""
    order_id = require_str(record, "AmazonOrderId")
    total = optional_dict(record, "OrderTotal")
    fallback = _fallback_currency(optional_str(record, "MarketplaceId"), ctx)
    if total is not None:
        gross, currency = _money(total, "OrderTotal", "Amount", "CurrencyCode")
    elif fallback is not None:
        # Pending and cancelled v0 orders often carry no OrderTotal: a zero-value order.
        gross, currency = ZERO, fallback
    else:
        raise MappingError("OrderTotal: missing, and no marketplace or account currency known")
    sales_channel = optional_str(record, "SalesChannel")
    email = optional_str(record, "BuyerInfo.BuyerEmail")
    order = build(
        Order,
        external_id=order_id,
        updated_at=_optional_time(record, "LastUpdateDate"),
        placed_at=parse_datetime(get(record, "PurchaseDate"), "PurchaseDate"),
        status=lookup(_V0_ORDER_STATUS, get(record, "OrderStatus"), "OrderStatus"),
        channel=_channel(sales_channel) if sales_channel else "amazon",
        currency=currency,
        gross=gross,
        net=gross,
        buyer_country=country_code(
            get(record, "ShippingAddress.CountryCode"), "ShippingAddress.CountryCode"
        ),
        buyer_key=buyer_key(ctx, email) if email else None,
    )
    return [order]


# ---------------------------------------------------------------------------- transactions

# transactionType values are open-ended ("Possible value: Shipment" in the model); the others
# follow the financial event names of Finances v0. Keys are lower-case alphanumerics.
# https://developer-docs.amazon.com/sp-api/docs/finances-api-v2024-06-19-use-case-guide
_TRANSACTION_TYPES = {
    "shipment": TransactionType.SALE,
    "refund": TransactionType.REFUND,
    "servicefee": TransactionType.FEE,
    "productadspayment": TransactionType.FEE,
    "valueaddedservicecharge": TransactionType.FEE,
    "adjustment": TransactionType.ADJUSTMENT,
    "retrocharge": TransactionType.ADJUSTMENT,
    "chargeback": TransactionType.CHARGEBACK,
    "guaranteeclaim": TransactionType.CHARGEBACK,  # A-to-z claim: money back to the buyer
    "disbursement": TransactionType.PAYOUT,
    "transfer": TransactionType.PAYOUT,
}


def _type_key(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", value.lower())


def _transaction_type(raw_type: str | None) -> TransactionType:
    if raw_type is None:
        return TransactionType.OTHER
    key = _type_key(raw_type)
    if key in _TRANSACTION_TYPES:
        return _TRANSACTION_TYPES[key]
    if "chargeback" in key:
        return TransactionType.CHARGEBACK
    return TransactionType.OTHER


def _is_fee(breakdown_type: str) -> bool:
    key = _type_key(breakdown_type)
    return "fee" in key or key == "commission"


def _fee_part(breakdowns: list[Any], prefix: str, currency: str) -> Decimal:
    """Signed sum of the fee nodes of a breakdown tree (a fee node's children are not re-read).

    Real Shipment transactions nest fees as e.g. ``Expenses > AmazonFees > Commission``; the
    first node whose type names a fee is taken whole, other nodes are searched below.
    """
    total = ZERO
    for index, node in enumerate(breakdowns):
        where = f"{prefix}[{index}]"
        if not isinstance(node, Mapping):
            raise MappingError(f"{where}: must be an object")
        kind = node.get("breakdownType")
        if isinstance(kind, str) and _is_fee(kind):
            amount, found = _money(
                node.get("breakdownAmount"), f"{where}.breakdownAmount", "currencyAmount"
            )
            if found != currency:
                raise MappingError(
                    f"{where}.breakdownAmount.currencyCode: {found} differs from totalAmount"
                )
            total += amount
        else:
            children = node.get("breakdowns")
            if isinstance(children, list):
                total += _fee_part(children, f"{where}.breakdowns", currency)
    return total


def _related(record: Mapping[str, Any], name: str) -> str | None:
    for entry in optional_list(record, "relatedIdentifiers"):
        if isinstance(entry, Mapping) and entry.get("relatedIdentifierName") == name:
            value = entry.get("relatedIdentifierValue")
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _period(record: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    for index, context in enumerate(optional_list(record, "contexts")):
        if isinstance(context, Mapping) and "startTime" in context and "endTime" in context:
            return (
                parse_datetime(context["startTime"], f"contexts[{index}].startTime"),
                parse_datetime(context["endTime"], f"contexts[{index}].endTime"),
            )
    return None, None


def map_transactions(raw: dict[str, Any], ctx: MappingContext) -> list[CanonicalRecord]:
    """One Finances Transaction -> its Transaction rows, which sum exactly to totalAmount."""
    record = ensure_record(raw)
    transaction_id = require_str(record, "transactionId")
    # a Transaction names the selling partner it belongs to (finances_2024-06-19.json
    # SellingPartnerMetadata)
    require_own_account(
        get(record, "sellingPartnerMetadata.sellingPartnerId"),
        "sellingPartnerMetadata.sellingPartnerId",
        ctx.account_id,
    )
    occurred_at = parse_datetime(get(record, "postedDate"), "postedDate")
    total, currency = _money(get(record, "totalAmount"), "totalAmount", "currencyAmount")
    raw_type = optional_str(record, "transactionType")
    kind = _transaction_type(raw_type)
    # DEFERRED: held back (e.g. invoiced B2B orders); RELEASED / DEFERRED_RELEASED: in balance.
    raw_status = optional_str(record, "transactionStatus")
    deferred = raw_status is not None and raw_status.upper() == "DEFERRED"
    status = TransactionStatus.PENDING if deferred else TransactionStatus.AVAILABLE
    order_id = _related(record, "ORDER_ID")
    description = optional_str(record, "description") or raw_type
    common: dict[str, Any] = {
        "occurred_at": occurred_at,
        "currency": currency,
        "status": status,
        "related_order_external_id": order_id,
    }
    out: list[CanonicalRecord] = []

    if kind is TransactionType.SALE:
        fee = _fee_part(optional_list(record, "breakdowns"), "breakdowns", currency)
        out.append(
            build(
                Transaction,
                external_id=transaction_id,
                type=TransactionType.SALE,
                amount=total - fee,
                description=description,
                **common,
            )
        )
        if fee:
            out.append(
                build(
                    Transaction,
                    external_id=f"{transaction_id}:fee",
                    type=TransactionType.FEE,
                    amount=fee,
                    description="Amazon fees",
                    **common,
                )
            )
        return out

    payout_id: str | None = None
    if kind is TransactionType.PAYOUT:
        payout_id = _related(record, "DISBURSEMENT_ID") or _related(record, "TRANSFER_ID")
        payout_id = payout_id or transaction_id
    out.append(
        build(
            Transaction,
            external_id=transaction_id,
            type=kind,
            amount=total,
            description=description,
            related_payout_external_id=payout_id,
            **common,
        )
    )
    if kind is TransactionType.REFUND:
        out.append(
            build(
                Refund,
                external_id=transaction_id,
                order_external_id=order_id,
                created_at=occurred_at,
                currency=currency,
                amount=abs(total),
                reason=optional_str(record, "description"),
                status=RefundStatus.PENDING if deferred else RefundStatus.SUCCEEDED,
            )
        )
    elif kind is TransactionType.PAYOUT and payout_id is not None:
        period_start, period_end = _period(record)
        out.append(
            build(
                Payout,
                external_id=payout_id,
                created_at=occurred_at,
                currency=currency,
                amount=abs(total),
                status=PayoutStatus.PENDING if deferred else PayoutStatus.PAID,
                period_start=period_start,
                period_end=period_end,
            )
        )
    return out


# --------------------------------------------------------------------------------- account


def map_account(raw: dict[str, Any], ctx: MappingContext) -> list[CanonicalRecord]:
    """One marketplace participation -> Account (one per marketplace the seller is in)."""
    record = ensure_record(raw)
    marketplace_id = require_str(record, "marketplace.id")
    currency = optional_str(record, "marketplace.defaultCurrencyCode")
    participating = optional_bool(record, "participation.isParticipating")
    suspended = optional_bool(record, "participation.hasSuspendedListings")
    restricted = bool(suspended) or participating is False
    account = build(
        Account,
        external_id=marketplace_id,
        name=optional_str(record, "storeName"),
        country=country_code(get(record, "marketplace.countryCode"), "marketplace.countryCode"),
        default_currency=(
            normalize_currency(currency, "marketplace.defaultCurrencyCode") if currency else None
        ),
        status=AccountStatus.RESTRICTED if restricted else AccountStatus.ACTIVE,
    )
    return [account]


MAPPINGS = {"orders": map_orders, "transactions": map_transactions, "account": map_account}
