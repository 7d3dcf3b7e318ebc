"""`sellerhub demo`: the whole path once, on the sandbox emulators.

Starts the emulators and the API on loopback, creates a tenant and three sellers, walks each
seller through the platforms' OAuth code flow (consent page, approve, callback), runs a backfill,
adds some new activity at the platforms, runs an incremental round, and reports.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import httpx

from sellerhub import control
from sellerhub.onboarding import start_authorization
from sellerhub.runtime import SANDBOX_PLATFORMS, Runtime, sandbox_app_credentials
from sellerhub.syncing import SyncReport, sync_connections

DEMO_TENANT = "Demo Lender"
SELLER_NAMES = ("Maple Home Goods", "Sakura Crafts", "Rhein Outdoor")


@dataclass(frozen=True)
class DemoResult:
    tenant_id: str
    backfill: SyncReport
    incremental: SyncReport


async def approve_at_platform(
    http: httpx.AsyncClient, authorize_url: str, account: str, *, decision: str = "approve"
) -> httpx.Response:
    """Play the seller at the emulator's consent page: pick the account, press a button.

    Returns the final response after following the redirect back to our callback.
    """
    page = await http.get(authorize_url)
    page.raise_for_status()
    form_action = _form_action(page.text) or str(page.url)
    fields = dict(_hidden_fields(page.text))
    fields["account"] = account
    fields["decision"] = decision
    response = await http.post(
        httpx.URL(str(page.url)).join(form_action), data=fields, follow_redirects=True
    )
    return response


def _form_action(html: str) -> str | None:
    match = re.search(r"<form[^>]*action=\"([^\"]*)\"", html)
    return match.group(1).replace("&amp;", "&") if match else None


def _hidden_fields(html: str) -> list[tuple[str, str]]:
    fields = []
    for tag in re.findall(r"<input[^>]*type=\"hidden\"[^>]*>", html):
        name = re.search(r"name=\"([^\"]*)\"", tag)
        value = re.search(r"value=\"([^\"]*)\"", tag)
        if name:
            raw = value.group(1) if value else ""
            fields.append((name.group(1), raw.replace("&amp;", "&").replace("&quot;", '"')))
    return fields


async def connect_sellers(
    runtime: Runtime,
    tenant_id: str,
    sellers: int,
    platforms: Sequence[str] = SANDBOX_PLATFORMS,
) -> None:
    sandbox = runtime.sandbox()
    async with httpx.AsyncClient(timeout=30) as http:
        for platform in platforms:
            accounts = await sandbox_accounts(http, sandbox.base_url(platform))
            regions = runtime.facts(platform, "sandbox").regions
            for index in range(sellers):
                seller = control.ensure_seller(
                    runtime.engine, tenant_id, f"seller-{index + 1}", SELLER_NAMES[index % 3]
                )
                account = accounts[index % len(accounts)]
                started = start_authorization(
                    runtime,
                    tenant_id=tenant_id,
                    seller_id=seller.id,
                    platform=platform,
                    environment="sandbox",
                    region=_region(account, regions),
                )
                response = await approve_at_platform(http, started.url, str(account["id"]))
                if response.status_code != 200:
                    raise RuntimeError(
                        f"connecting {seller.name} to {platform} failed: "
                        f"HTTP {response.status_code}"
                    )


async def sandbox_accounts(http: httpx.AsyncClient, base_url: str) -> list[dict[str, str]]:
    reply = await http.get(f"{base_url}/_sandbox/accounts")
    reply.raise_for_status()
    accounts: list[dict[str, str]] = reply.json()["accounts"]
    return accounts


def _region(account: dict[str, str], regions: object) -> str:
    """The emulator's region name in the connector's terms ('' = the platform default)."""
    region = str(account.get("region") or "").lower()
    return region if isinstance(regions, dict | Mapping) and region in regions else ""


async def add_platform_activity(runtime: Runtime, orders_per_account: int = 3) -> None:
    sandbox = runtime.sandbox()
    async with httpx.AsyncClient(timeout=30) as http:
        for platform in SANDBOX_PLATFORMS:
            base = sandbox.base_url(platform)
            for account in await sandbox_accounts(http, base):
                reply = await http.post(
                    f"{base}/_sandbox/activity",
                    json={"account": account["id"], "orders": orders_per_account},
                )
                reply.raise_for_status()


def ensure_demo_tenant(runtime: Runtime) -> str:
    tenant = control.ensure_tenant(runtime.engine, DEMO_TENANT)
    for platform in SANDBOX_PLATFORMS:
        try:
            runtime.app_credentials(tenant.id, platform)
        except LookupError:
            runtime.register_app(tenant.id, platform, sandbox_app_credentials(platform))
    return tenant.id


async def run_demo(
    runtime: Runtime,
    *,
    sellers: int = 3,
    on_page: Callable[[str, str, int], None] | None = None,
) -> DemoResult:
    tenant_id = ensure_demo_tenant(runtime)
    await connect_sellers(runtime, tenant_id, sellers)
    connections = control.list_connections(runtime.engine, statuses=["active"])
    backfill = await sync_connections(runtime, connections, trigger="backfill", on_page=on_page)
    await add_platform_activity(runtime)
    # Each run reads up to the whole second it started in (exclusive); activity dated this very
    # second belongs to the next run. Let the second pass so this round sees all of it.
    await asyncio.sleep(1.1)
    incremental = await sync_connections(runtime, connections, trigger="schedule", on_page=on_page)
    return DemoResult(tenant_id=tenant_id, backfill=backfill, incremental=incremental)
