"""msgspec decoding gives exactly what ``json.loads(text, parse_float=Decimal)`` gave.

``parse_json_object`` (platform response bodies) and ``normalizer.pages`` (saved pages) decode
with ``msgspec.json.Decoder(float_hook=Decimal)`` and hand anything msgspec refuses to
``json.loads``. Where msgspec and json differ on their own:

* duplicate keys: both keep the last value at the first key's position;
* NaN / Infinity / -Infinity: json takes them (as floats); msgspec refuses them;
* lone surrogate escapes (``"\\ud800"``): json gives a str holding the surrogate; msgspec refuses;
* invalid UTF-8: msgspec raises UnicodeDecodeError; ``response.text`` had turned the bytes into
  U+FFFD, which json then took;
* a UTF-8 BOM: both refuse (json.loads of a str; json.loads of bytes would skip it);
* integers over 4300 digits: json raises ValueError, msgspec ValidationError;
* deep nesting: both raise RecursionError; msgspec's limit is a few levels deeper than json's,
  so only there would a body json refused decode now (json's limit moves with the stack anyway);
* an exponent Decimal cannot hold (``1e`` and 4400 digits): both raise decimal.InvalidOperation
  from the Decimal call, which parse_json_object let through before and still does.

With the fallback every case answers as before (the nesting window aside), and the comparisons
below are strict: same types, same Decimal digits and exponent, same key order, same exception
and message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.http.body import parse_json_object
from normalizer import pages
from tests.connectors.conftest import REFERENCE

DECODER = msgspec.json.Decoder(float_hook=Decimal)
RECORDED = REFERENCE / "recorded"


def tagged(value: Any) -> list[str]:
    """A strict, flat image of a decoded value: Decimal('1.10') != Decimal('1.1'), True != 1."""
    tokens: list[str] = []
    _tag(value, tokens)
    return tokens


def _tag(value: Any, tokens: list[str]) -> None:
    if isinstance(value, dict):
        tokens.append("{")
        for key, item in value.items():
            tokens.append(repr(key))
            _tag(item, tokens)
        tokens.append("}")
    elif isinstance(value, list):
        tokens.append("[")
        for item in value:
            _tag(item, tokens)
        tokens.append("]")
    else:
        tokens.append(f"{type(value).__name__}:{value!r}")


def outcome(func: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    try:
        return ("value", tagged(func(*args)))
    except (ValueError, RecursionError, ArithmeticError) as exc:
        return ("raises", type(exc).__name__, str(exc))


def old_loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def old_parse_json_object(text: str) -> dict[str, Any] | None:
    """parse_json_object before msgspec, fed ``response.text``."""
    try:
        value = old_loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def old_iter_raw_records(platform: str, stream: str, path: Path) -> Iterator[dict[str, Any]]:
    """iter_raw_records before msgspec (its document handling is shared, unchanged)."""
    text = path.read_text(encoding="utf-8")
    try:
        documents: list[Any] = [old_loads(text)]
    except json.JSONDecodeError:
        documents = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                documents.append(old_loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: line {number} is not JSON: {exc.msg}") from None
    for document in documents:
        yield from pages._from_document(platform, stream, document)


def assert_body_same(data: bytes) -> None:
    """parse_json_object(response.content) answers as parse_json_object(response.text) did."""
    response = httpx.Response(200, content=data)
    assert outcome(parse_json_object, response.content, response.encoding) == outcome(
        old_parse_json_object, response.text
    )
    assert outcome(parse_json_object, response.text) == outcome(
        old_parse_json_object, response.text
    )


def assert_msgspec_sound(data: bytes) -> None:
    """Whatever msgspec accepts, json accepts with the very same value."""
    try:
        fast = DECODER.decode(data)
    except (ValueError, RecursionError):
        return
    except (
        InvalidOperation
    ):  # Decimal refused the number's text: json's Decimal call refuses it too
        with pytest.raises(InvalidOperation):
            old_loads(data.decode("utf-8"))
        return
    assert tagged(fast) == tagged(old_loads(data.decode("utf-8")))


def assert_pages_same(path: Path) -> None:
    def new() -> list[dict[str, Any]]:
        return list(pages.iter_raw_records("other", "records", path))

    def old() -> list[dict[str, Any]]:
        return list(old_iter_raw_records("other", "records", path))

    assert outcome(new) == outcome(old)


# -- hand-written edge cases ------------------------------------------------------------------

SAME = [
    b'{"a":1.10}',
    b'{"a":1e2}',
    b'{"a":1E+2}',
    b'{"a":-0.0}',
    b'{"a":-0}',
    b'{"a":0e0}',
    b'{"a":-0.0e-00}',
    b'{"a":1e-400}',
    b'{"a":1.5e99999}',
    b'{"a":1.7976931348623157e309}',
    b'{"a":0.1000000000000000000000000000001}',
    b'{"a":12345678901234567890.5}',
    b'{"a":10000000000000000000000000000000000000000000000000e-10}',
    b'{"a":9223372036854775807,"b":-9223372036854775808,"c":-9223372036854775809}',
    b'{"a":18446744073709551615,"b":18446744073709551616}',
    b'{"a":19933688932870350000,"b":19999999999999999999,"c":19446744073709551617}',
    b'{"a":123456789012345678901234567890,"b":-123456789012345678901234567890}',
    b'{"a":' + b"7" * 4300 + b"}",
    b'{"a":1.' + b"3" * 5000 + b"}",
    b'{"a":1,"b":2,"a":3}',
    b'{"a":{"x":1},"a":[2.50]}',
    b'{"a":"\\ud83d\\ude00","b":"\\u00e9","c":"\\u0000","d":"\\/\\b\\f\\n\\r\\t\\"\\\\"}',
    b'{"\xc3\xa9":"\xe2\x82\xac","x":"\xe2\x80\xa8\xc2\x85\xc2\xa0"}',
    b' \r\n\t{ "a" : [ 1 , 2.0 ] }\r\n ',
    b'{"a":true,"b":false,"c":null,"d":[],"e":{}}',
    b'{"__proto__":1}',
    b"[1.5]",
    b'"s"',
    b"1.5",
]

DIFFER = [  # msgspec refuses, json.loads takes: the fallback answers
    b'{"a":NaN}',
    b'{"a":Infinity,"b":-Infinity}',
    b'{"a":"\\ud800"}',
    b'{"a":"\\udc00x"}',
    b'{"a":"\\ude00\\ud83d"}',
    b'{"a":"\xff"}',
    b'{"a":"\xed\xa0\x80"}',
    b'{"a":"\xc0\x80"}',
    b'{"a":"\xf4\x90\x80\x80"}',
]

BOTH_REFUSE = [
    b"",
    b"\xef\xbb\xbf{}",
    b'\xef\xbb\xbf{"a":1}',
    b'{"a":1} x',
    b'{"a":1}\x00',
    b'{"a":01}',
    b'{"a":-01}',
    b'{"a":1.}',
    b'{"a":.5}',
    b'{"a":+1}',
    b'{"a":1e}',
    b'{"a":1.0e+}',
    b'{"a":-}',
    b'{"a":"\x01"}',
    b'{"a":"\t"}',
    b'{"a":\x0c1}',
    b'{"a":\xc2\xa01}',
    b'{"a":\xe2\x80\xa81}',
    b'{"a":"\\x41"}',
    b'{"a":"\\u00G9"}',
    b'{"a":tru}',
    b'{"a":True}',
    b"{a:1}",
    b"{'a':1}",
    b'{"a":1,}',
    b"[1,]",
    b'{"a":' + b"1" * 4301 + b"}",
]


@pytest.mark.parametrize("data", SAME)
def test_msgspec_gives_json_values(data: bytes) -> None:
    expected = tagged(old_loads(data.decode("utf-8")))
    assert tagged(DECODER.decode(data)) == expected
    assert tagged(DECODER.decode(data.decode("utf-8"))) == expected
    assert_body_same(data)


def test_numbers_keep_their_text() -> None:
    body = parse_json_object(
        b'{"a":1.10,"b":1e2,"c":-0.0,"d":5300.0,"e":10,"f":1' + b"0" * 40 + b"}"
    )
    assert body is not None
    assert [repr(body[key]) for key in "abcd"] == [
        "Decimal('1.10')",
        "Decimal('1E+2')",
        "Decimal('-0.0')",
        "Decimal('5300.0')",
    ]
    assert type(body["e"]) is int
    assert body["f"] == 10**40
    assert type(body["f"]) is int


def test_duplicate_keys_keep_the_last_value_at_the_first_place() -> None:
    value = DECODER.decode(b'{"a":1,"b":2,"a":3}')
    assert list(value.items()) == [("a", 3), ("b", 2)]


@pytest.mark.parametrize("data", DIFFER)
def test_msgspec_refuses_what_json_takes(data: bytes) -> None:
    with pytest.raises(ValueError):
        DECODER.decode(data)
    assert outcome(old_parse_json_object, data.decode("utf-8", "replace"))[0] == "value"
    assert_body_same(data)


def test_an_exponent_decimal_refuses_raises_as_before() -> None:
    data = b'{"a":1e' + b"1" * 4400 + b"}"
    with pytest.raises(InvalidOperation):
        DECODER.decode(data)
    with pytest.raises(InvalidOperation):
        old_parse_json_object(data.decode())
    with pytest.raises(InvalidOperation):
        parse_json_object(data)
    assert parse_json_object(b'{"a":1e999999999999999999}') == {
        "a": Decimal("1E+999999999999999999")
    }


def test_nan_still_comes_back_as_before() -> None:
    body = parse_json_object(b'{"a":NaN,"b":1.5}')
    assert body is not None
    assert body["a"] != body["a"]
    assert body["b"] == Decimal("1.5")


def test_lone_surrogate_text_goes_to_json() -> None:
    text = '{"a":"\ud800"}'  # a str no UTF-8 encoder takes
    with pytest.raises(UnicodeEncodeError):
        DECODER.decode(text)
    assert parse_json_object(text) == {"a": "\ud800"}


@pytest.mark.parametrize("data", BOTH_REFUSE)
def test_both_refuse(data: bytes) -> None:
    with pytest.raises(ValueError):
        DECODER.decode(data)
    with pytest.raises(ValueError):
        old_loads(data.decode("utf-8", "replace"))
    assert parse_json_object(data) is None
    assert_body_same(data)


@pytest.mark.parametrize("depth", [1, 50, 400])
def test_nesting_decodes_alike(depth: int) -> None:
    assert_body_same(b'{"a":' * depth + b"1.0" + b"}" * depth)
    assert_body_same(b"[" * depth + b"]" * depth)


@pytest.mark.parametrize("data", [b"[" * 5000 + b"]" * 5000, b'{"a":' * 5000 + b"1}" * 5000])
def test_very_deep_nesting_raises_recursion_error_as_before(data: bytes) -> None:
    with pytest.raises(RecursionError):
        DECODER.decode(data)
    with pytest.raises(RecursionError):
        old_parse_json_object(data.decode())
    with pytest.raises(RecursionError) as caught:
        parse_json_object(data)
    assert "decoding a JSON" in str(caught.value)  # json's own error, as before


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("iso-8859-1", '{"name":"Müller","amount":12.50}'),
        ("latin-1", '{"name":"\u00ff"}'),
        ("utf-16", '{"amount":1.10}'),
        ("utf-8-sig", '{"amount":1.10}'),
        ("UTF8", '{"name":"Müller","amount":12.50}'),
        ("ascii", '{"name":"x"}'),
    ],
)
def test_declared_charset_decodes_as_response_text_did(charset: str, text: str) -> None:
    response = httpx.Response(
        200,
        content=text.encode(charset),
        headers={"content-type": f"application/json; charset={charset}"},
    )
    new = parse_json_object(response.content, response.encoding)
    assert tagged(new) == tagged(old_parse_json_object(response.text))
    assert new is not None


def test_ascii_charset_with_utf8_bytes_is_still_replaced_as_text_did() -> None:
    response = httpx.Response(
        200,
        content='{"name":"Müller"}'.encode(),
        headers={"content-type": "application/json; charset=ascii"},
    )
    assert parse_json_object(response.content, response.encoding) == old_parse_json_object(
        response.text
    )


# -- normalizer.pages -------------------------------------------------------------------------

PAGE_FILES = [
    b'{"data":[{"id":"ch_1","amount":1.10},{"id":"ch_2","amount":2e2}]}',
    b'{"id":"a","v":1.0}\n{"id":"b","v":-0.0}\n\n',
    b'{"id":"a","v":1.0}\r\n{"id":"b","v":2.50}\r\n',
    b'{"id":"a"}\r{"id":"b"}',
    b'{"id":"a","v":NaN}',
    b'{"id":"a","v":NaN}\n{"id":"b"}',
    b'{"id":"a","s":"\\ud800"}',
    b'{"id":"a"}\n{"id":"b","s":"\\ud800"}',
    b'{"id":"a"}\n{"id": broken}\n',
    b'\xef\xbb\xbf{"id":"a"}',
    b'\xef\xbb\xbf{"id":"a"}\n{"id":"b"}',
    b'{"id":"a"}\n{"id":"\xff"}',
    b'{"id":"\xff"}',
    b'{"id":"a"}\n' + b'{"n":' + b"1" * 5000 + b"}",
    b'{"n":' + b"1" * 5000 + b"}",
    b'{"id":"a","s":"x\xe2\x80\xa8y"}\n{"id":"b"}',
    b'{"id":"a","s":"x\xc2\x85y"}',
    b'{"stream":"records","data":{"v":1.10}}\n{"stream":"other","data":{"v":2}}',
    b"[1, 2]",
    b"",
    b"\n\n",
    b'{"a":1}' + b" " * 9000 + b"\xff",
]


@pytest.mark.parametrize("data", PAGE_FILES)
def test_pages_read_as_before(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "page.json"
    path.write_bytes(data)
    assert_pages_same(path)


@pytest.mark.parametrize("data", [*SAME, *DIFFER, *BOTH_REFUSE])
def test_pages_loads_answers_as_json(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    assert outcome(pages._loads, text) == outcome(old_loads, text)


# -- generated documents ----------------------------------------------------------------------

DIGITS = "[0-9]"
INT_TEXT = st.from_regex(rf"-?(0|[1-9]{DIGITS}{{0,45}})", fullmatch=True)
FRACTION_TEXT = st.from_regex(rf"-?(0|[1-9]{DIGITS}{{0,30}})\.{DIGITS}{{1,30}}", fullmatch=True)
EXPONENT_TEXT = st.from_regex(
    rf"-?(0|[1-9]{DIGITS}{{0,20}})(\.{DIGITS}{{1,20}})?[eE][+-]?{DIGITS}{{1,5}}", fullmatch=True
)
STRING_TEXT = st.builds(json.dumps, st.text(max_size=20), ensure_ascii=st.booleans())
KEY_TEXT = st.sampled_from(['"a"', '"b"', '"amount"', '""']) | STRING_TEXT
SPACE = st.sampled_from(["", " ", "\n", "\t", "\r\n", "  "])
SCALAR_TEXT = st.one_of(
    INT_TEXT,
    FRACTION_TEXT,
    EXPONENT_TEXT,
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    STRING_TEXT,
    st.sampled_from(["true", "false", "null"]),
)


def _spaced(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda before, item, after: before + item + after, SPACE, text, SPACE)


def _object(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    members = st.lists(st.tuples(_spaced(KEY_TEXT), _spaced(inner)), max_size=5)
    return members.map(lambda pairs: "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}")


def _containers(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    array = st.lists(_spaced(inner), max_size=5).map(lambda items: "[" + ",".join(items) + "]")
    return array | _object(inner)


JSON_TEXT = st.recursive(SCALAR_TEXT, _containers, max_leaves=20)
OBJECT_TEXT = _object(JSON_TEXT)
SNIPPETS = st.sampled_from(
    [
        "NaN",
        "Infinity",
        "-Infinity",
        '"\\ud800"',
        "\\ud800",
        "\ufeff",
        "\x00",
        "\x0c",
        "\x85",
        "\u2028",
        "\r",
        "\t",
        "0",
        "-",
        "+",
        ".",
        "e",
        "E",
        '"',
        "\\",
        "\\u",
        ",",
        ":",
        "[",
        "]",
        "{",
        "}",
        "1" * 4400,
        "\udcff",
    ]
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(OBJECT_TEXT)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 2))
        text = text[:at] + draw(SNIPPETS | st.just("")) + text[at + cut :]
    return text


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # lone surrogates become invalid UTF-8


@settings(max_examples=200, deadline=None)
@given(JSON_TEXT)
def test_generated_documents_decode_alike(text: str) -> None:
    expected = tagged(old_loads(text))
    assert tagged(DECODER.decode(text.encode())) == expected
    assert tagged(DECODER.decode(text)) == expected
    assert tagged(pages._loads(text)) == expected
    assert_body_same(text.encode())


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_documents_answer_as_before(text: str) -> None:
    data = _bytes(text)
    assert_msgspec_sound(data)
    assert_body_same(data)
    assert outcome(parse_json_object, text) == outcome(old_parse_json_object, text)
    assert outcome(pages._loads, text) == outcome(old_loads, text)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=64) | st.builds(lambda a, b: a + b, OBJECT_TEXT.map(_bytes), st.binary()))
def test_arbitrary_bytes_answer_as_before(data: bytes) -> None:
    assert_msgspec_sound(data)
    assert_body_same(data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(OBJECT_TEXT, mutated()), min_size=1, max_size=4),
    st.sampled_from(["\n", "\r\n", "\r", "\n\n"]),
)
def test_generated_page_files_read_as_before(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str], newline: str
) -> None:
    path = tmp_path_factory.mktemp("pages") / "page.jsonl"
    path.write_bytes(_bytes(newline.join(lines)))
    assert_pages_same(path)


# -- recorded platform material ---------------------------------------------------------------


def _recorded_files() -> list[Path]:
    if not RECORDED.is_dir():
        return []
    return sorted(path for path in RECORDED.rglob("*") if path.is_file())


@pytest.mark.parametrize(
    "path", _recorded_files() or [RECORDED], ids=lambda path: str(path.relative_to(RECORDED))
)
def test_recorded_files_decode_alike(path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"reference material absent: {RECORDED}")
    data = path.read_bytes()
    assert_msgspec_sound(data)
    assert_body_same(data)
    assert_pages_same(path)
    if path.suffix != ".jsonl":
        return
    for line in data.splitlines():
        if line.strip():
            assert_msgspec_sound(line)
            assert_body_same(line)
