"""Small raw pages written for the CLI tests, in the platforms' documented shapes.

Stripe: a list object ``{"object":"list","data":[...],"has_more"}`` of charges, amounts in the
currency's smallest unit, lower-case currency, ``created`` in Unix seconds
(https://docs.stripe.com/api/charges/object, https://docs.stripe.com/currencies).
Amazon: a searchOrders v2026-01-01 response, ``Money`` as a decimal string with its currency
code, times ISO 8601 with an offset (orders_2026-01-01.json, ``SearchOrdersResponse``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def stripe_charge(
    charge_id: str,
    amount: Any,
    currency: str,
    created: int,
    *,
    refunded: int = 0,
    country: str = "US",
) -> dict[str, Any]:
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": refunded,
        "captured": True,
        "created": created,
        "currency": currency,
        "livemode": False,
        "paid": True,
        "refunded": False,
        "status": "succeeded",
        "billing_details": {
            "email": f"buyer-{charge_id}@example.com",
            "name": "A Buyer",
            "address": {"country": country},
        },
    }


def stripe_list(*charges: dict[str, Any], has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "url": "/v1/charges", "has_more": has_more, "data": list(charges)}


def money(amount: str, currency: str) -> dict[str, str]:
    return {"amount": amount, "currencyCode": currency}


def amazon_order(
    order_id: str,
    created: str,
    currency: str,
    *,
    item: str,
    tax: str,
    quantity: int = 1,
    marketplace: tuple[str, str] = ("A1PN6F7K9HD6B2", "Amazon.de"),
) -> dict[str, Any]:
    total = str(Decimal(item) + Decimal(tax))
    return {
        "orderId": order_id,
        "createdTime": created,
        "lastUpdatedTime": created,
        "salesChannel": {
            "channelName": "AMAZON",
            "marketplaceId": marketplace[0],
            "marketplaceName": marketplace[1],
        },
        "fulfillment": {"fulfillmentStatus": "SHIPPED", "fulfilledBy": "MERCHANT"},
        "proceeds": {
            "grandTotal": money(total, currency),
            "breakdowns": [
                {"type": "ITEM", "subtotal": money(item, currency)},
                {"type": "TAX", "subtotal": money(tax, currency)},
            ],
        },
        "orderItems": [
            {
                "orderItemId": f"{order_id}-1",
                "quantityOrdered": quantity,
                "product": {"asin": "B0CLITEST1", "sellerSku": "SKU-CLI", "title": "Test item"},
                "proceeds": {
                    "proceedsTotal": money(total, currency),
                    "breakdowns": [{"type": "ITEM", "subtotal": money(item, currency)}],
                },
            }
        ],
    }


def amazon_search_orders(*orders: dict[str, Any], next_token: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {"orders": list(orders)}
    if next_token:
        page["pagination"] = {"nextToken": next_token}
    return page
