from __future__ import annotations

import copy
import dataclasses
import json
from decimal import Decimal
from typing import Any

import pytest
from norm_helpers import FIXTURES, ctx, fixture

from normalizer.amazon import map_account, map_orders, map_transactions
from normalizer.context import MappingContext
from normalizer.errors import MappingError
from normalizer.schema import (
    AccountStatus,
    Order,
    OrderLine,
    OrderStatus,
    Payout,
    Refund,
    Transaction,
    TransactionStatus,
    TransactionType,
)


def _orders() -> list[dict[str, Any]]:
    return fixture("amazon", "orders_page.json")["orders"]  # type: ignore[no-any-return]


def _transactions() -> list[dict[str, Any]]:
    return fixture("amazon", "transactions_page.json")["payload"]["transactions"]  # type: ignore[no-any-return]


def _by_id(transaction_id: str) -> dict[str, Any]:
    return next(t for t in _transactions() if t["transactionId"] == transaction_id)


# -------------------------------------------------------------------------------- orders


def test_an_order_gives_its_order_and_one_line_per_item() -> None:
    records = map_orders(_orders()[0], ctx("amazon"))
    assert [type(r) for r in records] == [Order, OrderLine, OrderLine]
    order = records[0]
    assert isinstance(order, Order)
    # gross = items + shipping + tax - discount, from proceeds
    assert order.gross == Decimal("49.98") + Decimal("7.99") + Decimal("4.00") - Decimal("5.00")
    assert order.net == order.gross - order.tax
    assert order.discount == Decimal("5.00")
    lines = [line for line in records[1:] if isinstance(line, OrderLine)]
    assert {line.order_external_id for line in lines} == {order.external_id}


@pytest.mark.parametrize(
    ("raw_status", "status"),
    [("PENDING_AVAILABILITY", OrderStatus.PENDING), ("PENDING", OrderStatus.PENDING),
     ("UNSHIPPED", OrderStatus.OPEN), ("PARTIALLY_SHIPPED", OrderStatus.PARTIALLY_FULFILLED),
     ("SHIPPED", OrderStatus.FULFILLED), ("CANCELLED", OrderStatus.CANCELLED),
     ("UNFULFILLABLE", OrderStatus.FAILED)],
)  # fmt: skip
def test_fulfillment_status(raw_status: str, status: OrderStatus) -> None:
    raw = _orders()[0]
    raw["fulfillment"]["fulfillmentStatus"] = raw_status
    assert map_orders(raw, ctx("amazon"))[0].status is status  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("raw_status", "status"),
    [("Pending", OrderStatus.PENDING), ("Unshipped", OrderStatus.OPEN),
     ("PartiallyShipped", OrderStatus.PARTIALLY_FULFILLED), ("Shipped", OrderStatus.FULFILLED),
     ("InvoiceUnconfirmed", OrderStatus.FULFILLED), ("Canceled", OrderStatus.CANCELLED),
     ("Unfulfillable", OrderStatus.FAILED), ("PendingAvailability", OrderStatus.PENDING)],
)  # fmt: skip
def test_v0_order_status(raw_status: str, status: OrderStatus) -> None:
    raw = fixture("amazon", "orders_v0_page.json")["payload"]["Orders"][0]
    raw["OrderStatus"] = raw_status
    assert map_orders(raw, ctx("amazon"))[0].status is status  # type: ignore[attr-defined]


def test_pending_v0_order_without_total_uses_the_account_currency() -> None:
    raw = {"AmazonOrderId": "902-3159896-1390916", "PurchaseDate": "2017-01-20T19:49:35Z",
           "LastUpdateDate": "2017-01-20T19:49:35Z", "OrderStatus": "Pending"}  # fmt: skip
    (order,) = map_orders(raw, ctx("amazon", account_currency="usd"))
    assert isinstance(order, Order)
    assert (order.currency, order.gross, order.status) == ("USD", Decimal(0), OrderStatus.PENDING)
    with pytest.raises(MappingError, match=r"^OrderTotal: "):
        map_orders(raw, ctx("amazon"))


def test_v0_order_without_total_takes_the_marketplace_currency() -> None:
    raw = {"AmazonOrderId": "701-1", "PurchaseDate": "2025-01-01T00:00:00Z",
           "OrderStatus": "Canceled", "MarketplaceId": "A1VC38T7YXB528"}  # fmt: skip
    (order,) = map_orders(raw, ctx("amazon", account_currency="USD"))
    assert isinstance(order, Order)
    assert (order.currency, order.gross, order.status) == ("JPY", Decimal(0), OrderStatus.CANCELLED)


def test_order_without_proceeds_sums_the_items() -> None:
    raw = _orders()[0]
    del raw["proceeds"]
    order = map_orders(raw, ctx("amazon"))[0]
    assert isinstance(order, Order)
    assert order.gross == Decimal("43.98") + Decimal("10.00")
    assert order.currency == "USD"


def test_jpy_order_has_no_minor_units() -> None:
    order, line = map_orders(_orders()[2], ctx("amazon"))
    assert isinstance(order, Order) and isinstance(line, OrderLine)
    assert (order.currency, order.gross, order.tax) == ("JPY", Decimal(1980), Decimal(180))
    assert line.unit_price * line.quantity == line.line_total


def _set(raw: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    node: Any = raw
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is _DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return raw


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("orderId", "", "orderId"),
        ("createdTime", _DELETE, "createdTime"),
        ("createdTime", "2025-03-01T18:04:05", "createdTime"),
        ("lastUpdatedTime", "not a time", "lastUpdatedTime"),
        ("fulfillment", _DELETE, "fulfillment.fulfillmentStatus"),
        ("fulfillment.fulfillmentStatus", "LOST_IN_SPACE", "fulfillment.fulfillmentStatus"),
        ("proceeds.grandTotal.amount", "12,00", "proceeds.grandTotal.amount"),
        ("proceeds.grandTotal.amount", 56.97, "proceeds.grandTotal.amount"),
        ("proceeds.grandTotal.currencyCode", "ZZZ", "proceeds.grandTotal.currencyCode"),
        ("proceeds.grandTotal.amount", "-1.00", "orders"),
        ("proceeds.breakdowns.0.subtotal.currencyCode", "EUR", "proceeds.breakdowns[0].subtotal"),
        ("proceeds.breakdowns.1.type", _DELETE, "proceeds.breakdowns[1].type"),
        ("orderItems.0.orderItemId", _DELETE, "orderItems[0].orderItemId"),
        ("orderItems.1.quantityOrdered", -1, "orderItems[1].quantityOrdered"),
        ("orderItems.1.quantityOrdered", "1", "orderItems[1].quantityOrdered"),
        ("orderItems.0.product.price.unitPrice.amount", "x", "orderItems[0].product.price"),
        ("recipient.deliveryAddress.countryCode", "USA", "recipient.deliveryAddress.countryCode"),
    ],
)
def test_malformed_orders_name_the_field(path: str, value: object, field: str) -> None:
    raw = _set(_orders()[0], path, value)
    with pytest.raises(MappingError) as caught:
        map_orders(raw, ctx("amazon"))
    assert str(caught.value).startswith(field)
    # buyer data never leaks into the reason
    assert "perpetua" not in str(caught.value).lower()


def test_unknown_order_shape() -> None:
    with pytest.raises(MappingError, match=r"^orderId: "):
        map_orders({"id": "x"}, ctx("amazon"))
    with pytest.raises(MappingError, match=r"^record: "):
        map_orders([], ctx("amazon"))  # type: ignore[arg-type]


# -------------------------------------------------------------------------- transactions


@pytest.mark.parametrize("transaction", _transactions(), ids=lambda t: t["transactionId"])
def test_rows_of_a_transaction_sum_exactly_to_its_total(transaction: dict[str, Any]) -> None:
    rows = [r for r in map_transactions(transaction, ctx("amazon")) if isinstance(r, Transaction)]
    assert rows
    assert sum(row.amount for row in rows) == transaction["totalAmount"]["currencyAmount"]
    assert {row.currency for row in rows} == {transaction["totalAmount"]["currencyCode"]}


def test_shipment_splits_into_sale_and_negative_fee() -> None:
    sale, fee = map_transactions(_by_id("T-SHIP-1"), ctx("amazon"))
    assert isinstance(sale, Transaction) and isinstance(fee, Transaction)
    assert (sale.type, fee.type) == (TransactionType.SALE, TransactionType.FEE)
    assert fee.amount == Decimal("-7.49") + Decimal("-3.11")
    assert fee.external_id == "T-SHIP-1:fee"
    assert sale.related_order_external_id == fee.related_order_external_id == "111-0000001-0000001"


def test_shipment_without_breakdowns_is_one_sale_row() -> None:
    raw = _by_id("T-SHIP-1")
    del raw["breakdowns"]
    (row,) = map_transactions(raw, ctx("amazon"))
    assert isinstance(row, Transaction)
    assert (row.type, row.amount) == (TransactionType.SALE, Decimal("42.37"))


def test_kwd_amounts_keep_three_decimals() -> None:
    sale, fee = map_transactions(_by_id("T-SHIP-KW"), ctx("amazon"))
    assert isinstance(sale, Transaction) and isinstance(fee, Transaction)
    assert str(fee.amount) == "-1.155"
    assert sale.amount + fee.amount == Decimal("12.345")


def test_refund_is_negative_as_a_transaction_and_positive_as_a_refund() -> None:
    row, refund = map_transactions(_by_id("T-REF-1"), ctx("amazon"))
    assert isinstance(row, Transaction) and isinstance(refund, Refund)
    assert row.type is TransactionType.REFUND and row.amount < 0
    assert refund.amount == -row.amount > 0
    assert refund.order_external_id == "111-0000001-0000001"


def test_disbursement_is_a_payout_row_and_a_payout() -> None:
    row, payout = map_transactions(_by_id("T-DISB-1"), ctx("amazon"))
    assert isinstance(row, Transaction) and isinstance(payout, Payout)
    assert row.type is TransactionType.PAYOUT
    assert row.related_payout_external_id == payout.external_id == "D-123"
    assert payout.amount == abs(row.amount)


def test_deferred_is_pending() -> None:
    rows = map_transactions(_by_id("T-SHIP-JP"), ctx("amazon"))
    assert {r.status for r in rows if isinstance(r, Transaction)} == {TransactionStatus.PENDING}
    raw = _by_id("T-REF-1")
    raw["transactionStatus"] = "Deferred"  # seen in mixed case in Amazon's examples
    assert map_transactions(raw, ctx("amazon"))[0].status is TransactionStatus.PENDING  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("raw_type", "kind"),
    [("ServiceFee", TransactionType.FEE), ("Adjustment", TransactionType.ADJUSTMENT),
     ("Chargeback", TransactionType.CHARGEBACK), ("ChargebackReversal", TransactionType.CHARGEBACK),
     ("GuaranteeClaim", TransactionType.CHARGEBACK), ("Transfer", TransactionType.PAYOUT),
     ("Something New", TransactionType.OTHER), (None, TransactionType.OTHER)],
)  # fmt: skip
def test_transaction_types(raw_type: str | None, kind: TransactionType) -> None:
    raw = _by_id("T-FEE-1")
    raw["transactionType"] = raw_type
    assert map_transactions(raw, ctx("amazon"))[0].type is kind  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("transactionId", _DELETE, "transactionId"),
        ("postedDate", "2025-03-02T10:15:30", "postedDate"),
        ("totalAmount", _DELETE, "totalAmount"),
        ("totalAmount.currencyAmount", 42.37, "totalAmount.currencyAmount"),
        ("totalAmount.currencyAmount", "NaN", "totalAmount.currencyAmount"),
        ("totalAmount.currencyCode", "XXQ", "totalAmount.currencyCode"),
        ("breakdowns.1.breakdowns.0.breakdownAmount.currencyCode", "EUR",
         "breakdowns[1].breakdowns[0].breakdownAmount.currencyCode"),
        ("breakdowns.1.breakdowns.0.breakdownAmount.currencyAmount", True,
         "breakdowns[1].breakdowns[0].breakdownAmount.currencyAmount"),
    ],
)  # fmt: skip
def test_malformed_transactions_name_the_field(path: str, value: object, field: str) -> None:
    raw = _set(_by_id("T-SHIP-1"), path, value)
    with pytest.raises(MappingError) as caught:
        map_transactions(raw, ctx("amazon"))
    assert str(caught.value).startswith(field)


def test_float_amounts_from_a_float_parse_are_refused() -> None:
    page = json.loads((FIXTURES / "amazon" / "transactions_page.json").read_text())  # floats
    with pytest.raises(MappingError, match="float"):
        map_transactions(page["payload"]["transactions"][0], ctx("amazon"))


# ------------------------------------------------------------------------------- account


def test_account_status_from_participation() -> None:
    participations = fixture("amazon", "marketplace_participations.json")["payload"]
    statuses = [map_account(p, ctx("amazon"))[0].status for p in participations]  # type: ignore[attr-defined]
    assert statuses == [AccountStatus.ACTIVE, AccountStatus.RESTRICTED, AccountStatus.RESTRICTED]


def test_account_needs_a_marketplace_id() -> None:
    raw = copy.deepcopy(fixture("amazon", "marketplace_participations.json")["payload"][0])
    del raw["marketplace"]["id"]
    with pytest.raises(MappingError, match=r"^marketplace\.id: "):
        map_account(raw, ctx("amazon"))


def _with_account(account_id: str | None) -> MappingContext:
    return dataclasses.replace(ctx("amazon"), account_id=account_id)


def test_a_transaction_of_another_selling_partner_is_refused() -> None:
    raw = next(t for t in _transactions() if t.get("sellingPartnerMetadata"))
    assert raw["sellingPartnerMetadata"]["sellingPartnerId"] == "A3SELLER"
    assert map_transactions(raw, _with_account("A3SELLER"))  # its own connection
    assert map_transactions(raw, _with_account(None))  # no account known: no check
    with pytest.raises(MappingError) as refused:
        map_transactions(raw, _with_account("A9OTHER"))
    message = str(refused.value)
    assert message.startswith("sellingPartnerMetadata.sellingPartnerId: ")
    assert "'A3SELLER'" in message and "'A9OTHER'" in message


def test_a_transaction_that_names_no_selling_partner_is_kept() -> None:
    raw = next(t for t in _transactions() if not t.get("sellingPartnerMetadata"))
    assert map_transactions(raw, _with_account("A9OTHER"))
