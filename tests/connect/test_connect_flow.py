"""The seller's side over real HTTP: connect page, start, the platform's consent page, the
callback back to the page; and every way a callback is refused without storing anything."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from sqlmodel import Session, col, select

from sellerhub import connect, control
from sellerhub.connect_catalog import CONSENT_DESCRIPTION
from sellerhub.onboarding import start_authorization
from sellerhub.runtime import Runtime, sandbox_app_credentials
from warehouse.connect_tables import ConsentEvent
from warehouse.tables import OAuthState, SyncEvent, SyncRun, utcnow

from .helpers import (
    answer_consent,
    connect_account,
    link,
    new_lender,
    new_seller,
    read_page,
    sandbox_accounts,
    snapshot,
    start_at,
)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


def result_of(page: httpx.Response) -> tuple[str, bool]:
    match = re.search(r'<h1 id="result" data-ok="(true|false)">([^<]*)</h1>', page.text)
    assert match, f"not a result page: {page.text[:300]}"
    return match.group(2), match.group(1) == "true"


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def events_of(runtime: Runtime, tenant_id: str) -> list[ConsentEvent]:
    with Session(runtime.engine) as session:
        return list(
            session.exec(
                select(ConsentEvent)
                .where(ConsentEvent.tenant_id == tenant_id)
                .order_by(col(ConsentEvent.id))
            )
        )


async def test_page_lists_each_platform_with_what_it_reads_and_why(
    hub: Runtime, http: httpx.AsyncClient
) -> None:
    lender = new_lender(hub)
    seller_id = new_seller(hub, lender, "Maple & Co <Home>")

    page = await http.get(link(hub, lender, seller_id))

    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "same-origin"
    reader = read_page(page)
    assert "connect-amazon" in reader.ids and "connect-stripe" in reader.ids
    assert "none-connected" in reader.ids and reader.items == []
    # the seller's name is shown escaped, never as markup
    assert "Maple &amp; Co &lt;Home&gt;" in page.text
    for consent in CONSENT_DESCRIPTION.values():
        for item in consent.reads:
            assert item.what.replace("'", "&#x27;") in page.text
            assert item.why.replace("'", "&#x27;") in page.text
    # Amazon asks where the seller sells (the Seller Central they sign in to, and the region)
    assert reader.ids["site-amazon"]["tag"] == "select"


async def test_page_offers_only_platforms_the_tenant_has_an_app_for(
    hub: Runtime, http: httpx.AsyncClient
) -> None:
    lender = new_lender(hub, platforms=("stripe",))
    seller_id = new_seller(hub, lender)

    reader = read_page(await http.get(link(hub, lender, seller_id)))

    assert "connect-stripe" in reader.ids
    assert "connect-amazon" not in reader.ids


@pytest.mark.backfill
@pytest.mark.parametrize("platform", ["stripe", "amazon"])
async def test_approving_returns_to_the_page_showing_the_connection(
    hub: Runtime, http: httpx.AsyncClient, platform: str
) -> None:
    lender = new_lender(hub)
    seller_id = new_seller(hub, lender)
    url = link(hub, lender, seller_id)
    account = str((await sandbox_accounts(hub, platform))[0]["id"])

    callback = await connect_account(http, hub, url, platform, account)
    assert callback.startswith(f"{hub.api_base_url}/oauth/callback/{platform}?")
    back = await http.get(callback)

    assert back.status_code == 303
    assert back.headers["location"] == f"{urlsplit(url).path}?connected={platform}"
    page = await http.get(httpx.URL(url).join(back.headers["location"]))
    reader = read_page(page)
    assert [(i["data-platform"], i["data-status"]) for i in reader.items] == [(platform, "active")]
    assert account in page.text
    assert reader.ids["flash"]["role"] == "status"
    # tokens in the vault, connection row, consent audit, backfill queued
    (connection,) = control.list_connections(hub.engine, seller_id=seller_id)
    assert (connection.platform, connection.platform_account_id) == (platform, account)
    assert connection.environment == "sandbox"
    token = await hub.token_store(connection.id).load()
    assert token is not None and token["account_id"] == account
    (event,) = events_of(hub, lender.tenant_id)
    assert (event.action, event.platform, event.connection_id) == (
        "granted",
        platform,
        connection.id,
    )
    assert (event.actor_type, event.actor_id) == ("seller", seller_id)
    assert event.data == CONSENT_DESCRIPTION[platform].data_keys
    if platform == "stripe":
        assert event.scopes == "read_only"
    kinds = await wait_for_backfill(hub, connection.id)
    assert kinds[0] == "backfill_queued" and kinds[-1] == "backfill_finished", kinds
    with Session(hub.engine) as session:
        runs = session.exec(select(SyncRun).where(SyncRun.connection_id == connection.id)).all()
    assert runs and {run.trigger for run in runs} == {"backfill"}
    assert all(run.status == "succeeded" for run in runs)


async def wait_for_backfill(runtime: Runtime, connection_id: str) -> list[str]:
    deadline = time.monotonic() + 60
    while True:
        with Session(runtime.engine) as session:
            kinds = [
                e.kind
                for e in session.exec(
                    select(SyncEvent)
                    .where(SyncEvent.connection_id == connection_id)
                    .where(col(SyncEvent.kind).startswith("backfill"))
                    .order_by(col(SyncEvent.id))
                )
            ]
        if kinds and kinds[-1] in ("backfill_finished", "backfill_failed"):
            return kinds
        assert time.monotonic() < deadline, f"backfill did not finish: {kinds}"
        await asyncio.sleep(0.1)


async def test_denying_shows_what_happened_with_a_way_back_and_audits_it(
    hub: Runtime, http: httpx.AsyncClient
) -> None:
    lender = new_lender(hub)
    seller_id = new_seller(hub, lender)
    url = link(hub, lender, seller_id)
    account = str((await sandbox_accounts(hub, "stripe"))[0]["id"])
    callback = await connect_account(http, hub, url, "stripe", account, decision="deny")
    before = snapshot(hub)

    page = await http.get(callback)

    assert page.status_code == 400
    assert result_of(page) == ("Access not granted", False)
    assert read_page(page).ids["back"]["href"] == urlsplit(url).path
    after = snapshot(hub)
    assert after.connections == before.connections and after.tokens == before.tokens
    (event,) = events_of(hub, lender.tenant_id)
    assert (event.action, event.platform, event.actor_id, event.connection_id) == (
        "denied",
        "stripe",
        seller_id,
        None,
    )


async def test_replayed_callback_is_refused_and_stores_nothing_more(
    hub: Runtime, http: httpx.AsyncClient
) -> None:
    lender = new_lender(hub)
    seller_id = new_seller(hub, lender)
    account = str((await sandbox_accounts(hub, "stripe"))[1]["id"])
    callback = await connect_account(http, hub, link(hub, lender, seller_id), "stripe", account)
    assert (await http.get(callback)).status_code == 303
    before = snapshot(hub)

    replay = await http.get(callback)

    assert replay.status_code == 400
    assert result_of(replay) == ("Link already used", False)
    assert "back" not in read_page(replay).ids  # a replayed URL does not lead to the page
    assert snapshot(hub) == before


async def test_forged_state_is_refused_and_stores_nothing(
    hub: Runtime, http: httpx.AsyncClient
) -> None:
    lender = new_lender(hub)
    seller_id = new_seller(hub, lender)
    account = str((await sandbox_accounts(hub, "stripe"))[0]["id"])
    callback = await connect_account(http, hub, link(hub, lender, seller_id), "stripe", account)
    before = snapshot(hub)

    for forged in (secrets.token_urlsafe(32), "x" * 300, "'; DROP TABLE connections; --"):
        page = await http.get(with_query(callback, state=forged))
        assert page.status_code == 400
        assert result_of(page)[1] is False
    assert snapshot(hub) == before
    # the genuine callback still works afterwards: the forged ones consumed nothing
    assert (await http.get(callback)).status_code == 303


@pytest.mark.parametrize("parameter", ["next", "redirect_uri", "return_to"])
async def test_open_redirect_attempts_are_refused_and_store_nothing(
    hub: Runtime, http: httpx.AsyncClient, parameter: str
) -> None:
    lender = new_lender(hub)
    seller_id = new_seller(hub, lender)
    url = link(hub, lender, seller_id)
    evil = "https://evil.example/phish"
    account = str((await sandbox_accounts(hub, "stripe"))[0]["id"])
    callback = await connect_account(http, hub, url, "stripe", account)
    before = snapshot(hub)
    with Session(hub.engine) as session:
        states_before = len(session.exec(select(OAuthState)).all())

    responses = [
        await http.get(with_query(callback, **{parameter: evil})),
        await http.get(with_query(url, **{parameter: evil})),
        await http.post(with_query(f"{url}/start/stripe", **{parameter: evil})),
        await http.post(f"{url}/start/stripe", data={parameter: evil}),
    ]

    for response in responses:
        assert response.status_code == 400, response.text
        assert "location" not in response.headers
        assert evil not in response.text
        assert result_of(response) == ("Link altered", False)
    assert snapshot(hub) == before
    with Session(hub.engine) as session:
        assert len(session.exec(select(OAuthState)).all()) == states_before
    # the redirect URI sent to the platform is exactly the registered one
    started = await start_at(http, url, "stripe")
    sent = dict(httpx.URL(started.headers["location"]).params)["redirect_uri"]
    assert sent == f"{hub.api_base_url}/oauth/callback/stripe"


async def test_callback_for_another_tenants_seller_is_refused_and_stores_nothing(
    hub: Runtime,
) -> None:
    """Seller B (of tenant B) starts and approves; the callback URL then arrives in seller A's
    browser (a forwarded link, a login-CSRF attempt). It must not connect anything."""
    lender_a, lender_b = new_lender(hub), new_lender(hub)
    seller_a, seller_b = new_seller(hub, lender_a), new_seller(hub, lender_b)
    account = str((await sandbox_accounts(hub, "stripe"))[0]["id"])
    async with (
        httpx.AsyncClient(timeout=30) as browser_a,
        httpx.AsyncClient(timeout=30) as browser_b,
    ):
        await browser_a.get(link(hub, lender_a, seller_a))
        await start_at(browser_a, link(hub, lender_a, seller_a), "stripe")  # A has a cookie too
        callback_b = await connect_account(
            browser_b, hub, link(hub, lender_b, seller_b), "stripe", account
        )
        state_b = dict(httpx.URL(callback_b).params)["state"]
        before = snapshot(hub)

        page = await browser_a.get(callback_b)
        bare = await httpx.AsyncClient(timeout=30).get(callback_b)  # no cookie at all

        for response in (page, bare):
            assert response.status_code == 400
            assert result_of(response) == ("Wrong browser", False)
        assert snapshot(hub) == before
        assert control.list_connections(hub.engine, tenant_id=lender_a.tenant_id) == []
        with Session(hub.engine) as session:
            pending = session.get(OAuthState, state_b)
            assert pending is not None and pending.used_at is None
        # in B's own browser it completes, for B's seller only
        assert (await browser_b.get(callback_b)).status_code == 303
    (connection,) = control.list_connections(hub.engine, tenant_id=lender_b.tenant_id)
    assert connection.seller_id == seller_b


async def test_expired_or_tampered_links_show_a_page_and_offer_nothing(
    hub: Runtime, http: httpx.AsyncClient
) -> None:
    lender = new_lender(hub)
    seller_id = new_seller(hub, lender)
    expired = connect.issue_link(
        hub,
        lender.tenant_id,
        seller_id,
        lifetime=timedelta(minutes=5),
        now=utcnow() - timedelta(minutes=6),
    )
    good = link(hub, lender, seller_id)
    body, signature = good.rsplit("/", 1)[1].split(".")
    tampered = f"{hub.api_base_url}/connect/{body[:-2]}AA.{signature}"

    gone = await http.get(expired.url)
    bad = await http.get(tampered)
    started = await http.post(f"{expired.url}/start/stripe")

    assert (gone.status_code, result_of(gone)) == (410, ("Link expired", False))
    assert (bad.status_code, result_of(bad)) == (404, ("Link not valid", False))
    assert started.status_code == 410 and "location" not in started.headers
    assert "connect-stripe" not in gone.text + bad.text


@pytest.mark.parametrize("origin", ["https://evil.example", "null"])
async def test_a_form_post_from_another_site_is_refused(
    hub: Runtime, http: httpx.AsyncClient, origin: str
) -> None:
    lender = new_lender(hub)
    url = link(hub, lender, new_seller(hub, lender))
    before = snapshot(hub)

    response = await http.post(f"{url}/start/stripe", headers={"Origin": origin})
    ours = await http.post(f"{url}/start/stripe", headers={"Origin": str(hub.api_base_url)})

    assert response.status_code == 403 and "location" not in response.headers
    assert ours.status_code == 303
    assert snapshot(hub) == before  # starting stores a pending state only


async def test_seller_disconnects_on_the_page_after_confirming(
    hub: Runtime, http: httpx.AsyncClient
) -> None:
    lender = new_lender(hub)
    seller_id = new_seller(hub, lender)
    url = link(hub, lender, seller_id)
    account = str((await sandbox_accounts(hub, "amazon"))[0]["id"])
    await http.get(await connect_account(http, hub, url, "amazon", account))
    (connection,) = control.list_connections(hub.engine, seller_id=seller_id)
    page = await http.get(url)

    confirm = await http.get(
        httpx.URL(url).join(read_page(page).form_with(f"disconnect-{connection.id}").action)
    )
    assert confirm.status_code == 200
    # Amazon has no revocation endpoint: the page says how to remove the app there
    assert "Seller Central" in confirm.text and "remove the app" in confirm.text
    assert await hub.token_store(connection.id).load() is not None  # nothing happened yet
    done = await http.post(
        httpx.URL(url).join(read_page(confirm).form_with("confirm-disconnect").action)
    )

    assert done.status_code == 303
    assert done.headers["location"] == f"{urlsplit(url).path}?disconnected=amazon"
    after = read_page(await http.get(httpx.URL(url).join(done.headers["location"])))
    assert after.items == [] and "connect-amazon" in after.ids
    (connection,) = control.list_connections(hub.engine, seller_id=seller_id)
    assert connection.status == "disconnected"
    assert await hub.token_store(connection.id).load() is None
    withdrawn = [e for e in events_of(hub, lender.tenant_id) if e.action == "withdrawn"]
    assert [(e.actor_type, e.actor_id, e.connection_id) for e in withdrawn] == [
        ("seller", seller_id, connection.id)
    ]
    assert "not_supported" in withdrawn[0].detail


async def test_a_seller_cannot_disconnect_another_sellers_connection(
    hub: Runtime, http: httpx.AsyncClient
) -> None:
    lender = new_lender(hub)
    owner, other = new_seller(hub, lender), new_seller(hub, lender)
    account = str((await sandbox_accounts(hub, "stripe"))[2]["id"])
    await http.get(await connect_account(http, hub, link(hub, lender, owner), "stripe", account))
    (connection,) = control.list_connections(hub.engine, seller_id=owner)
    other_url = link(hub, lender, other)

    confirm = await http.get(f"{other_url}/disconnect/{connection.id}")
    post = await http.post(f"{other_url}/disconnect/{connection.id}")

    assert confirm.status_code == 404 and post.status_code == 404
    (connection,) = control.list_connections(hub.engine, seller_id=owner)
    assert connection.status == "active"
    assert await hub.token_store(connection.id).load() is not None


async def test_a_draft_amazon_app_is_sent_with_version_beta_and_its_app_id(
    hub: Runtime, http: httpx.AsyncClient
) -> None:
    """Amazon refuses a draft app's consent URL without version=beta (MD1000) and takes the
    SP-API app id there (https://developer-docs.amazon.com/sp-api/docs/authorization-errors)."""
    base = hub.sandbox().base_url("amazon")
    draft = new_lender(hub, platforms=("stripe",))
    app_id = f"amzn1.sp.solution.{secrets.token_hex(8)}"
    connect.register_app(
        hub,
        draft.tenant_id,
        "amazon",
        sandbox_app_credentials("amazon"),
        environment="sandbox",
        draft_app=True,
        app_id=app_id,
    )
    published = new_lender(hub)
    account = str((await sandbox_accounts(hub, "amazon"))[0]["id"])
    (await http.post(f"{base}/_sandbox/config", json={"draft_app": True})).raise_for_status()
    try:
        started = await start_at(http, link(hub, draft, new_seller(hub, draft)), "amazon")
        refused = await start_at(http, link(hub, published, new_seller(hub, published)), "amazon")
        authorize = httpx.URL(started.headers["location"])
        assert authorize.params["version"] == "beta"
        assert authorize.params["application_id"] == app_id
        callback = await answer_consent(http, str(authorize), account)
        assert (await http.get(callback)).status_code == 303
        page = await http.get(refused.headers["location"])
        assert page.status_code == 400 and "MD1000" in page.text
    finally:
        await http.post(f"{base}/_sandbox/config", json={"draft_app": False})


async def test_where_the_seller_sells_picks_the_consent_page_and_the_api_region(
    hub: Runtime, http: httpx.AsyncClient
) -> None:
    lender = new_lender(hub)
    url = link(hub, lender, new_seller(hub, lender))
    base = hub.sandbox().base_url("amazon")

    started = await start_at(http, url, "amazon", site="europe")

    assert started.status_code == 303
    authorize = httpx.URL(started.headers["location"])
    # the sandbox serves every Seller Central; the path is the consent page's
    assert str(authorize).startswith(f"{base}/apps/authorize/consent?")
    with Session(hub.engine) as session:
        pending = session.get(OAuthState, authorize.params["state"])
    assert pending is not None and pending.region == "eu"

    unknown = await start_at(http, url, "amazon", site="atlantis")
    assert unknown.status_code == 400
    assert "unknown place to sell" in unknown.text and "atlantis" in unknown.text
    old_form = await http.post(f"{url}/start/amazon", data={"region": "eu"})
    assert old_form.status_code == 400 and result_of(old_form) == ("Link altered", False)


def test_a_consent_site_in_another_region_than_the_one_asked_is_refused(hub: Runtime) -> None:
    lender = new_lender(hub)
    with pytest.raises(ValueError, match="consent site 'jp' is in region 'fe'"):
        start_authorization(
            hub,
            tenant_id=lender.tenant_id,
            seller_id=new_seller(hub, lender),
            platform="amazon",
            environment="sandbox",
            region="na",
            site="jp",
        )
