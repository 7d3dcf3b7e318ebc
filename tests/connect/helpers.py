"""Playing the lender (API keys, sellers, links) and the seller (connect page, the platform's
consent page) over real HTTP, and snapshots of everything a callback could store."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlmodel import Session

from sellerhub import connect, control
from sellerhub.apikeys import issue_key
from sellerhub.runtime import Runtime, sandbox_app_credentials
from vault.tokens import CONNECTION_KIND
from warehouse.connect_tables import ConsentEvent
from warehouse.tables import Connection, OAuthState, table_of


@dataclass(frozen=True)
class Lender:
    tenant_id: str
    key: str  # read + connect
    admin_key: str
    read_key: str

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}"}


def new_lender(runtime: Runtime, platforms: tuple[str, ...] = ("amazon", "stripe")) -> Lender:
    tenant = control.ensure_tenant(runtime.engine, f"Lender {secrets.token_hex(4)}")
    for platform in platforms:
        connect.register_app(
            runtime,
            tenant.id,
            platform,
            sandbox_app_credentials(platform),
            environment="sandbox",
        )
    engine = runtime.engine
    return Lender(
        tenant.id,
        issue_key(engine, tenant.id, frozenset({"read", "connect"})).plaintext,
        issue_key(engine, tenant.id, frozenset({"admin"})).plaintext,
        issue_key(engine, tenant.id, frozenset({"read"})).plaintext,
    )


def new_seller(runtime: Runtime, lender: Lender, name: str = "Test Seller") -> str:
    return connect.create_seller(
        runtime.engine, lender.tenant_id, f"ref-{secrets.token_hex(4)}", name
    ).id


def link(runtime: Runtime, lender: Lender, seller_id: str) -> str:
    return connect.issue_link(runtime, lender.tenant_id, seller_id).url


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[str] = field(default_factory=list)


class PageReader(HTMLParser):
    """Forms (action, method, hidden/select values, button ids) and elements by id."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.ids: dict[str, dict[str, str]] = {}
        self.items: list[dict[str, str]] = []  # <li> with data-platform
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if "id" in values:
            self.ids[values["id"]] = {"tag": tag, **values}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get")))
        elif tag == "li" and "data-platform" in values:
            self.items.append(values)
        elif self.forms and tag == "input" and values.get("type") == "hidden":
            self.forms[-1].fields[values["name"]] = values.get("value", "")
        elif self.forms and tag == "select":
            self._select = values.get("name")
        elif self.forms and tag == "option" and self._select:
            self.forms[-1].fields.setdefault(self._select, values.get("value", ""))
        elif self.forms and tag == "button" and "id" in values:
            self.forms[-1].buttons.append(values["id"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None

    def form_with(self, button_id: str) -> Form:
        for form in self.forms:
            if button_id in form.buttons:
                return form
        raise AssertionError(f"no form with button #{button_id}")


def read_page(response: httpx.Response) -> PageReader:
    reader = PageReader()
    reader.feed(response.text)
    return reader


async def press(
    http: httpx.AsyncClient, page: httpx.Response, button_id: str, **fields: str
) -> httpx.Response:
    """Submit the form of ``#button_id`` as a browser would (without following redirects)."""
    form = read_page(page).form_with(button_id)
    url = page.url.join(form.action)
    data = {**form.fields, **fields}
    if form.method.lower() == "post":
        return await http.post(url, data=data)
    return await http.get(url, params=data)


async def sandbox_accounts(runtime: Runtime, platform: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=30) as http:
        reply = await http.get(f"{runtime.sandbox().base_url(platform)}/_sandbox/accounts")
    reply.raise_for_status()
    accounts: list[dict[str, Any]] = reply.json()["accounts"]
    return accounts


async def answer_consent(
    http: httpx.AsyncClient, authorize_url: str, account: str, decision: str = "approve"
) -> str:
    """At the platform's consent page: pick the account, press a button; return the callback
    URL the platform redirects to."""
    page = await http.get(authorize_url)
    assert page.status_code == 200, page.text
    form = read_page(page).forms[0]
    answer = await http.post(
        page.url.join(form.action), data={**form.fields, "account": account, "decision": decision}
    )
    assert answer.status_code in (302, 303), answer.text
    return answer.headers["location"]


async def start_at(
    http: httpx.AsyncClient, link_url: str, platform: str, **fields: str
) -> httpx.Response:
    page = await http.get(link_url)
    assert page.status_code == 200, page.text
    return await press(http, page, f"connect-{platform}", **fields)


async def connect_account(
    http: httpx.AsyncClient,
    runtime: Runtime,
    link_url: str,
    platform: str,
    account: str,
    decision: str = "approve",
) -> str:
    """Start at the connect page, answer the platform; return the callback URL (not opened)."""
    started = await start_at(http, link_url, platform)
    assert started.status_code == 303, started.text
    authorize = started.headers["location"]
    assert authorize.startswith(runtime.sandbox().base_url(platform))
    return await answer_consent(http, authorize, account, decision)


@dataclass(frozen=True)
class Snapshot:
    connections: frozenset[tuple[str, str]]  # (id, status)
    tokens: frozenset[str]
    consent_events: int
    used_states: int


def snapshot(runtime: Runtime) -> Snapshot:
    with Session(runtime.engine) as session:
        connections = table_of(Connection)
        rows = session.execute(select(connections.c.id, connections.c.status)).all()
        events = session.execute(
            select(func.count()).select_from(table_of(ConsentEvent))
        ).scalar_one()
        states = table_of(OAuthState)
        used = session.execute(
            select(func.count()).select_from(states).where(states.c.used_at.is_not(None))
        ).scalar_one()
    tokens = frozenset(ref.owner_id for ref in runtime.vault.refs(CONNECTION_KIND))
    return Snapshot(frozenset((r.id, r.status) for r in rows), tokens, int(events), int(used))
