"""A seller in a real browser: Debian's chromium driven by Playwright (never a downloaded
browser), headless, against the hub and the Amazon and Stripe emulators on loopback.

Skipped with a message when /usr/bin/chromium or playwright is missing, except under CI=true,
where that is a failure (``.ci/run`` installs chromium). Screenshots go to
``test-output/browser/<test>/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from sellerhub import control
from sellerhub.runtime import Runtime
from tests.connect.helpers import link, new_lender, new_seller, sandbox_accounts
from tests.integration.harness import running_hub

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"
TIMEOUT_MS = 90_000  # a hang guard only (a loaded CI machine), never a speed check


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must run the browser test (.ci/run installs chromium)")
    pytest.skip(f"{reason}; browser test skipped (apt-get install -y chromium)")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    home = tmp_path_factory.mktemp("browser-hub")
    with running_hub(home, f"sqlite:///{home / 'warehouse.db'}") as runtime:
        yield runtime


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    folder = OUTPUT / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is absent")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        _unavailable("playwright is not installed")
    return CHROMIUM


@pytest.fixture
async def page(chromium: Path, shots: Path, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        context = await browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        tab = await context.new_page()
        try:
            yield tab
            report = getattr(request.node, "report_call", None)
            if report is not None and report.failed:  # what the seller saw at the failure
                await tab.screenshot(path=str(shots / "failure.png"), full_page=True)
                (shots / "failure.html").write_text(await tab.content(), encoding="utf-8")
        finally:
            await context.close()
            await browser.close()


async def approve_at(page: Any, platform_base: str, account: str, shot: Path) -> None:
    """At the emulator's consent page: pick the account and approve."""
    await page.wait_for_url(f"{platform_base}/**")
    await page.select_option("#account", account)
    await page.screenshot(path=str(shot), full_page=True)
    await page.click("#approve")


async def connected_platforms(page: Any) -> list[tuple[str, str]]:
    items = await page.query_selector_all("#connected li")
    return [
        (await item.get_attribute("data-platform"), await item.get_attribute("data-status"))
        for item in items
    ]


async def test_seller_connects_amazon_and_stripe_and_sees_both(
    hub: Runtime, page: Any, shots: Path
) -> None:
    lender = new_lender(hub)
    seller_id = new_seller(hub, lender, "Maple Home Goods")
    url = link(hub, lender, seller_id)
    # a Japanese seller: signs in at Seller Central Japan, data read from the Far East region
    amazon = next(a for a in await sandbox_accounts(hub, "amazon") if a["region"] == "FE")
    stripe = (await sandbox_accounts(hub, "stripe"))[0]

    await page.goto(url)
    assert await page.text_content("#seller-name") == "Maple Home Goods"
    assert await page.is_visible("#none-connected")
    await page.screenshot(path=str(shots / "01-connect-page.png"), full_page=True)

    await page.select_option("#site-amazon", "jp")
    await page.click("#connect-amazon")
    await approve_at(
        page, hub.sandbox().base_url("amazon"), amazon["id"], shots / "02-amazon-consent.png"
    )
    await page.wait_for_url(f"{url}?connected=amazon")
    assert await connected_platforms(page) == [("amazon", "active")]
    (connected,) = control.list_connections(hub.engine, seller_id=seller_id)
    assert (connected.platform_account_id, connected.region) == (amazon["id"], "fe")
    assert "is connected" in (await page.text_content("#flash") or "")
    await page.screenshot(path=str(shots / "03-amazon-connected.png"), full_page=True)

    await page.click("#connect-stripe")
    await approve_at(
        page, hub.sandbox().base_url("stripe"), stripe["id"], shots / "04-stripe-consent.png"
    )
    await page.wait_for_url(f"{url}?connected=stripe")

    assert sorted(await connected_platforms(page)) == [("amazon", "active"), ("stripe", "active")]
    body = await page.text_content("body") or ""
    assert amazon["id"] in body and stripe["id"] in body
    await page.screenshot(path=str(shots / "05-both-connected.png"), full_page=True)
    connections = control.list_connections(hub.engine, seller_id=seller_id)
    assert sorted((c.platform, c.platform_account_id, c.status) for c in connections) == [
        ("amazon", amazon["id"], "active"),
        ("stripe", stripe["id"], "active"),
    ]

    # and the seller can withdraw one of them again, after confirming
    (stripe_connection,) = [c for c in connections if c.platform == "stripe"]
    await page.click(f"#disconnect-{stripe_connection.id}")
    await page.screenshot(path=str(shots / "06-confirm-disconnect.png"), full_page=True)
    await page.click("#confirm-disconnect")
    await page.wait_for_url(f"{url}?disconnected=stripe")
    assert await connected_platforms(page) == [("amazon", "active")]
    await page.screenshot(path=str(shots / "07-stripe-disconnected.png"), full_page=True)
    assert await hub.token_store(stripe_connection.id).load() is None


async def test_seller_denies_at_the_platform_and_sees_the_denial_page(
    hub: Runtime, page: Any, shots: Path
) -> None:
    lender = new_lender(hub)
    seller_id = new_seller(hub, lender, "Sakura Crafts")
    url = link(hub, lender, seller_id)
    stripe = (await sandbox_accounts(hub, "stripe"))[1]

    await page.goto(url)
    await page.click("#connect-stripe")
    await page.wait_for_url(f"{hub.sandbox().base_url('stripe')}/**")
    await page.select_option("#account", stripe["id"])
    await page.click("#deny")
    await page.wait_for_url(f"{hub.api_base_url}/oauth/callback/stripe?**")

    assert await page.text_content("#result") == "Access not granted"
    assert await page.get_attribute("#result", "data-ok") == "false"
    assert "declined" in (await page.text_content("#detail") or "")
    await page.screenshot(path=str(shots / "01-denied.png"), full_page=True)
    assert control.list_connections(hub.engine, seller_id=seller_id) == []

    await page.click("#back")
    await page.wait_for_url(url)
    assert await page.is_visible("#none-connected")
    await page.screenshot(path=str(shots / "02-back-on-the-page.png"), full_page=True)
