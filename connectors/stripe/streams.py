"""Stripe streams: the account object and the list endpoints, read by ``created``.

Lists are ``{"object":"list","data":[...],"has_more"}`` paged with ``starting_after``
(https://docs.stripe.com/api/pagination); ``created[gte]``/``created[lt]`` bound the window in
Unix seconds (deepObject style, spec3.2023-08-16.subset.json).
"""

from __future__ import annotations

from datetime import timedelta

from connectors.http.paginators import StartingAfterPaginator
from connectors.model import CursorSpec, Stream

PAGE = StartingAfterPaginator()


def _listed(name: str, path: str, lookback: timedelta) -> Stream:
    return Stream(
        name=name,
        path=path,
        records_path="data",
        paginator=PAGE,
        primary_key="id",
        bucket="read",
        cursor=CursorSpec(
            field="created",
            lower_param="created[gte]",
            upper_param="created[lt]",
            value_format="unix",
            lookback=lookback,
        ),
        params={"limit": "100"},  # the maximum page size
    )


ACCOUNT = Stream(
    name="account",
    path="/v1/account",
    records_path=None,  # the body is the account object
    paginator=None,
    primary_key="id",
    bucket="read",
)

# A charge's refunded/disputed state and a refund's status change after creation, and the
# cursor is the creation time: re-read a few recent days on every run.
CHARGES = _listed("charges", "/v1/charges", timedelta(days=3))
REFUNDS = _listed("refunds", "/v1/refunds", timedelta(days=3))
# pending -> available once available_on passes (days later)
BALANCE_TRANSACTIONS = _listed(
    "balance_transactions", "/v1/balance_transactions", timedelta(days=7)
)
# pending -> in_transit -> paid/failed within days of creation
PAYOUTS = _listed("payouts", "/v1/payouts", timedelta(days=7))
# a dispute is decided weeks after it opens (https://docs.stripe.com/disputes/how-disputes-work);
# disputes are few, so re-reading a long window is cheap
DISPUTES = _listed("disputes", "/v1/disputes", timedelta(days=90))

STREAMS = (ACCOUNT, CHARGES, REFUNDS, BALANCE_TRANSACTIONS, PAYOUTS, DISPUTES)
