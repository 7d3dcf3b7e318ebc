"""The HTML consent page both OAuth emulators render (stable ids for browser tests)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from string import Template
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


@cache
def _template() -> Template:
    text = resources.files("sandbox.common").joinpath("templates/consent.html").read_text("utf-8")
    return Template(text)


def render_consent(
    *,
    platform: str,
    app_label: str,
    action: str,
    accounts: Sequence[tuple[str, str]],
    selected: str | None,
    reads: Sequence[str],
    hidden: Mapping[str, str],
) -> str:
    """``accounts`` are (id, label) pairs for the ``#account`` select."""
    e = html.escape
    options = "\n   ".join(
        f'<option value="{e(acc)}"{" selected" if acc == selected else ""}>{e(label)}</option>'
        for acc, label in accounts
    )
    hidden_inputs = "\n  ".join(
        f'<input type="hidden" name="{e(k)}" value="{e(v)}">' for k, v in hidden.items()
    )
    return _template().substitute(
        title=e(f"{platform} - authorize {app_label}"),
        platform=e(platform),
        app_label=e(app_label),
        action=e(action),
        hidden=hidden_inputs,
        options=options,
        reads="\n   ".join(f"<li>{e(item)}</li>" for item in reads),
    )


def render_error(platform: str, code: str, message: str) -> str:
    e = html.escape
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{e(platform)} error"
        f"</title></head><body><h1>{e(platform)}</h1><p id='error-code'>{e(code)}</p>"
        f"<p id='error-message'>{e(message)}</p></body></html>"
    )


def with_query(url: str, params: Mapping[str, str]) -> str:
    """Add ``params`` to ``url`` keeping any query it already has."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))
