"""The seller-facing HTML of the connect flow: plain, accessible, no JavaScript.

Stable ids for tests and assistive tools: ``#connect-<platform>``, ``#site-<platform>``,
``#connected`` (items carry ``data-platform``, ``data-status``, ``data-connection``),
``#disconnect-<connection id>``, ``#confirm-disconnect``, ``#flash``; result pages use the
callback's ``#result`` (``data-ok``), ``#detail`` and ``#back``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from sellerhub.connect import PlatformOffer

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:44rem;margin:2.5rem auto;padding:0 1rem;
color:#1b1b1b;line-height:1.5}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}
section{border:1px solid #bbb;border-radius:8px;padding:1rem 1.25rem;margin:1rem 0}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;
padding:.35rem .5rem;border-bottom:1px solid #ddd}
button{font-size:1rem;padding:.5rem 1rem;border-radius:4px;border:1px solid #444;
background:#fff;cursor:pointer}
button.primary{background:#0b5cad;color:#fff;border-color:#0b5cad}
button.danger{border-color:#a11;color:#a11}
button:focus,a:focus,select:focus{outline:3px solid #f0b400;outline-offset:2px}
#flash{background:#e7f4ea;border-left:4px solid #0a7d32;padding:.5rem 1rem}
#flash.bad{background:#fbeaea;border-left-color:#a11}
h1[data-ok=true]{color:#0a7d32}h1[data-ok=false]{color:#a11}.muted{color:#555}ul.plain{list-style:none;padding:0}
ul.plain li{padding:.5rem 0;border-bottom:1px solid #ddd}
"""


@dataclass(frozen=True)
class ConnectedAccount:
    connection_id: str
    platform: str
    label: str
    account_id: str
    status: str  # active | reauth_required
    since: datetime
    syncing: bool
    last_success: datetime | None


@dataclass(frozen=True)
class ConnectPage:
    token: str
    lender: str
    seller_name: str
    expires_at: datetime
    offers: Sequence[PlatformOffer]
    connected: Sequence[ConnectedAccount]
    flash: str | None = None
    flash_ok: bool = True


def _when(moment: datetime) -> str:
    return moment.strftime("%d %b %Y, %H:%M UTC")


def _document(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>{escape(title)} · sellerhub</title><style>{_STYLE}</style></head>
<body><main>
{body}
</main></body></html>
"""


def _connected_item(token: str, account: ConnectedAccount) -> str:
    e = escape
    if account.status == "reauth_required":
        state = "Access expired or was removed at the platform: connect it again below."
    elif account.syncing:
        state = "Importing your history now."
    elif account.last_success is not None:
        state = f"Last updated {_when(account.last_success)}."
    else:
        state = "Waiting for the first update."
    action = f"/connect/{e(token)}/disconnect/{e(account.connection_id)}"
    return f"""<li data-platform="{e(account.platform)}" data-status="{e(account.status)}"
 data-connection="{e(account.connection_id)}">
 <strong>{e(account.label)}</strong>, account <code>{e(account.account_id)}</code>,
 connected on {e(_when(account.since))}. <span class="muted">{e(state)}</span>
 <form method="get" action="{action}">
  <button class="danger" id="disconnect-{e(account.connection_id)}" type="submit"
   aria-label="Disconnect {e(account.label)} account {e(account.account_id)}">Disconnect</button>
 </form>
</li>"""


def _offer_section(token: str, offer: PlatformOffer, already: bool) -> str:
    e = escape
    consent = offer.consent
    rows = "\n".join(
        f"<tr><td>{e(item.what)}</td><td>{e(item.why)}</td></tr>" for item in consent.reads
    )
    site = ""
    if consent.site_choices:
        groups = "".join(
            f'<optgroup label="{e(group)}">'
            + "".join(f'<option value="{e(key)}">{e(label)}</option>' for key, label in choices)
            + "</optgroup>"
            for group, choices in consent.site_choices
        )
        site = (
            f'<p><label for="site-{e(offer.platform)}">Where do you sell?</label> '
            f'<select id="site-{e(offer.platform)}" name="site">{groups}</select></p>'
        )
    button = f"Connect another {consent.label} account" if already else f"Connect {consent.label}"
    sandbox = (
        ' <span class="muted">(test environment)</span>'
        if offer.app.environment == "sandbox"
        else ""
    )
    return f"""<section id="platform-{e(offer.platform)}" aria-labelledby="h-{e(offer.platform)}">
<h2 id="h-{e(offer.platform)}">{e(consent.label)}{sandbox}</h2>
<table><caption class="muted">What will be read, and why</caption>
<thead><tr><th scope="col">What</th><th scope="col">Why</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<p>{e(consent.never)}</p>
<form method="post" action="/connect/{e(token)}/start/{e(offer.platform)}">
{site}
<button class="primary" id="connect-{e(offer.platform)}" type="submit">
{e(button)}</button>
</form>
<p class="muted">You will sign in at {e(consent.label)} and approve there; we never see your
password.</p>
</section>"""


def connect_page(view: ConnectPage) -> str:
    e = escape
    connected_platforms = {account.platform for account in view.connected}
    if view.connected:
        items = "\n".join(_connected_item(view.token, account) for account in view.connected)
        connected = f'<ul class="plain" id="connected">\n{items}\n</ul>'
    else:
        connected = (
            '<ul class="plain" id="connected"></ul>'
            '<p id="none-connected">Nothing is connected yet.</p>'
        )
    flash = ""
    if view.flash:
        tone = "" if view.flash_ok else ' class="bad"'
        flash = f'<p id="flash" role="status"{tone}>{e(view.flash)}</p>'
    offers = "\n".join(
        _offer_section(view.token, offer, offer.platform in connected_platforms)
        for offer in view.offers
    )
    if not view.offers:
        offers = "<p>No platform is available to connect on this link. Ask your lender.</p>"
    body = f"""<h1 id="title">Connect your accounts</h1>
<p><strong id="lender">{e(view.lender)}</strong> asks
<strong id="seller-name">{e(view.seller_name)}</strong> for <strong>read-only</strong>
access to the accounts below, to assess your business for financing. You choose what to
connect, and you can disconnect at any time on this page.</p>
{flash}
<section aria-labelledby="connected-heading"><h2 id="connected-heading">Connected</h2>
{connected}
</section>
{offers}
<p class="muted">This page's link is personal: do not share it. It works until
{e(_when(view.expires_at))}.</p>"""
    return _document("Connect your accounts", body)


def disconnect_page(
    token: str, account: ConnectedAccount, *, revocable: bool, retention: str
) -> str:
    e = escape
    if revocable:
        revoke = f"We ask {account.label} to revoke our access and delete our access tokens."
    else:
        revoke = (
            f"We delete our access tokens. {account.label} has no way for us to revoke the "
            "grant itself: to remove it there too, open Seller Central, Settings, User "
            "Permissions, Manage your apps, and remove the app."
        )
    body = f"""<h1 id="title">Disconnect {e(account.label)}?</h1>
<p>Account <code>{e(account.account_id)}</code>.</p>
<ul>
<li>We stop reading your data at once.</li>
<li>{e(revoke)}</li>
<li>{e(retention)}</li>
</ul>
<form method="post" action="/connect/{e(token)}/disconnect/{e(account.connection_id)}">
<button class="danger" id="confirm-disconnect" type="submit">Disconnect</button>
<a id="cancel" href="/connect/{e(token)}">Cancel</a>
</form>"""
    return _document(f"Disconnect {account.label}", body)


def result_page(title: str, detail: str, *, ok: bool, back_url: str | None = None) -> str:
    """Same shape as the callback's page (``#result``, ``#detail``), with a way back."""
    e = escape
    back = (
        f'<p><a id="back" href="{e(back_url)}">Back to your connect page</a></p>'
        if back_url
        else ""
    )
    body = f"""<h1 id="result" data-ok="{str(ok).lower()}">{e(title)}</h1>
<p id="detail">{e(detail)}</p>
{back}"""
    return _document(title, body)
