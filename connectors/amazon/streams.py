"""Amazon SP-API streams: orders (v2026-01-01), finance transactions (2024-06-19), account."""

from __future__ import annotations

from datetime import timedelta

from connectors.http.paginators import NextTokenPaginator
from connectors.model import CursorSpec, Stream

# searchOrders: one of createdAfter/lastUpdatedAfter; lastUpdatedBefore at least 2 minutes
# before now; pagination.nextToken goes back as paginationToken; no payload wrapper
# (orders_2026-01-01.json, /orders/2026-01-01/orders and SearchOrdersResponse)
ORDERS = Stream(
    name="orders",
    path="/orders/2026-01-01/orders",
    records_path="orders",
    paginator=NextTokenPaginator(token_path="pagination.nextToken", param="paginationToken"),
    primary_key="orderId",
    bucket="searchOrders",
    cursor=CursorSpec(
        field="lastUpdatedTime",
        lower_param="lastUpdatedAfter",
        upper_param="lastUpdatedBefore",
        # searches are eventually consistent: an update can become visible after later ones,
        # so re-read the last day instead of trusting the newest time seen
        lookback=timedelta(days=1),
        end_lag=timedelta(minutes=2),
    ),
    params={
        "includedData": "BUYER,RECIPIENT,PROCEEDS,FULFILLMENT",
        "maxResultsPerPage": "100",
    },
    marketplace_param="marketplaceIds",
)

# listTransactions: postedAfter/postedBefore at most 180 days apart, before 2 minutes ago;
# events of the last 48 hours may be missing; the body is {"payload": {"transactions",
# "nextToken"}}; marketplaceId is left out (it would hide US MFN orders)
# (finances_2024-06-19.json, /finances/2024-06-19/transactions)
TRANSACTIONS = Stream(
    name="transactions",
    path="/finances/2024-06-19/transactions",
    records_path="payload.transactions",
    paginator=NextTokenPaginator(token_path="payload.nextToken", param="nextToken"),
    primary_key="transactionId",
    bucket="listTransactions",
    cursor=CursorSpec(
        field="postedDate",
        lower_param="postedAfter",
        upper_param="postedBefore",
        lookback=timedelta(hours=48),
        max_window=timedelta(days=180),
        end_lag=timedelta(minutes=2),
    ),
)

# getMarketplaceParticipations: {"payload": [{marketplace, participation, storeName}]}, one page
# (sellers.json, /sellers/v1/marketplaceParticipations)
ACCOUNT = Stream(
    name="account",
    path="/sellers/v1/marketplaceParticipations",
    records_path="payload",
    paginator=None,
    primary_key="marketplace.id",
    bucket="getMarketplaceParticipations",
)

# account first: the orders stream needs the marketplace ids it finds
STREAMS = (ACCOUNT, ORDERS, TRANSACTIONS)
