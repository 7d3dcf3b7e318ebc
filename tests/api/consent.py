"""Playing the seller in API tests: start an authorization, answer the emulator's consent page,
and take the callback URL the platform redirects to (without following it, so a test can
replay, tamper with or re-route it)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from sqlalchemy import func, select
from sqlmodel import Session

from sellerhub import control
from sellerhub.demo import ensure_demo_tenant
from sellerhub.onboarding import start_authorization
from sellerhub.runtime import Runtime
from vault.tokens import CONNECTION_KIND
from warehouse.tables import Connection, SyncEvent, table_of


@dataclass(frozen=True)
class Seller:
    tenant_id: str
    seller_id: str


@dataclass(frozen=True)
class Snapshot:
    """What a callback could have stored: connections, token secrets, connection events."""

    connections: frozenset[str]
    tokens: frozenset[str]
    events: int


def new_seller(runtime: Runtime) -> Seller:
    tenant_id = ensure_demo_tenant(runtime)
    seller = control.ensure_seller(
        runtime.engine, tenant_id, f"api-test-{secrets.token_hex(4)}", "Callback Test Seller"
    )
    return Seller(tenant_id, seller.id)


def snapshot(runtime: Runtime) -> Snapshot:
    with Session(runtime.engine) as session:
        connections = frozenset(session.execute(select(table_of(Connection).c.id)).scalars().all())
        events = session.execute(select(func.count()).select_from(table_of(SyncEvent))).scalar_one()
    tokens = frozenset(ref.owner_id for ref in runtime.vault.refs(CONNECTION_KIND))
    return Snapshot(connections, tokens, int(events))


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.hidden: dict[str, str] = {}
        self.accounts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form" and self.action is None:
            self.action = values.get("action", "")
        elif tag == "input" and values.get("type") == "hidden" and "name" in values:
            self.hidden[values["name"]] = values.get("value", "")
        elif tag == "option" and "value" in values:
            self.accounts.append(values["value"])


async def sandbox_accounts(http: httpx.AsyncClient, runtime: Runtime, platform: str) -> list[Any]:
    reply = await http.get(f"{runtime.sandbox().base_url(platform)}/_sandbox/accounts")
    reply.raise_for_status()
    accounts: list[Any] = reply.json()["accounts"]
    return accounts


async def consent(
    http: httpx.AsyncClient, authorize_url: str, *, decision: str = "approve", account: str = ""
) -> str:
    """Answer the consent page; return the URL the platform redirects the seller to."""
    page = await http.get(authorize_url)
    assert page.status_code == 200, page.text
    form = _FormReader()
    form.feed(page.text)
    assert form.action is not None, "the consent page has no form"
    fields = {**form.hidden, "decision": decision, "account": account or form.accounts[0]}
    answer = await http.post(page.url.join(form.action), data=fields)
    assert answer.status_code in (302, 303), answer.text
    return answer.headers["location"]


async def started_callback(
    http: httpx.AsyncClient,
    runtime: Runtime,
    seller: Seller,
    platform: str,
    *,
    decision: str = "approve",
    account: str = "",
) -> tuple[str, str]:
    """(state, callback URL) for a fresh authorization the seller answered at the platform."""
    started = start_authorization(
        runtime,
        tenant_id=seller.tenant_id,
        seller_id=seller.seller_id,
        platform=platform,
        environment="sandbox",
    )
    return started.state, await consent(http, started.url, decision=decision, account=account)


def with_params(url: str, *, drop: tuple[str, ...] = (), **changes: str) -> str:
    """``url`` with query parameters removed or replaced."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in drop]
    query = [(k, changes.get(k, v)) for k, v in query]
    query += [(k, v) for k, v in changes.items() if k not in dict(query)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def on_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))
