"""Amazon records in the exact shapes of the official models.

Orders v2026-01-01 ``Money.amount`` is a decimal *string* (orders_2026-01-01.json, Decimal);
Finances v2024-06-19 ``Currency.currencyAmount`` is a JSON *number* (BigDecimal), kept exact by
``DecimalJSONResponse``.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.amazon.facts import MARKETPLACES
from sandbox.amazon.model import Breakdown, Order, OrderLine, Transaction
from sandbox.common.money import decimal_str, quantize


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": decimal_str(amount, currency), "currencyCode": currency}


def _line(line: OrderLine, order: Order, included: Collection[str]) -> dict[str, Any]:
    cur = order.currency
    item: dict[str, Any] = {
        "orderItemId": line.item_id,
        "quantityOrdered": line.quantity,
        "product": {
            "asin": line.product.asin,
            "title": line.product.title,
            "sellerSku": line.product.sku,
            "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
            "price": {"unitPrice": money(line.product.price, cur)},
        },
    }
    if "PROCEEDS" in included:
        breakdowns = [{"type": "ITEM", "subtotal": money(line.item_total, cur)}]
        if line.shipping:
            breakdowns.append({"type": "SHIPPING", "subtotal": money(line.shipping, cur)})
        breakdowns.append({"type": "TAX", "subtotal": money(line.tax, cur)})
        item["proceeds"] = {
            "proceedsTotal": money(line.proceeds_total, cur),
            "breakdowns": breakdowns,
        }
    if "FULFILLMENT" in included:
        shipped = line.quantity if order.status == "SHIPPED" else 0
        item["fulfillment"] = {
            "quantityFulfilled": shipped,
            "quantityUnfulfilled": line.quantity - shipped,
        }
    return item


def participation_json(marketplace_id: str, store_name: str) -> dict[str, Any]:
    """One entry of Sellers ``getMarketplaceParticipations``."""
    m = MARKETPLACES[marketplace_id]
    return {
        "marketplace": {
            "id": m.id,
            "name": m.name,
            "countryCode": m.country,
            "defaultCurrencyCode": m.currency,
            "defaultLanguageCode": m.language,
            "domainName": m.domain,
        },
        "participation": {"isParticipating": True, "hasSuspendedListings": False},
        "storeName": store_name,
    }


def order_json(order: Order, included: Collection[str]) -> dict[str, Any]:
    cur = order.currency
    body: dict[str, Any] = {
        "orderId": order.id,
        "createdTime": iso(order.created),
        "lastUpdatedTime": iso(order.updated),
        "programs": ["PRIME"] if order.prime else [],
        "salesChannel": {
            "channelName": "AMAZON",
            "marketplaceId": order.marketplace.id,
            "marketplaceName": order.marketplace.name,
        },
    }
    if "BUYER" in included:
        body["buyer"] = {"buyerName": order.buyer.name, "buyerEmail": order.buyer_email}
    if "RECIPIENT" in included:
        person = order.buyer
        body["recipient"] = {
            "deliveryAddress": {
                "name": person.name,
                "addressLine1": person.line1,
                "city": person.city,
                "stateOrRegion": person.state,
                "postalCode": person.postal_code,
                "countryCode": person.country,
                "phone": person.phone,
                "addressType": "RESIDENTIAL",
            }
        }
    if "PROCEEDS" in included:
        item = sum((line.item_total for line in order.lines), Decimal(0))
        shipping = sum((line.shipping for line in order.lines), Decimal(0))
        tax = sum((line.tax for line in order.lines), Decimal(0))
        breakdowns = [{"type": "ITEM", "subtotal": money(item, cur)}]
        if shipping:
            breakdowns.append({"type": "SHIPPING", "subtotal": money(shipping, cur)})
        breakdowns.append({"type": "TAX", "subtotal": money(tax, cur)})
        body["proceeds"] = {"grandTotal": money(order.grand_total, cur), "breakdowns": breakdowns}
    if "FULFILLMENT" in included:
        body["fulfillment"] = {
            "fulfillmentStatus": order.status,
            "fulfilledBy": order.fulfilled_by,
            "fulfillmentServiceLevel": "EXPEDITED" if order.prime else "STANDARD",
        }
    body["orderItems"] = [_line(line, order, included) for line in order.lines]
    return body


def _currency(amount: Decimal, currency: str) -> dict[str, Any]:
    return {"currencyCode": currency, "currencyAmount": quantize(amount, currency)}


def _breakdown(part: Breakdown, currency: str) -> dict[str, Any]:
    return {
        "breakdownType": part.type,
        "breakdownAmount": _currency(part.amount, currency),
        "breakdowns": [_breakdown(child, currency) for child in part.children],
    }


def transaction_json(txn: Transaction) -> dict[str, Any]:
    cur = txn.currency
    related = []
    if txn.order is not None:
        related.append(
            {"relatedIdentifierName": "ORDER_ID", "relatedIdentifierValue": txn.order.id}
        )
    if txn.group_id is not None:
        related.append(
            {
                "relatedIdentifierName": "FINANCIAL_EVENT_GROUP_ID",
                "relatedIdentifierValue": txn.group_id,
            }
        )
    if txn.disbursement_id is not None:
        related.append(
            {
                "relatedIdentifierName": "DISBURSEMENT_ID",
                "relatedIdentifierValue": txn.disbursement_id,
            }
        )
    body: dict[str, Any] = {
        "sellingPartnerMetadata": {
            "sellingPartnerId": txn.seller_id,
            "accountType": "PAYABLE",
            "marketplaceId": txn.marketplace.id,
        },
        "relatedIdentifiers": related,
        "transactionType": txn.type,
        "transactionId": txn.id,
        "transactionStatus": "RELEASED",
        "description": txn.description,
        "postedDate": iso(txn.posted),
        "totalAmount": _currency(txn.total, cur),
        "marketplaceDetails": {
            "marketplaceId": txn.marketplace.id,
            "marketplaceName": txn.marketplace.name,
        },
        "items": [_item(line, txn) for line in txn.lines],
        "contexts": [],
        "breakdowns": [_breakdown(part, cur) for part in txn.breakdowns],
    }
    if txn.order is not None:
        # no storeName here: Context is an allOf whose BusinessContext.storeName is an enum
        body["contexts"] = [
            {
                "contextType": "AmazonPayContext",
                "orderType": "Order",
                "channel": "AFN" if txn.order.fulfilled_by == "AMAZON" else "MFN",
            }
        ]
    return body


def _item(line: OrderLine, txn: Transaction) -> dict[str, Any]:
    cur = txn.currency
    sign = Decimal(-1) if txn.type == "Refund" else Decimal(1)
    network = "AFN" if txn.order is not None and txn.order.fulfilled_by == "AMAZON" else "MFN"
    return {
        "description": line.product.title,
        "totalAmount": _currency(sign * line.item_total, cur),
        "relatedIdentifiers": [
            {
                "itemRelatedIdentifierName": "ORDER_ADJUSTMENT_ITEM_ID",
                "itemRelatedIdentifierValue": line.item_id,
            }
        ],
        "contexts": [
            {
                "contextType": "ProductContext",
                "asin": line.product.asin,
                "sku": line.product.sku,
                "quantityShipped": line.quantity,
                "fulfillmentNetwork": network,
            }
        ],
    }
