"""Synthetic Stripe records for the load benchmark, and the one reader every case uses.

Records are rendered by the Stripe emulator's own renderers (``sandbox.stripe.render``), so they
have the platform's shapes (https://docs.stripe.com/api/charges/object,
https://docs.stripe.com/api/balance_transactions/object) including the buyer PII that
``normalizer.pii.redact`` must strip. Half are charges, half balance transactions, spread over a
few connected accounts.

The data file is JSON lines, one raw record a line, prefixed by ``account<TAB>stream<TAB>``;
records of one (account, stream) are consecutive, as a sync would fetch them. Every case reads
it with :func:`iter_pages`, which parses each record with ``parse_float=Decimal``, so parsing
costs the same everywhere and nothing holds more than one page in memory.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from connectors.http.body import parse_json_object
from sandbox.common.ids import token
from sandbox.common.people import fake_person
from sandbox.stripe.facts import ACCOUNTS
from sandbox.stripe.model import Account, BalanceTransaction, Charge, Refund
from sandbox.stripe.render import balance_transaction_json, charge_json

EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z
NOW = EPOCH + 400 * 86_400
BRANDS = ("visa", "mastercard", "amex")


# records read so far by this process (the worker reports it while a long case runs)
RECORDS_READ = [0]


@dataclass(frozen=True)
class Page:
    account: str
    stream: str
    records: list[dict[str, Any]]


def data_path(directory: Path, records: int, accounts: int, seed: int) -> Path:
    return directory / f"stripe-{records}-a{accounts}-s{seed}.jsonl"


def generate(path: Path, records: int, accounts: int = 10, seed: int = 7) -> Path:
    """Write ``records`` raw records (half charges, half balance transactions) to ``path``."""
    if path.exists():
        return path
    rng = random.Random(seed)
    tmp = path.with_suffix(".part")
    per_account = _split(records // 2, accounts)
    extra_bt = records - 2 * (records // 2)  # an odd N gets one more balance transaction
    with tmp.open("w", encoding="utf-8") as out:
        for index, charges in enumerate(per_account):
            account = _account(rng, index)
            created = EPOCH + index * 3_600
            rendered: list[tuple[Charge, int]] = []
            for _ in range(charges):
                created += rng.randint(20, 240)
                charge = _charge(rng, account, created)
                rendered.append((charge, created))
                line = json.dumps(charge_json(charge, account), separators=(",", ":"))
                out.write(f"{account.id}\tcharges\t{line}\n")
            count = charges + (extra_bt if index == 0 else 0)
            for position in range(count):
                pair: tuple[Charge | None, int] = (
                    rendered[position % len(rendered)] if rendered else (None, EPOCH)
                )
                source, when = pair
                fresh = position >= len(rendered)  # wrapped around: not the charge's own
                bt = _balance_transaction(rng, account, source, when, fresh)
                line = json.dumps(balance_transaction_json(bt, NOW), separators=(",", ":"))
                out.write(f"{account.id}\tbalance_transactions\t{line}\n")
    tmp.rename(path)
    return path


def _split(total: int, parts: int) -> list[int]:
    base, rest = divmod(total, parts)
    return [base + (1 if i < rest else 0) for i in range(parts)]


def _account(rng: random.Random, index: int) -> Account:
    profile = ACCOUNTS[index % len(ACCOUNTS)]
    return Account(
        id="acct_" + token(rng, 16),
        index=index,
        profile=profile,
        created=EPOCH - 86_400 * 365,
        publishable_key="pk_test_" + token(rng, 24),
        bank_account="ba_" + token(rng, 24),
    )


def _charge(rng: random.Random, account: Account, created: int) -> Charge:
    low, high = account.profile.price_range
    amount = rng.randint(low, high)
    charge_id = "ch_" + token(rng, 24)
    refunds: list[Refund] = []
    if rng.random() < 0.06:  # some charges are (partly) refunded
        refunds.append(
            Refund(
                id="re_" + token(rng, 24),
                charge=charge_id,
                amount=amount if rng.random() < 0.7 else amount // 2,
                currency=account.currency,
                created=created + rng.randint(3_600, 20 * 86_400),
                reason="requested_by_customer",
                balance_transaction="txn_" + token(rng, 24),
                payment_intent="pi_" + token(rng, 24),
            )
        )
    return Charge(
        id=charge_id,
        amount=amount,
        currency=account.currency,
        created=created,
        buyer=fake_person(rng, account.profile.country),
        balance_transaction="txn_" + token(rng, 24),
        payment_intent="pi_" + token(rng, 24),
        payment_method="pm_" + token(rng, 24),
        card_brand=rng.choice(BRANDS),
        card_last4=f"{rng.randint(0, 9999):04d}",
        card_exp=(rng.randint(1, 12), rng.randint(2026, 2031)),
        fingerprint=token(rng, 16),
        description=account.profile.product,
        risk_score=rng.randint(0, 99),
        refunds=refunds,
    )


def _balance_transaction(
    rng: random.Random, account: Account, charge: Charge | None, created: int, fresh: bool
) -> BalanceTransaction:
    profile = account.profile
    roll = rng.random()
    if charge is None or roll < 0.04:  # a payout every now and then
        amount = -rng.randint(10_000, 500_000)
        return BalanceTransaction(
            id="txn_" + token(rng, 24),
            amount=amount,
            fee=0,
            currency=account.currency,
            type="payout",
            reporting_category="payout",
            created=created + 3 * 86_400,
            available_on=created + 3 * 86_400,
            source="po_" + token(rng, 24),
            description="STRIPE PAYOUT",
        )
    if roll < 0.08:  # a refund
        return BalanceTransaction(
            id="txn_" + token(rng, 24),
            amount=-charge.amount,
            fee=0,
            currency=account.currency,
            type="refund",
            reporting_category="refund",
            created=created + 86_400,
            available_on=created + 86_400,
            source="re_" + token(rng, 24),
            description="REFUND FOR CHARGE",
        )
    fee = int(
        (Decimal(charge.amount) * Decimal(profile.fee_percent)).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
        + profile.fee_fixed
    )
    return BalanceTransaction(
        id="txn_" + token(rng, 24) if fresh else charge.balance_transaction,
        amount=charge.amount,
        fee=fee,
        currency=account.currency,
        type="charge",
        reporting_category="charge",
        created=created,
        available_on=created + 2 * 86_400,
        source=charge.id,
        description=charge.description,
        fee_details=[(fee, "stripe_fee", "Stripe processing fees")],
    )


def parse_with(parser: str) -> Callable[[bytes], Any]:
    """``sellerhub``: the hub's own parser for platform bodies (msgspec, exact decimals);
    ``json``: the standard library, ``json.loads(text, parse_float=Decimal)``."""
    if parser == "json":
        return lambda line: json.loads(line, parse_float=Decimal)
    if parser == "sellerhub":
        return parse_json_object
    raise ValueError(f"unknown parser {parser!r}")


def iter_pages(
    path: Path,
    page_size: int,
    parser: str = "sellerhub",
    accounts: Callable[[str], bool] | None = None,
) -> Iterator[Page]:
    """Pages of at most ``page_size`` parsed records, never spanning two (account, stream);
    with ``accounts``, only the records of the accounts it accepts (others are not parsed)."""
    parse = parse_with(parser)
    current: tuple[str, str] | None = None
    records: list[dict[str, Any]] = []
    with path.open("rb") as lines:
        for line in lines:
            account, stream, text = line.split(b"\t", 2)
            if accounts is not None and not accounts(account.decode()):
                continue
            key = (account.decode(), stream.decode())
            if key != current or len(records) >= page_size:
                if records and current is not None:
                    RECORDS_READ[0] += len(records)
                    yield Page(current[0], current[1], records)
                current, records = key, []
            records.append(parse(text))
    if records and current is not None:
        RECORDS_READ[0] += len(records)
        yield Page(current[0], current[1], records)


def iter_line_pages(path: Path, page_size: int) -> Iterator[tuple[str, str, list[bytes]]]:
    """As ``iter_pages``, unparsed: (account, stream, the records' JSON lines)."""
    current: tuple[str, str] | None = None
    lines: list[bytes] = []
    with path.open("rb") as source:
        for line in source:
            account, stream, text = line.split(b"\t", 2)
            key = (account.decode(), stream.decode())
            if key != current or len(lines) >= page_size:
                if lines and current is not None:
                    RECORDS_READ[0] += len(lines)
                    yield current[0], current[1], lines
                current, lines = key, []
            lines.append(text)
    if lines and current is not None:
        RECORDS_READ[0] += len(lines)
        yield current[0], current[1], lines
