"""Connect links are signed, expiring and bound to one tenant's seller; the consent catalog
covers every stream a connector syncs."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.registry import connector_names, get_connector
from sellerhub import connect, control
from sellerhub.connect_catalog import CONSENT_DESCRIPTION
from sellerhub.runtime import Runtime, sandbox_app_credentials
from sellerhub.settings import Settings

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime(
        Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'w.db'}")
    )
    runtime.api_base_url = "https://hub.example"
    yield runtime
    runtime.close()


def tenant_with_seller(runtime: Runtime, name: str) -> tuple[str, str]:
    tenant = control.ensure_tenant(runtime.engine, name)
    for platform in ("amazon", "stripe"):
        connect.register_app(runtime, tenant.id, platform, sandbox_app_credentials(platform))
    seller = connect.create_seller(runtime.engine, tenant.id, "ref-1", "Seller")
    return tenant.id, seller.id


def test_a_link_names_its_tenant_seller_and_expiry(runtime: Runtime) -> None:
    tenant_id, seller_id = tenant_with_seller(runtime, "A")

    issued = connect.issue_link(
        runtime, tenant_id, seller_id, lifetime=timedelta(days=2), platforms=("stripe",), now=NOW
    )

    assert issued.url == f"https://hub.example/connect/{issued.token}"
    claims = connect.read_link(runtime, issued.token, now=NOW + timedelta(days=1))
    assert claims == connect.LinkClaims(tenant_id, seller_id, NOW + timedelta(days=2), ("stripe",))
    assert issued.token not in repr(issued)
    with pytest.raises(connect.InvalidConnectLink) as expired:
        connect.read_link(runtime, issued.token, now=NOW + timedelta(days=2))
    assert expired.value.reason == "expired"


def test_altered_or_foreign_links_are_refused(runtime: Runtime, tmp_path: Path) -> None:
    tenant_id, seller_id = tenant_with_seller(runtime, "A")
    token = connect.issue_link(runtime, tenant_id, seller_id, now=NOW).token
    body, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["s"] = "sel_someone_else"
    forged_body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    other = Runtime(
        Settings(home=tmp_path / "other", database_url=f"sqlite:///{tmp_path / 'o.db'}")
    )
    try:
        foreign = tenant_with_seller(other, "A")
        other.api_base_url = "https://other.example"
        foreign_token = connect.issue_link(other, *foreign, now=NOW).token
    finally:
        other.close()

    for bad in (
        f"{forged_body}.{signature}",
        f"{body}.{signature[:-1]}A" if signature[-1] != "A" else f"{body}.{signature[:-1]}B",
        body,
        "",
        "a.b",
        token + "x",
        foreign_token,  # signed by another hub's key
    ):
        with pytest.raises(connect.InvalidConnectLink):
            connect.read_link(runtime, bad, now=NOW)


def test_links_only_for_the_tenants_own_sellers(runtime: Runtime) -> None:
    tenant_a, _ = tenant_with_seller(runtime, "A")
    _, seller_b = tenant_with_seller(runtime, "B")

    with pytest.raises(connect.NotFound):
        connect.issue_link(runtime, tenant_a, seller_b)


def test_link_lifetime_and_platforms_are_checked(runtime: Runtime) -> None:
    tenant_id, seller_id = tenant_with_seller(runtime, "A")

    for lifetime in (timedelta(minutes=1), timedelta(days=31)):
        with pytest.raises(ValueError):
            connect.issue_link(runtime, tenant_id, seller_id, lifetime=lifetime)
    with pytest.raises(ValueError, match="ebay"):
        connect.issue_link(runtime, tenant_id, seller_id, platforms=("ebay",))


def test_the_signing_key_is_kept_in_the_vault(runtime: Runtime) -> None:
    tenant_id, seller_id = tenant_with_seller(runtime, "A")
    token = connect.issue_link(runtime, tenant_id, seller_id, now=NOW).token

    assert connect.SIGNING_KEY_REF in runtime.vault.refs()
    # a new process on the same warehouse reads links issued earlier
    again = Runtime(runtime.settings)
    try:
        assert connect.read_link(again, token, now=NOW).seller_id == seller_id
    finally:
        again.close()


@pytest.mark.parametrize("platform", connector_names())
def test_the_consent_page_declares_every_stream_the_connector_reads(platform: str) -> None:
    consent = CONSENT_DESCRIPTION.get(platform)
    assert consent is not None, f"{platform} has no consent description"
    streams = {stream.name for stream in get_connector(platform).streams}
    assert consent.streams == streams
    assert all(item.what and item.why for item in consent.reads)
    # the page offers exactly the connector's consent sites (none where there is one page)
    assert consent.sites == set(get_connector(platform).facts.oauth.consent_sites)
