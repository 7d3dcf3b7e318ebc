"""The scoring API over real HTTP: tenant confinement, cursor walks, as_of, lineage, money and time
formats, metrics, and the one error shape for bad parameters."""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from api.schemas import ENTITY_ITEMS
from normalizer.schema import (
    Account,
    Dispute,
    Order,
    OrderLine,
    Payout,
    Refund,
    Transaction,
)
from sellerhub import control
from sellerhub.syncing import sync_connections
from tests.integration.harness import sandbox_post
from warehouse.tables import CANONICAL_TABLES, TransactionRow, table_of

from .conftest import World, walk

DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
UTC_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
TIMED = {
    "orders": "placed_at",
    "refunds": "created_at",
    "transactions": "occurred_at",
    "payouts": "created_at",
    "disputes": "opened_at",
}


def current_rows(world: World, entity: str, tenant_id: str) -> list[Any]:
    """The canonical table's current rows of a tenant, read directly (not through the API)."""
    table = table_of(CANONICAL_TABLES[entity])
    with Session(world.runtime.engine) as session:
        return list(session.execute(select(table).where(table.c.tenant_id == tenant_id)).all())


def assert_error(response: httpx.Response, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    message = str(body["error"]["message"])
    assert message and body["error"]["code"]
    for word in words:
        assert word in message, message
    return message


# --------------------------------------------------------------------------- tenants


def test_sellers_of_another_tenant_answer_404(world: World, api: httpx.Client) -> None:
    listed = api.get("/v1/sellers").json()["data"]
    assert {s["id"] for s in listed} == set(world.sellers_a)
    own = next(iter(world.sellers_a))
    assert api.get(f"/v1/sellers/{own}").json()["id"] == own
    other = world.seller_b
    for path in (
        f"/v1/sellers/{other}",
        f"/v1/sellers/{other}/connections",
        f"/v1/sellers/{other}/metrics/daily?start=2026-01-01&end=2026-01-31",
        f"/v1/sellers/{other}/metrics/rolling?day=2026-01-31",
        f"/v1/orders?seller_id={other}",
        "/v1/sellers/sel_doesnotexist",
    ):
        assert_error(api.get(path), 404, "no seller")
    # tenant B's own key does see its seller
    as_b = api.get(f"/v1/sellers/{other}", headers=world.headers(world.key_b))
    assert as_b.status_code == 200 and as_b.json()["id"] == other


@pytest.mark.parametrize("entity", sorted(CANONICAL_TABLES))
def test_rows_are_confined_to_the_tenant(world: World, api: httpx.Client, entity: str) -> None:
    rows = walk(api, f"/v1/{entity}", limit=500)
    expected = {
        (r.connection_id, r.external_id) for r in current_rows(world, entity, world.tenant_a)
    }
    got = [(r["connection_id"], r["external_id"]) for r in rows]
    assert len(got) == len(set(got)) == len(expected)
    assert set(got) == expected
    assert {r["connection_id"] for r in rows} <= world.connections_a
    assert {r["seller_id"] for r in rows} <= world.sellers_a
    with httpx.Client(base_url=world.base_url, headers=world.headers(world.key_b)) as as_b:
        rows_b = walk(as_b, f"/v1/{entity}", limit=500)
    assert {r["connection_id"] for r in rows_b} <= world.connections_b
    assert len(rows_b) == len(current_rows(world, entity, world.tenant_b))


def test_lineage_of_another_tenants_row_is_404(world: World, api: httpx.Client) -> None:
    theirs = current_rows(world, "orders", world.tenant_b)[0]
    assert_error(api.get(f"/v1/orders/{theirs.external_id}/lineage"), 404)
    as_b = httpx.get(
        f"{world.base_url}/v1/orders/{theirs.external_id}/lineage",
        headers=world.headers(world.key_b),
    )
    assert as_b.status_code == 200, as_b.text


def test_connections_with_health(world: World, api: httpx.Client) -> None:
    seller = next(iter(world.sellers_a))
    items = api.get(f"/v1/sellers/{seller}/connections").json()["data"]
    assert {i["id"] for i in items} == set(world.connections_a)
    for item in items:
        assert item["seller_id"] == seller
        assert item["health"] == "fresh"
        assert item["mapping_up_to_date"] is True
        assert UTC_TIME.match(item["last_success"])
        table_counts = {
            e: sum(
                1 for r in current_rows(world, e, world.tenant_a) if r.connection_id == item["id"]
            )
            for e in CANONICAL_TABLES
        }
        assert item["counts"] == table_counts


# --------------------------------------------------------------------------- pagination


@pytest.mark.parametrize(
    ("platform", "since", "until"),
    [
        (None, None, None),
        ("stripe", None, None),
        ("amazon", "2026-01-01T00:00:00Z", "2026-09-01T00:00:00+02:00"),
    ],
)
def test_a_cursor_walk_returns_every_row_once(
    world: World, api: httpx.Client, platform: str | None, since: str | None, until: str | None
) -> None:
    low = datetime.fromisoformat(since) if since else None
    high = datetime.fromisoformat(until) if until else None
    expected = {
        (r.connection_id, r.external_id)
        for r in current_rows(world, "transactions", world.tenant_a)
        if (platform is None or r.platform == platform)
        and (low is None or r.occurred_at >= low)
        and (high is None or r.occurred_at < high)
    }
    assert expected
    rows = walk(api, "/v1/transactions", limit=97, platform=platform, since=since, until=until)
    got = [(r["connection_id"], r["external_id"]) for r in rows]
    assert len(got) == len(set(got))
    assert set(got) == expected


def test_a_cursor_keeps_its_filters_and_rejects_others(world: World, api: httpx.Client) -> None:
    first = api.get("/v1/orders", params={"platform": "stripe", "limit": 5}).json()
    cursor = first["next_cursor"]
    assert cursor
    second = api.get("/v1/orders", params={"cursor": cursor, "limit": 5}).json()
    assert {r["platform"] for r in second["data"]} == {"stripe"}
    assert not {r["external_id"] for r in first["data"]} & {
        r["external_id"] for r in second["data"]
    }
    same = api.get("/v1/orders", params={"cursor": cursor, "limit": 5, "platform": "stripe"})
    assert same.status_code == 200
    assert_error(
        api.get("/v1/orders", params={"cursor": cursor, "platform": "amazon"}), 400, "platform"
    )
    assert_error(api.get("/v1/refunds", params={"cursor": cursor}), 400, "cursor")
    with httpx.Client(base_url=world.base_url, headers=world.headers(world.key_b)) as as_b:
        assert_error(as_b.get("/v1/orders", params={"cursor": cursor}), 400, "cursor")


def _tampered(cursor: str) -> str:
    body, mac = cursor.split(".")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw = raw.replace(b'"a":', b'"a":1')  # a different row id, same signature
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode() + "." + mac


def test_bad_cursors_are_400_never_500(api: httpx.Client) -> None:
    cursor = api.get("/v1/orders", params={"limit": 1}).json()["next_cursor"]
    for bad in ("garbage", "a.b", "....", "e30.e30", _tampered(cursor), cursor[:-2], "é" * 10):
        assert_error(api.get("/v1/orders", params={"cursor": bad}), 400, "cursor")


# --------------------------------------------------------------------------- as_of


def _open_amazon_order(world: World) -> Any:
    for row in current_rows(world, "orders", world.tenant_a):
        if row.platform == "amazon" and row.status in ("open", "pending"):
            return row
    raise AssertionError("the seeded Amazon seller has no unshipped order")


def _find(client: httpx.Client, entity: str, external_id: str, **params: Any) -> dict[str, Any]:
    found = [
        r
        for r in walk(client, f"/v1/{entity}", limit=500, **params)
        if r["external_id"] == external_id
    ]
    assert len(found) == 1, found
    return found[0]


def test_as_of_returns_what_was_known_then(world: World, api: httpx.Client) -> None:
    order = _open_amazon_order(world)
    before_change = datetime.now(UTC)
    # a walk started before the change keeps seeing the state of its first page
    pinned = api.get("/v1/orders", params={"limit": 1, "platform": "amazon"}).json()
    sandbox_post(
        world.runtime,
        "amazon",
        f"/_sandbox/orders/{order.external_id}/status",
        {"status": "SHIPPED"},
    )
    connection = next(
        c
        for c in control.list_connections(world.runtime.engine, tenant_id=world.tenant_a)
        if c.id == order.connection_id
    )
    report = asyncio.run(sync_connections(world.runtime, [connection], streams=["orders"]))
    assert report.ok, report

    now_row = _find(api, "orders", order.external_id, platform="amazon")
    assert now_row["status"] == "fulfilled"
    assert now_row["version"] == order.version + 1
    then = _find(
        api, "orders", order.external_id, platform="amazon", as_of=before_change.isoformat()
    )
    assert then["status"] == order.status
    assert then["version"] == order.version
    early = (order.first_seen_at - timedelta(seconds=1)).isoformat()
    assert all(
        r["external_id"] != order.external_id
        for r in walk(api, "/v1/orders", limit=500, as_of=early)
    )

    rest: list[dict[str, Any]] = []
    cursor = pinned["next_cursor"]
    while cursor:
        page = api.get("/v1/orders", params={"cursor": cursor, "limit": 500}).json()
        rest.extend(page["data"])
        cursor = page["next_cursor"]
    walked = pinned["data"] + rest
    keys = [(r["connection_id"], r["external_id"]) for r in walked]
    assert len(keys) == len(set(keys))
    assert [r["status"] for r in walked if r["external_id"] == order.external_id] == [order.status]

    lineage = api.get(f"/v1/orders/{order.external_id}/lineage").json()
    statuses = [
        v["content"]["status"] for v in sorted(lineage["versions"], key=lambda v: v["version"])
    ]
    assert statuses[-2:] == [order.status, "fulfilled"]


# --------------------------------------------------------------------------- formats


def test_money_is_exact_decimal_text_and_times_are_utc_z(world: World, api: httpx.Client) -> None:
    rows = walk(api, "/v1/transactions", limit=500)
    stored = {
        (r.connection_id, r.external_id): r
        for r in current_rows(world, "transactions", world.tenant_a)
    }
    for row in rows:
        assert isinstance(row["amount"], str) and DECIMAL.match(row["amount"]), row
        assert UTC_TIME.match(row["occurred_at"]) and UTC_TIME.match(row["valid_from"]), row
        expected = stored[(row["connection_id"], row["external_id"])]
        assert Decimal(row["amount"]) == expected.amount
    assert any(r["amount"].startswith("-") for r in rows), "fees are negative for the seller"
    assert any("." in r["amount"] for r in rows if r["currency"] == "USD")


def test_zero_decimal_currency_keeps_whole_amounts(world: World) -> None:
    """Tenant B's Stripe account sells in JPY (no minor unit): whole yen, exactly as stored."""
    with httpx.Client(base_url=world.base_url, headers=world.headers(world.key_b)) as as_b:
        rows = walk(as_b, "/v1/orders", limit=500)
    stored = {r.external_id: r for r in current_rows(world, "orders", world.tenant_b)}
    yen = [r for r in rows if r["currency"] == "JPY"]
    assert yen and len(rows) == len(stored)
    for row in yen:
        assert DECIMAL.match(row["gross"]) and "." not in row["gross"], row
        assert Decimal(row["gross"]) == stored[row["external_id"]].gross


def test_response_models_cover_the_canonical_schema() -> None:
    schema = {
        "accounts": Account,
        "orders": Order,
        "order_lines": OrderLine,
        "refunds": Refund,
        "transactions": Transaction,
        "payouts": Payout,
        "disputes": Dispute,
    }
    assert set(schema) == set(ENTITY_ITEMS) == set(CANONICAL_TABLES)
    for entity, record in schema.items():
        missing = set(record.model_fields) - set(ENTITY_ITEMS[entity].model_fields)
        assert not missing, f"{entity} response lacks {missing}"


# --------------------------------------------------------------------------- metrics


def test_daily_metrics_match_the_canonical_rows(world: World, api: httpx.Client) -> None:
    seller = next(iter(world.sellers_a))
    table = table_of(TransactionRow)
    with Session(world.runtime.engine) as session:
        sales = session.execute(
            select(table.c.occurred_at, table.c.amount, table.c.currency).where(
                table.c.tenant_id == world.tenant_a,
                table.c.platform == "stripe",
                table.c.type == "sale",
            )
        ).all()
    usd = [s for s in sales if s.currency == "USD"]
    assert usd, "the first Stripe account sells in USD (the tenant's reporting currency)"
    by_day: dict[date, Decimal] = {}
    for sale in usd:
        day = sale.occurred_at.astimezone(UTC).date()
        by_day[day] = by_day.get(day, Decimal(0)) + sale.amount
    last = max(by_day)
    start = last - timedelta(days=40)
    daily = api.get(
        f"/v1/sellers/{seller}/metrics/daily",
        params={"start": start.isoformat(), "end": last.isoformat(), "platform": "stripe"},
    )
    assert daily.status_code == 200, daily.text
    rows = {date.fromisoformat(r["day"]): r for r in daily.json()["data"]}
    for day, total in by_day.items():
        if start <= day <= last:
            assert Decimal(rows[day]["gross_sales"]) == total, day
            assert rows[day]["currency"] == "USD" and rows[day]["platform"] == "stripe"
    rolling_response = api.get(
        f"/v1/sellers/{seller}/metrics/rolling",
        params={"day": last.isoformat(), "window": 30, "platform": "stripe"},
    )
    assert rolling_response.status_code == 200, rolling_response.text
    rolling = rolling_response.json()
    window_start = last - timedelta(days=29)
    assert rolling["start"] == window_start.isoformat() and rolling["end"] == last.isoformat()
    assert Decimal(rolling["gross_sales"]) == sum(
        (Decimal(r["gross_sales"]) for d, r in rows.items() if d >= window_start), Decimal(0)
    )
    assert rolling["orders"] == sum(r["orders"] for d, r in rows.items() if d >= window_start)
    total = api.get(
        f"/v1/sellers/{seller}/metrics/daily",
        params={"start": start.isoformat(), "end": last.isoformat()},
    ).json()["data"]
    assert {r["platform"] for r in total} == {"all"}


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("path", "params", "status", "word"),
    [
        ("/v1/orders", {"since": "2026-01-01T00:00:00"}, 422, "since"),
        ("/v1/orders", {"until": "2026-01-01"}, 422, "until"),
        ("/v1/orders", {"as_of": "yesterday"}, 422, "as_of"),
        ("/v1/orders", {"as_of": "0001-01-01T00:30:00+01:00"}, 422, "as_of"),
        ("/v1/orders", {"limit": "0"}, 422, "limit"),
        ("/v1/orders", {"limit": "501"}, 422, "limit"),
        ("/v1/orders", {"limit": "many"}, 422, "limit"),
        ("/v1/orders", {"platform": "ebay"}, 422, "platform"),
        ("/v1/orders", {"seller_id": "x" * 65}, 422, "seller_id"),
        (
            "/v1/sellers/{seller}/metrics/daily",
            {"start": "2026-02-01", "end": "2026-01-01"},
            422,
            "end",
        ),
        (
            "/v1/sellers/{seller}/metrics/daily",
            {"start": "2020-01-01", "end": "2026-01-01"},
            422,
            "days",
        ),
        ("/v1/sellers/{seller}/metrics/daily", {"start": "2026-01-01"}, 422, "end"),
        (
            "/v1/sellers/{seller}/metrics/rolling",
            {"day": "2026-01-01", "window": "31"},
            422,
            "window",
        ),
        ("/v1/sellers/{seller}/metrics/rolling", {"day": "0001-01-01"}, 422, "day"),
    ],
)
def test_bad_parameters_get_a_4xx_with_a_message(
    world: World, api: httpx.Client, path: str, params: dict[str, str], status: int, word: str
) -> None:
    url = path.format(seller=next(iter(world.sellers_a)))
    assert_error(api.get(url, params=params), status, word)


def test_keys_are_required_and_need_the_read_scope(world: World) -> None:
    with httpx.Client(base_url=world.base_url) as anonymous:
        assert_error(anonymous.get("/v1/orders"), 401)
        assert_error(anonymous.get("/v1/sellers", headers={"X-API-Key": "shk_x_y"}), 401)
        assert_error(
            anonymous.get("/v1/sellers", headers=world.headers(world.key_without_read)), 403
        )
        via_header = anonymous.get("/v1/sellers", headers={"X-API-Key": world.key_a})
        assert via_header.status_code == 200


def test_openapi_documents_every_route(world: World) -> None:
    spec = httpx.get(f"{world.base_url}/openapi.json").json()
    scoring = {p: ops for p, ops in spec["paths"].items() if p.startswith("/v1/") and "get" in ops}
    expected = {"/v1/sellers", "/v1/sellers/{seller_id}", "/v1/sellers/{seller_id}/connections"}
    expected |= {f"/v1/{e}" for e in CANONICAL_TABLES}
    expected |= {f"/v1/{e}/{{external_id}}/lineage" for e in CANONICAL_TABLES}
    expected |= {"/v1/sellers/{seller_id}/metrics/daily", "/v1/sellers/{seller_id}/metrics/rolling"}
    assert expected <= set(scoring)
    for path in expected:
        responses = scoring[path]["get"]["responses"]
        assert "$ref" in responses["200"]["content"]["application/json"]["schema"], path
        for status in ("400", "401", "403", "404", "422"):
            ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorBody"), (path, status)
    docs = httpx.get(f"{world.base_url}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
