"""Daily seller metrics in the reporting currency, kept up to date without full recomputation.

The page writer calls :func:`mark_dirty` inside its transaction with the canonical rows a page
inserted or changed; it records their (tenant, seller, platform, UTC day) buckets in
``metrics_dirty``. :func:`refresh` (run after sync runs) recomputes only those buckets, and each
touched day's ``platform = 'all'`` row from the seller's platform rows; :func:`rebuild`
recomputes every bucket. While recomputing a bucket it also converts each money field of the
bucket's rows into the reporting currency (``fx_amounts``, see ``warehouse.fx``).

Definitions are in ``docs/metrics.md``. Money is summed in Python with ``Decimal`` (SQLite keeps
amounts as exact text).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection, Engine, and_, bindparam, delete, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from normalizer.money import minor_unit_exponent
from warehouse.fx import FxRates, default_rates
from warehouse.scoring_tables import DailyMetric, FxAmount, MetricsDirty
from warehouse.tables import (
    Connection as ConnectionRow,
)
from warehouse.tables import (
    DisputeRow,
    OrderLineRow,
    OrderRow,
    PayoutRow,
    RefundRow,
    Tenant,
    TransactionRow,
    table_of,
    utcnow,
)

if TYPE_CHECKING:
    from warehouse.writer import ConnectionScope, RowChange

log = logging.getLogger(__name__)

ALL = "all"
WINDOWS = (30, 90, 365)
RATIO_QUANTUM = Decimal("0.000001")  # refund and dispute rates: 6 decimal places, HALF_EVEN
SPAN_DAYS = 31  # a recompute reads at most this many consecutive days at once

# the time field that puts a row in a day (payouts: arrival date, else created_at)
BUCKET_TIME: dict[str, str] = {
    "orders": "placed_at",
    "transactions": "occurred_at",
    "refunds": "created_at",
    "disputes": "opened_at",
    "payouts": "created_at",
}
MONEY_FIELDS: dict[str, tuple[str, ...]] = {
    "orders": ("gross", "tax", "shipping", "discount", "net"),
    "order_lines": ("unit_price", "line_total"),
    "transactions": ("amount",),
    "refunds": ("amount",),
    "payouts": ("amount",),
    "disputes": ("amount",),
}
UNCOUNTED_ORDER_STATUSES = frozenset({"cancelled", "failed"})

SUM_FIELDS = (
    "gross_sales",
    "order_gross",
    "refunds",
    "fees",
    "net_sales",
    "payouts",
    "dispute_amount",
)
COUNT_FIELDS = ("orders", "units", "disputes", "unconverted")

Bucket = tuple[str, str, str, date]  # tenant, seller, platform, day


# --------------------------------------------------------------------------- marking


def _utc_day(value: datetime) -> date:
    if value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).date()


def change_fields(entity: str) -> tuple[str, ...]:
    """The fields of a changed row that :func:`mark_dirty` reads (its ``after`` values)."""
    fields = [BUCKET_TIME[entity]] if entity in BUCKET_TIME else []
    if entity == "payouts":
        fields.append("arrival_date")
    if entity == "order_lines":
        fields.append("order_external_id")
    return tuple(fields)


def bucket_day(entity: str, values: Mapping[str, Any]) -> date | None:
    """The UTC day a canonical row counts on (order lines: see :func:`mark_dirty`)."""
    if entity == "payouts" and values.get("arrival_date") is not None:
        arrival = values["arrival_date"]
        return arrival if isinstance(arrival, date) else date.fromisoformat(str(arrival))
    name = BUCKET_TIME.get(entity)
    if name is None or values.get(name) is None:
        return None
    return _utc_day(values[name])


def mark_dirty(
    conn: Connection,
    scope: ConnectionScope,
    changes: Sequence[RowChange],
    now: datetime,
    deferred: DeferredMarks | None = None,
) -> int:
    """Record the buckets that ``changes`` touched (old and new day), in ``conn``'s transaction,
    or, with ``deferred``, add them to what it will mark at the end of that transaction.

    Order lines count on their order's day: the order comes from the same changes or, failing
    that, from the orders table (already written in this transaction). Returns the number of
    buckets.
    """
    buckets = dirty_buckets(conn, scope, changes)
    if deferred is not None:
        deferred.add(buckets, now)
    elif buckets:
        _mark(conn, buckets, now)
    return len(buckets)


class DeferredMarks:
    """Buckets to mark once, at the end of a transaction that writes several pages.

    Marking locks each bucket's row until the commit. Two writers of one seller (two of its
    connections) each mark a page's buckets in one sorted order, so one page per transaction
    cannot deadlock; but a transaction holding several pages (``scheduler.write_behind``'s
    group commit) marked page by page could take the same buckets in crossing orders and
    deadlock on PostgreSQL. Marked once per transaction, in one sorted statement, they cannot.
    """

    def __init__(self) -> None:
        self._buckets: set[Bucket] = set()
        self._now: datetime | None = None

    def add(self, buckets: Iterable[Bucket], now: datetime) -> None:
        self._buckets.update(buckets)
        self._now = now if self._now is None else max(self._now, now)

    def write(self, conn: Connection) -> int:
        """Mark what was added (in ``conn``'s transaction) and start empty again."""
        buckets, now = self._buckets, self._now
        self._buckets, self._now = set(), None
        if buckets and now is not None:
            _mark(conn, buckets, now)
        return len(buckets)


def dirty_buckets(
    conn: Connection, scope: ConnectionScope, changes: Sequence[RowChange]
) -> set[Bucket]:
    """The buckets ``changes`` touched (see ``mark_dirty``)."""
    days: set[date] = set()
    order_days: dict[str, date] = {}
    line_orders: set[str] = set()
    for change in changes:
        if change.entity == "order_lines":
            line_orders.add(str(change.after["order_external_id"]))
            if change.before is not None:
                line_orders.add(str(change.before["order_external_id"]))
            continue
        for values in (change.before, change.after):
            if values is None:
                continue
            day = bucket_day(change.entity, values)
            if day is not None:
                days.add(day)
                if change.entity == "orders" and values is change.after:
                    order_days[change.external_id] = day
    missing = sorted(line_orders - set(order_days))
    if missing:
        orders = table_of(OrderRow)
        for chunk in _chunks(missing, 500):
            for row in conn.execute(
                select(orders.c.placed_at).where(
                    orders.c.connection_id == scope.connection_id,
                    orders.c.external_id.in_(chunk),
                )
            ):
                days.add(_utc_day(row.placed_at))
    days.update(order_days[o] for o in line_orders if o in order_days)
    return {(scope.tenant_id, scope.seller_id, scope.platform, day) for day in days}


def _mark(conn: Connection, buckets: Iterable[Bucket], now: datetime) -> None:
    table = table_of(MetricsDirty)
    rows = [
        {"tenant_id": t, "seller_id": s, "platform": p, "day": d, "seq": 1, "marked_at": now}
        for t, s, p, d in sorted(set(buckets))  # one order for every writer: no deadlocks
    ]
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(table)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "seller_id", "platform", "day"],
            set_={"seq": table.c.seq + 1, "marked_at": statement.excluded.marked_at},
        ),
        rows,
    )


# --------------------------------------------------------------------------- refresh


@dataclass
class RefreshReport:
    buckets: int = 0  # (seller, platform, day) buckets recomputed
    totals: int = 0  # (seller, 'all', day) rows recomputed
    sellers: int = 0
    fx_written: int = 0  # fx_amounts rows inserted or changed
    recomputed: list[tuple[str, str, date]] = field(default_factory=list)  # seller, platform, day


def refresh(
    engine: Engine,
    *,
    tenant_id: str | None = None,
    seller_id: str | None = None,
    rates: FxRates | None = None,
) -> RefreshReport:
    """Recompute the dirty buckets (all, or one tenant's / seller's), one transaction per seller.

    A mark set by a writer while its bucket is being recomputed survives (its ``seq`` moved), so
    the next refresh picks it up.
    """
    dirty = table_of(MetricsDirty)
    query = select(dirty.c.tenant_id, dirty.c.seller_id).distinct()
    if tenant_id is not None:
        query = query.where(dirty.c.tenant_id == tenant_id)
    if seller_id is not None:
        query = query.where(dirty.c.seller_id == seller_id)
    with engine.connect() as conn:
        sellers = sorted((row.tenant_id, row.seller_id) for row in conn.execute(query))
    report = RefreshReport()
    for tenant, seller in sellers:
        with engine.begin() as conn:
            _serialize(conn, tenant, seller)
            marks = list(
                conn.execute(
                    select(dirty.c.platform, dirty.c.day, dirty.c.seq).where(
                        dirty.c.tenant_id == tenant, dirty.c.seller_id == seller
                    )
                )
            )
            if not marks:
                continue
            by_platform: dict[str, set[date]] = defaultdict(set)
            for mark in marks:
                by_platform[mark.platform].add(mark.day)
            _recompute_seller(conn, tenant, seller, by_platform, rates, report)
            _clear_marks(conn, tenant, seller, marks)
        report.sellers += 1
    return report


def refresh_after_sync(engine: Engine, tenant_id: str, seller_id: str) -> RefreshReport | None:
    """The runner's hook after a connection's stream runs: refresh the seller's dirty days.

    A failure here must not fail the sync (the marks stay, the next refresh retries): it is
    logged and None is returned.
    """
    try:
        return refresh(engine, tenant_id=tenant_id, seller_id=seller_id)
    except Exception:
        log.exception("daily metrics refresh for seller %s failed; the days stay dirty", seller_id)
        return None


def rebuild(
    engine: Engine,
    *,
    tenant_id: str | None = None,
    seller_id: str | None = None,
    rates: FxRates | None = None,
) -> RefreshReport:
    """Recompute every bucket of every seller (or one tenant's / seller's) from the canonical
    rows: the daily rows are replaced, fx amounts re-derived (e.g. after the tenant's
    reporting currency changed) and pending marks cleared."""
    connections = table_of(ConnectionRow)
    query = select(connections.c.tenant_id, connections.c.seller_id).distinct()
    if tenant_id is not None:
        query = query.where(connections.c.tenant_id == tenant_id)
    if seller_id is not None:
        query = query.where(connections.c.seller_id == seller_id)
    dirty = table_of(MetricsDirty)
    metrics = table_of(DailyMetric)
    with engine.connect() as conn:
        sellers = sorted((row.tenant_id, row.seller_id) for row in conn.execute(query))
    report = RefreshReport()
    for tenant, seller in sellers:
        with engine.begin() as conn:
            _serialize(conn, tenant, seller)
            marks = list(
                conn.execute(
                    select(dirty.c.platform, dirty.c.day, dirty.c.seq).where(
                        dirty.c.tenant_id == tenant, dirty.c.seller_id == seller
                    )
                )
            )
            conn.execute(
                delete(metrics).where(metrics.c.tenant_id == tenant, metrics.c.seller_id == seller)
            )
            _recompute_seller(conn, tenant, seller, _all_buckets(conn, seller), rates, report)
            _clear_marks(conn, tenant, seller, marks)
        report.sellers += 1
    return report


def _serialize(conn: Connection, tenant_id: str, seller_id: str) -> None:
    """One recompute per seller at a time. PostgreSQL: an advisory transaction lock. SQLite: a
    first write takes the database's write lock, so no page commits while we read and write."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"sellerhub:metrics:{tenant_id}:{seller_id}"},
        )
    else:
        dirty = table_of(MetricsDirty)
        conn.execute(
            update(dirty)
            .where(dirty.c.tenant_id == tenant_id, dirty.c.seller_id == seller_id)
            .values(seq=dirty.c.seq)
        )


def _clear_marks(conn: Connection, tenant_id: str, seller_id: str, marks: Sequence[Any]) -> None:
    """Delete the marks this recompute saw, in key order, and only if no writer re-marked them."""
    if not marks:
        return
    dirty = table_of(MetricsDirty)
    conn.execute(
        delete(dirty).where(
            dirty.c.tenant_id == tenant_id,
            dirty.c.seller_id == seller_id,
            dirty.c.platform == bindparam("p"),
            dirty.c.day == bindparam("d"),
            dirty.c.seq == bindparam("q"),
        ),
        [
            {"p": mark.platform, "d": mark.day, "q": mark.seq}
            for mark in sorted(marks, key=lambda m: (m.platform, m.day))
        ],
    )


def _reporting_currency(conn: Connection, tenant_id: str) -> str:
    tenants = table_of(Tenant)
    found = conn.execute(
        select(tenants.c.reporting_currency).where(tenants.c.id == tenant_id)
    ).scalar_one_or_none()
    if found is None:
        raise LookupError(f"no tenant {tenant_id}")
    return str(found).upper()


def _all_buckets(conn: Connection, seller_id: str) -> dict[str, set[date]]:
    """Every (platform, day) on which the seller has a dated canonical row."""
    found: dict[str, set[date]] = defaultdict(set)
    for entity, model in (
        ("orders", OrderRow),
        ("transactions", TransactionRow),
        ("refunds", RefundRow),
        ("disputes", DisputeRow),
        ("payouts", PayoutRow),
    ):
        table = table_of(model)
        columns = [table.c.platform, table.c[BUCKET_TIME[entity]]]
        if entity == "payouts":
            columns.append(table.c.arrival_date)
        for row in conn.execute(select(*columns).where(table.c.seller_id == seller_id)):
            day = bucket_day(entity, dict(row._mapping))
            if day is not None:
                found[row.platform].add(day)
    return found


def _stale_currency(conn: Connection, tenant_id: str, seller_id: str, currency: str) -> bool:
    metrics = table_of(DailyMetric)
    return (
        conn.execute(
            select(metrics.c.day)
            .where(
                metrics.c.tenant_id == tenant_id,
                metrics.c.seller_id == seller_id,
                metrics.c.currency != currency,
            )
            .limit(1)
        ).first()
        is not None
    )


def _recompute_seller(
    conn: Connection,
    tenant_id: str,
    seller_id: str,
    by_platform: Mapping[str, set[date]],
    rates: FxRates | None,
    report: RefreshReport,
) -> None:
    rates = rates or default_rates()
    currency = _reporting_currency(conn, tenant_id)
    if _stale_currency(conn, tenant_id, seller_id, currency):
        # the tenant's reporting currency changed: this seller's days are all recomputed
        metrics = table_of(DailyMetric)
        conn.execute(
            delete(metrics).where(
                metrics.c.tenant_id == tenant_id, metrics.c.seller_id == seller_id
            )
        )
        by_platform = _all_buckets(conn, seller_id)
    now = utcnow()
    daily: dict[tuple[str, date], dict[str, Any] | None] = {}
    for platform in sorted(by_platform):
        days = sorted(by_platform[platform])
        for span in _spans(days):
            rows = _read_span(conn, seller_id, platform, span[0], span[-1] + timedelta(days=1))
            fx_rows, totals = _compute(rows, set(span), currency, rates)
            report.fx_written += _write_fx(
                conn, tenant_id, seller_id, platform, span[0], span[-1], fx_rows, now
            )
            for day in span:
                sums = totals.get(day)
                # no row of the seller's on that platform that day (any more): no daily row
                daily[(platform, day)] = None if sums is None else _figures(sums, currency)
                report.buckets += 1
                report.recomputed.append((seller_id, platform, day))
    _store_daily(conn, tenant_id, seller_id, daily, now)
    touched = sorted({day for _, day in daily})
    _store_daily(
        conn, tenant_id, seller_id, _totals(conn, tenant_id, seller_id, touched, currency), now
    )
    report.totals += len(touched)


def _spans(days: Sequence[date]) -> Iterator[list[date]]:
    """Sorted days grouped so that one read covers at most ``SPAN_DAYS`` days."""
    span: list[date] = []
    for day in days:
        if span and (day - span[0]).days >= SPAN_DAYS:
            yield span
            span = []
        span.append(day)
    if span:
        yield span


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _read_span(
    conn: Connection, seller_id: str, platform: str, first: date, end: date
) -> dict[str, list[Mapping[str, Any]]]:
    """The seller's rows on ``platform`` whose bucket day is in ``[first, end)``."""
    lo, hi = _start(first), _start(end)
    rows: dict[str, list[Mapping[str, Any]]] = {}
    for entity, model in (
        ("orders", OrderRow),
        ("transactions", TransactionRow),
        ("refunds", RefundRow),
        ("disputes", DisputeRow),
    ):
        table = table_of(model)
        moment = table.c[BUCKET_TIME[entity]]
        rows[entity] = [
            dict(row._mapping)
            for row in conn.execute(
                select(table).where(
                    table.c.seller_id == seller_id,
                    table.c.platform == platform,
                    moment >= lo,
                    moment < hi,
                )
            )
        ]
    payouts = table_of(PayoutRow)
    rows["payouts"] = [
        dict(row._mapping)
        for row in conn.execute(
            select(payouts).where(
                payouts.c.seller_id == seller_id,
                payouts.c.platform == platform,
                or_(
                    and_(payouts.c.arrival_date >= first, payouts.c.arrival_date < end),
                    and_(
                        payouts.c.arrival_date.is_(None),
                        payouts.c.created_at >= lo,
                        payouts.c.created_at < hi,
                    ),
                ),
            )
        )
    ]
    lines = table_of(OrderLineRow)
    by_connection: dict[str, list[str]] = defaultdict(list)
    for order in rows["orders"]:
        by_connection[order["connection_id"]].append(order["external_id"])
    rows["order_lines"] = []
    for connection_id, order_ids in sorted(by_connection.items()):
        for chunk in _chunks(sorted(order_ids), 500):
            rows["order_lines"].extend(
                dict(row._mapping)
                for row in conn.execute(
                    select(lines).where(
                        lines.c.connection_id == connection_id,
                        lines.c.order_external_id.in_(chunk),
                    )
                )
            )
    return rows


@dataclass
class _Sums:
    gross_sales: Decimal = Decimal(0)
    order_gross: Decimal = Decimal(0)
    refunds: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    payouts: Decimal = Decimal(0)
    dispute_amount: Decimal = Decimal(0)
    orders: int = 0
    units: int = 0
    disputes: int = 0
    unconverted: int = 0


def _compute(
    rows: Mapping[str, Sequence[Mapping[str, Any]]],
    days: set[date],
    currency: str,
    rates: FxRates,
) -> tuple[list[dict[str, Any]], dict[date, _Sums]]:
    """Convert every money field of the rows on ``days`` and add up each day's metrics."""
    fx_rows: list[dict[str, Any]] = []
    totals: dict[date, _Sums] = {}

    def convert(entity: str, row: Mapping[str, Any], day: date) -> dict[str, Decimal | None]:
        converted: dict[str, Decimal | None] = {}
        for name in MONEY_FIELDS[entity]:
            found = rates.convert(row[name], row["currency"], currency, day)
            converted[name] = None if found is None else found.amount
            fx_rows.append(
                {
                    "entity": entity,
                    "connection_id": row["connection_id"],
                    "external_id": row["external_id"],
                    "field": name,
                    "day": day,
                    "currency": row["currency"],
                    "amount": row[name],
                    "reporting_currency": currency,
                    "rate": None if found is None else found.rate,
                    "rate_date": None if found is None else found.rate_date,
                    "rate_source": rates.source,
                    "reporting_amount": converted[name],
                    "canonical_version": row["version"],
                }
            )
        return converted

    def day_of(entity: str, row: Mapping[str, Any]) -> date | None:
        day = bucket_day(entity, row)
        if day is None or day not in days:
            return None
        totals.setdefault(day, _Sums())
        return day

    order_days: dict[tuple[str, str], date] = {}
    counted: set[tuple[str, str]] = set()
    for row in rows["orders"]:
        day = day_of("orders", row)
        if day is None:
            continue
        key = (row["connection_id"], row["external_id"])
        order_days[key] = day
        gross = convert("orders", row, day)["gross"]
        if row["status"] in UNCOUNTED_ORDER_STATUSES:
            continue
        counted.add(key)
        sums = totals[day]
        sums.orders += 1
        if gross is None:
            sums.unconverted += 1
        else:
            sums.order_gross += gross
    for row in rows["order_lines"]:
        key = (row["connection_id"], row["order_external_id"])
        if key not in order_days:
            continue
        convert("order_lines", row, order_days[key])
        if key in counted:
            totals[order_days[key]].units += int(row["quantity"])
    for row in rows["transactions"]:
        day = day_of("transactions", row)
        if day is None:
            continue
        amount = convert("transactions", row, day)["amount"]
        kind = row["type"]
        if kind not in ("sale", "refund", "fee"):
            continue
        sums = totals[day]
        if amount is None:
            sums.unconverted += 1
        elif kind == "sale":
            sums.gross_sales += amount
        elif kind == "refund":
            sums.refunds -= amount
        else:
            sums.fees -= amount
    for row in rows["refunds"]:
        day = day_of("refunds", row)
        if day is not None:
            convert("refunds", row, day)
    for row in rows["payouts"]:
        day = day_of("payouts", row)
        if day is None:
            continue
        amount = convert("payouts", row, day)["amount"]
        if row["status"] != "paid":
            continue
        if amount is None:
            totals[day].unconverted += 1
        else:
            totals[day].payouts += amount
    for row in rows["disputes"]:
        day = day_of("disputes", row)
        if day is None:
            continue
        amount = convert("disputes", row, day)["amount"]
        sums = totals[day]
        sums.disputes += 1
        if amount is None:
            sums.unconverted += 1
        else:
            sums.dispute_amount += amount
    return fx_rows, totals


FX_COMPARED = (
    "day",
    "currency",
    "amount",
    "reporting_currency",
    "rate",
    "rate_date",
    "rate_source",
    "reporting_amount",
    "canonical_version",
)


def _write_fx(
    conn: Connection,
    tenant_id: str,
    seller_id: str,
    platform: str,
    first: date,
    last: date,
    fx_rows: Sequence[dict[str, Any]],
    now: datetime,
) -> int:
    """Upsert the conversions that are new or differ from what ``fx_amounts`` holds."""
    table = table_of(FxAmount)
    existing: dict[tuple[str, str, str, str], Mapping[str, Any]] = {}
    for row in conn.execute(
        select(table).where(
            table.c.tenant_id == tenant_id,
            table.c.seller_id == seller_id,
            table.c.platform == platform,
            table.c.day >= first,
            table.c.day <= last,
        )
    ):
        existing[(row.entity, row.connection_id, row.external_id, row.field)] = dict(row._mapping)
    wanted: list[dict[str, Any]] = []
    for values in fx_rows:
        key = (values["entity"], values["connection_id"], values["external_id"], values["field"])
        held = existing.get(key)
        if held is not None and all(held[name] == values[name] for name in FX_COMPARED):
            continue
        wanted.append(
            {
                **values,
                "tenant_id": tenant_id,
                "seller_id": seller_id,
                "platform": platform,
                "converted_at": now,
            }
        )
    if not wanted:
        return 0
    wanted.sort(key=lambda v: (v["entity"], v["connection_id"], v["external_id"], v["field"]))
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(table)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["entity", "connection_id", "external_id", "field"],
            set_={
                name: statement.excluded[name]
                for name in (*FX_COMPARED, "tenant_id", "seller_id", "platform", "converted_at")
            },
        ),
        wanted,
    )
    return len(wanted)


def _ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    if denominator == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 60
        return (Decimal(numerator) / Decimal(denominator)).quantize(
            RATIO_QUANTUM, rounding=ROUND_HALF_EVEN
        )


def _derived(sums: Mapping[str, Any], currency: str) -> dict[str, Any]:
    """Net sales, rates and average order value from the additive figures."""
    exponent = Decimal(1).scaleb(-minor_unit_exponent(currency))
    aov = None
    if sums["orders"]:
        with localcontext() as ctx:
            ctx.prec = 60
            aov = (sums["order_gross"] / sums["orders"]).quantize(
                exponent, rounding=ROUND_HALF_EVEN
            )
    return {
        "net_sales": sums["gross_sales"] - sums["refunds"] - sums["fees"],
        "refund_rate": _ratio(sums["refunds"], sums["gross_sales"]),
        "dispute_rate": _ratio(sums["disputes"], sums["orders"]),
        "average_order_value": aov,
    }


def _figures(sums: _Sums, currency: str) -> dict[str, Any]:
    additive: dict[str, Any] = {
        name: getattr(sums, name) for name in (*COUNT_FIELDS, *SUM_FIELDS) if name != "net_sales"
    }
    return {"currency": currency, **additive, **_derived(additive, currency)}


def _totals(
    conn: Connection, tenant_id: str, seller_id: str, days: Sequence[date], currency: str
) -> dict[tuple[str, date], dict[str, Any] | None]:
    """The seller's ``all`` rows of ``days``: sums of its platform rows, rates re-derived."""
    if not days:
        return {}
    table = table_of(DailyMetric)
    wanted = set(days)
    by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for row in conn.execute(
        select(table).where(
            table.c.tenant_id == tenant_id,
            table.c.seller_id == seller_id,
            table.c.platform != ALL,
            table.c.day >= days[0],
            table.c.day <= days[-1],
        )
    ):
        if row.day in wanted:
            by_day[row.day].append(dict(row._mapping))
    totals: dict[tuple[str, date], dict[str, Any] | None] = {}
    for day in days:
        if day not in by_day:
            totals[(ALL, day)] = None
            continue
        additive = _add_up(by_day[day], exclude_net=True)
        totals[(ALL, day)] = {"currency": currency, **additive, **_derived(additive, currency)}
    return totals


def _store_daily(
    conn: Connection,
    tenant_id: str,
    seller_id: str,
    rows: Mapping[tuple[str, date], dict[str, Any] | None],
    now: datetime,
) -> None:
    """Upsert the given daily rows and delete the ones given as None, in key order."""
    table = table_of(DailyMetric)
    keys = sorted(rows)
    upserts = [
        {
            "tenant_id": tenant_id,
            "seller_id": seller_id,
            "platform": platform,
            "day": day,
            **values,
            "updated_at": now,
        }
        for platform, day in keys
        if (values := rows[(platform, day)]) is not None
    ]
    gone = [{"p": platform, "d": day} for platform, day in keys if rows[(platform, day)] is None]
    if upserts:
        dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        statement = dialect_insert(table)
        names = [
            name for name in upserts[0] if name not in ("tenant_id", "seller_id", "platform", "day")
        ]
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["tenant_id", "seller_id", "platform", "day"],
                set_={name: statement.excluded[name] for name in names},
            ),
            upserts,
        )
    if gone:
        conn.execute(
            delete(table).where(
                table.c.tenant_id == tenant_id,
                table.c.seller_id == seller_id,
                table.c.platform == bindparam("p"),
                table.c.day == bindparam("d"),
            ),
            gone,
        )


def _add_up(rows: Sequence[Mapping[str, Any]], *, exclude_net: bool) -> dict[str, Any]:
    total: dict[str, Any] = {name: 0 for name in COUNT_FIELDS}
    total.update({name: Decimal(0) for name in SUM_FIELDS})
    for row in rows:
        for name in (*COUNT_FIELDS, *SUM_FIELDS):
            total[name] += row[name]
    if exclude_net:
        total.pop("net_sales")
    return total


# --------------------------------------------------------------------------- reading


def _platform_key(platform: str | None) -> str:
    return ALL if platform is None else platform


def _public(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in row if name != "tenant_id"}


def daily(
    engine: Engine,
    *,
    tenant_id: str,
    seller_id: str,
    platform: str | None,
    start: date,
    end: date,
) -> list[dict[str, Any]]:
    """The seller's daily rows from ``start`` to ``end`` (both included), oldest first.

    ``platform=None`` gives the seller's total over its platforms. Days without any activity
    have no row.
    """
    if end < start:
        raise ValueError("end is before start")
    table = table_of(DailyMetric)
    with engine.connect() as conn:
        return [
            _public(dict(row._mapping))
            for row in conn.execute(
                select(table)
                .where(
                    table.c.tenant_id == tenant_id,
                    table.c.seller_id == seller_id,
                    table.c.platform == _platform_key(platform),
                    table.c.day >= start,
                    table.c.day <= end,
                )
                .order_by(table.c.day)
            )
        ]


def rolling(
    engine: Engine,
    *,
    tenant_id: str,
    seller_id: str,
    platform: str | None,
    day: date,
    window_days: Literal[30, 90, 365] | int,
) -> dict[str, Any]:
    """The ``window_days`` days ending with ``day`` (included), summed from the daily rows;
    rates and average order value are re-derived from the sums."""
    if window_days not in WINDOWS:
        raise ValueError(f"window_days must be one of {', '.join(map(str, WINDOWS))}")
    start = day - timedelta(days=window_days - 1)
    rows = daily(
        engine,
        tenant_id=tenant_id,
        seller_id=seller_id,
        platform=platform,
        start=start,
        end=day,
    )
    currencies = {row["currency"] for row in rows}
    if len(currencies) > 1:
        raise ValueError("daily rows in several currencies: run `sellerhub metrics rebuild`")
    if currencies:
        currency = currencies.pop()
    else:
        with engine.connect() as conn:
            currency = _reporting_currency(conn, tenant_id)
    additive = _add_up(rows, exclude_net=True)
    return {
        "seller_id": seller_id,
        "platform": _platform_key(platform),
        "window_days": window_days,
        "start": start,
        "end": day,
        "currency": currency,
        "days_with_activity": len(rows),
        **additive,
        **_derived(additive, currency),
    }


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for begin in range(0, len(items), size):
        yield items[begin : begin + size]
