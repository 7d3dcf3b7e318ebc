"""``normalizer.pii.redact`` (a compiled, copy-on-write walk) gives exactly what a plain reading of
its path syntax gives: deep-copy the record, then apply every ``drop`` path, then every ``key``
path, one path at a time (``_reference`` below, written from the module docstring).

Cases: every fixture page, every record the Stripe and Amazon emulators render for their seeded
sellers, a small load-benchmark file, hand-written records for every rule of every table (with
awkward values and shapes at each step), and seeded random records built from the tables' paths.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import random
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from norm_helpers import FIXTURE_PAGES, FIXTURES, TENANT_KEY, ctx

from normalizer import pii
from normalizer.context import MappingContext
from normalizer.errors import MappingError
from normalizer.pii import REDACTION_TABLES, RedactionRules, buyer_key, redact
from normalizer.records import iter_raw_records
from tests.emulator_records import amazon_records, stripe_records

SEED = 7
KEY = "bk_" + "0123456789abcdef" * 4

# ------------------------------------------------------------------------------ reference

_SEGMENT = re.compile(r"([^\[\]]+)(?:\[(?:([^=\]]+)=([^\]]*))?\])?")


def _reference_key(identifier: str) -> str:
    value = identifier.strip()
    if re.fullmatch(r"bk_[0-9a-f]{64}", value):
        return value
    if "@" in value:
        value = value.lower()
    return "bk_" + hmac.new(TENANT_KEY, value.encode(), hashlib.sha256).hexdigest()


def _reference_drop(parent: dict[str, Any], name: str) -> None:
    parent[name] = None


def _reference_replace(parent: dict[str, Any], name: str) -> None:
    value = parent[name]
    if isinstance(value, str) and value.strip():
        parent[name] = _reference_key(value)
    elif isinstance(value, dict) and isinstance(value.get("id"), str) and value["id"].strip():
        parent[name] = _reference_key(value["id"])
    elif value is not None:
        parent[name] = None


def _reference_walk(
    node: Any, segments: list[str], apply: Callable[[dict[str, Any], str], None]
) -> None:
    if not segments or not isinstance(node, dict):
        return
    head, rest = segments[0], segments[1:]
    if head == "*":
        names = list(node)
    else:
        match = _SEGMENT.fullmatch(head)
        assert match is not None
        name, key, value = match.groups()
        if name not in node:
            return
        if "[" in head:
            if isinstance(node[name], list):
                for item in node[name]:
                    if key is None or (isinstance(item, dict) and item.get(key) == value):
                        _reference_walk(item, rest, apply)
            return
        names = [name]
    for name in names:
        if rest:
            _reference_walk(node[name], rest, apply)
        else:
            apply(node, name)


def _reference(rules: RedactionRules, record: Mapping[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(dict(record))
    for path in rules.drop:
        _reference_walk(copied, path.split("."), _reference_drop)
    for path in rules.key:
        _reference_walk(copied, path.split("."), _reference_replace)
    return copied


def _check(platform: str, stream: str, record: Mapping[str, Any]) -> None:
    before = copy.deepcopy(record)
    got = redact(platform, stream, record, ctx(platform))
    assert got == _reference(REDACTION_TABLES[platform][stream], record)
    assert type(got) is dict and got is not record
    assert record == before  # the input is never changed


# --------------------------------------------------------------------------- real shapes


@pytest.mark.parametrize(("platform", "stream", "page"), FIXTURE_PAGES)
def test_fixture_pages(platform: str, stream: str, page: str) -> None:
    for record in iter_raw_records(platform, stream, FIXTURES / page):
        _check(platform, stream, record)


def test_stripe_emulator_records() -> None:
    seen = set()
    for stream, record in stripe_records():
        seen.add(stream)
        _check("stripe", stream, record)
    assert {"charges", "disputes"} <= seen


def test_amazon_emulator_records() -> None:
    orders = 0
    for stream, record in amazon_records():
        orders += stream == "orders"
        _check("amazon", stream, record)
    assert orders > 0


def test_load_benchmark_records() -> None:
    from bench.generate import generate, iter_pages

    with tempfile.TemporaryDirectory() as tmp:
        path = generate(Path(tmp) / "bench.jsonl", 600, accounts=3, seed=SEED)
        for page in iter_pages(path, 100):
            for record in page.records:
                _check("stripe", page.stream, record)


def test_untouched_parts_are_shared_not_copied() -> None:
    record = next(record for stream, record in stripe_records() if stream == "charges")
    stored = redact("stripe", "charges", record, ctx("stripe"))
    assert stored["outcome"] is record["outcome"]  # no path goes there
    assert stored["billing_details"] is not record["billing_details"]
    assert (
        stored["billing_details"]["address"]["country"]
        == record["billing_details"]["address"]["country"]
    )


# ------------------------------------------------------------------- every rule, by hand

# Values a path may end at, and what may stand where an object or list is expected.
LEAVES: tuple[Any, ...] = (
    "Jane", "  ", "", " Jane.Doe@Example.COM ", KEY, f"  {KEY}\n", KEY.upper(), "bk_1", "cus_X",
    {"id": "cus_X", "email": "x@y.z"}, {"id": "  "}, {"id": 3}, {"name": "no id"}, 0, 7,
    Decimal("1.5"), True, False, [], ["a"], [{"id": "cus_Y"}], None,
)  # fmt: skip
WRONG_SHAPES: tuple[Any, ...] = (None, "text", 5, [], {}, [None, "x", 3])


def _instance(segments: list[str], leaf: Any) -> Any:
    """A value that the path ``segments`` reaches (ending at ``leaf``), with company around it."""
    if not segments:
        return leaf
    head, rest = segments[0], segments[1:]
    below = _instance(rest, leaf)
    if head == "*":
        return {"card": below, "type": "card", "other": copy.deepcopy(below)}
    name, key, value = _parts(head)
    if "[" not in head:
        return {name: below, "kept": "K"}
    items: list[Any] = [below, "not an object", None]
    if key is not None and isinstance(below, dict):
        below[key] = value
        items.append({**copy.deepcopy(below), key: "OTHER"})  # filtered out: stays as it is
        items.append({k: v for k, v in copy.deepcopy(below).items() if k != key})
    return {name: items, "kept": "K"}


def _parts(segment: str) -> tuple[str, str | None, str | None]:
    match = _SEGMENT.fullmatch(segment)
    assert match is not None
    name, key, value = match.groups()
    return name, key, value


def _rule_cases(rules: RedactionRules) -> Iterator[dict[str, Any]]:
    paths = [*rules.drop, *rules.key]
    for path in paths:
        segments = path.split(".")
        for leaf in LEAVES:
            yield _instance(segments, copy.deepcopy(leaf))
        for depth in range(1, len(segments)):  # something else where the path goes on
            for wrong in WRONG_SHAPES:
                yield _instance(segments[:depth], copy.deepcopy(wrong))
                plain = [*segments[: depth - 1], _parts(segments[depth - 1])[0]]
                yield _instance(plain, copy.deepcopy(wrong))  # no list where one is expected
    # every path of the table at once, full of values to remove
    merged: dict[str, Any] = {"id": "x", "nested": {"a": [1, {"b": None}]}}
    for path in paths:
        _merge(merged, _instance(path.split("."), "Secret Value"))
    yield merged


def _merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    for name, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(name), dict):
            _merge(into[name], value)
        elif name not in into or into[name] == "K":
            into[name] = value


TABLES = [
    (platform, stream) for platform in REDACTION_TABLES for stream in REDACTION_TABLES[platform]
]


@pytest.mark.parametrize(("platform", "stream"), TABLES)
def test_every_rule_of_every_table(platform: str, stream: str) -> None:
    rules = REDACTION_TABLES[platform][stream]
    for record in _rule_cases(rules):
        _check(platform, stream, record)
        stored = redact(platform, stream, record, ctx(platform))
        assert redact(platform, stream, stored, ctx(platform)) == stored  # idempotent


# ------------------------------------------------------------------------ random records


def _random_record(rng: random.Random, paths: list[str]) -> dict[str, Any]:
    record: dict[str, Any] = {"id": "r1", "amount": Decimal("1.00")}
    for path in rng.sample(paths, k=rng.randint(0, len(paths))):
        leaf = copy.deepcopy(rng.choice(LEAVES))
        instance = _instance(path.split("."), leaf)
        if rng.random() < 0.2:  # break the shape somewhere
            _break(rng, instance)
        _merge(record, instance)
    return record


def _break(rng: random.Random, node: Any) -> None:
    while isinstance(node, dict) and node:
        name = rng.choice(list(node))
        if rng.random() < 0.3 or not isinstance(node[name], (dict, list)):
            node[name] = copy.deepcopy(rng.choice(WRONG_SHAPES))
            return
        node = node[name] if isinstance(node[name], dict) else (node[name] or [None])[0]


@pytest.mark.parametrize(("platform", "stream"), TABLES)
def test_random_records(platform: str, stream: str) -> None:
    rules = REDACTION_TABLES[platform][stream]
    rng = random.Random(f"{SEED}-{platform}-{stream}")
    for _ in range(300):
        _check(platform, stream, _random_record(rng, [*rules.drop, *rules.key] or ["x.y"]))


# --------------------------------------------------------------- other tables, other input


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Callable[[RedactionRules], str]:
    """Install ``rules`` as the only stream of a test platform; returns the stream name."""

    def install(rules: RedactionRules) -> str:
        tables = cast(dict[str, Mapping[str, RedactionRules]], REDACTION_TABLES)
        monkeypatch.setitem(tables, "testplatform", {"things": rules})
        return "things"

    return install


CUSTOM = RedactionRules(
    drop=(
        "a.*",  # ``*`` ending a path
        "b.items[].secret",
        "b.items[].deep.x",
        "c[kind=person].name",
        "c[kind=person].address.line1",
        "d.e.f",
        "d.e.f",  # a repeated path
        "top",
    ),
    key=("k.*", "lst[].who", "d.buyer"),
)


def _check_custom(stream: str, rules: RedactionRules, record: Mapping[str, Any]) -> None:
    before = copy.deepcopy(record)
    got = redact("testplatform", stream, record, ctx("testplatform"))
    assert got == _reference(rules, record)
    assert record == before


def test_tables_beyond_ours(table: Callable[[RedactionRules], str]) -> None:
    stream = table(CUSTOM)
    rng = random.Random(SEED)
    paths = [*CUSTOM.drop, *CUSTOM.key]
    for path in paths:
        for leaf in LEAVES:
            _check_custom(stream, CUSTOM, _instance(path.split("."), copy.deepcopy(leaf)))
    for _ in range(500):
        _check_custom(stream, CUSTOM, _random_record(rng, paths))
    _check_custom(stream, CUSTOM, {"a": {"x": 1, "y": None, "z": {"q": 1}}, "k": {"p": "A@B.C"}})


def test_a_mapping_that_is_not_a_dict(table: Callable[[RedactionRules], str]) -> None:
    from types import MappingProxyType

    record = {"d": {"e": {"f": "x"}, "buyer": "cus_1"}, "top": 1}
    stream = table(CUSTOM)
    got = redact("testplatform", stream, MappingProxyType(record), ctx("testplatform"))
    assert type(got) is dict and got == _reference(CUSTOM, record)
    assert redact("stripe", "payouts", MappingProxyType(record), ctx("stripe")) == record


def test_a_changed_table_is_compiled_again(table: Callable[[RedactionRules], str]) -> None:
    record = {"x": "secret", "y": "secret"}
    assert redact("testplatform", table(RedactionRules(drop=("x",))), record, ctx("t")) == {
        "x": None,
        "y": "secret",
    }
    assert redact("testplatform", table(RedactionRules(drop=("y",))), record, ctx("t")) == {
        "x": "secret",
        "y": None,
    }


@pytest.mark.parametrize(
    "rules",
    [
        RedactionRules(drop=("a", "a.b")),  # a path goes on where another ends
        RedactionRules(drop=("a.b", "a")),
        RedactionRules(drop=("a",), key=("a",)),  # two actions at one place
        RedactionRules(drop=("a.*.b", "a.c")),  # ``*`` next to a named key
        RedactionRules(drop=("a[].b", "a.c")),  # one key reached two ways
        RedactionRules(drop=("a[x=1].b", "a[x=2].c")),
        RedactionRules(drop=("a[]",)),  # a path ending in a list segment
        RedactionRules(drop=("a[kind=p].kind",)),  # a path changing its own filter
        RedactionRules(drop=("a[kind=p].*",)),
        RedactionRules(drop=("a..b",)),  # an empty segment
        RedactionRules(drop=("a[b",)),
    ],
)
def test_tables_whose_result_would_depend_on_path_order_are_refused(
    table: Callable[[RedactionRules], str], rules: RedactionRules
) -> None:
    with pytest.raises(ValueError):
        redact("testplatform", table(rules), {}, ctx("t"))


@pytest.mark.parametrize(("platform", "stream"), TABLES)
def test_every_table_compiles(platform: str, stream: str) -> None:
    pii._compile(REDACTION_TABLES[platform][stream])


# -------------------------------------------------------------------------------- buyer_key


@pytest.mark.parametrize("length", [0, 1, 32, 63, 64, 65, 200])
def test_buyer_key_is_hmac_sha256_for_any_key_length(length: int) -> None:
    key = bytes(range(256))[:length]
    context = MappingContext(platform="stripe", buyer_hash_key=key)
    for identifier in ("cus_AbC", " Jane.Doe@Example.COM ", "ünïcødé", "x" * 500):
        value = identifier.strip()
        value = value.lower() if "@" in value else value
        expected = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
        assert buyer_key(context, identifier) == "bk_" + expected


def test_buyer_key_with_a_bytearray_key_and_bad_input() -> None:
    context = MappingContext(platform="stripe", buyer_hash_key=bytearray(TENANT_KEY))  # type: ignore[arg-type]
    assert (
        buyer_key(context, "cus_1") == buyer_key(ctx("stripe"), "cus_1") == _reference_key("cus_1")
    )
    bad = MappingContext(platform="stripe", buyer_hash_key="not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        buyer_key(bad, "cus_1")
    with pytest.raises(MappingError):
        buyer_key(ctx("stripe"), " \n ")
    assert buyer_key(ctx("stripe"), f" {KEY} ") == KEY
    assert buyer_key(ctx("stripe"), KEY + "\n") == KEY
