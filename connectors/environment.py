"""Pointing a platform's facts at its sandbox emulator instead of the real platform."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit, urlunsplit

from connectors.model import ConsentSite, PlatformFacts


def _rebase(url: str, base_url: str) -> str:
    """``url`` with its scheme and host replaced by ``base_url``'s, keeping path and query."""
    base = urlsplit(base_url.rstrip("/"))
    parts = urlsplit(url)
    path = base.path.rstrip("/") + parts.path
    return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))


def _rebase_site(site: ConsentSite, base_url: str) -> ConsentSite:
    return dataclasses.replace(site, authorize_url=_rebase(site.authorize_url, base_url))


def sandbox_facts(facts: PlatformFacts, base_url: str) -> PlatformFacts:
    """``facts`` with every URL (regions, authorize and consent sites, token, revoke) on the
    emulator at ``base_url``, and the documented sandbox/test-mode rate limits in force."""
    oauth = facts.oauth
    return dataclasses.replace(
        facts,
        regions={region: _rebase(url, base_url) for region, url in facts.regions.items()},
        oauth=dataclasses.replace(
            oauth,
            authorize_url=_rebase(oauth.authorize_url, base_url),
            token_url=_rebase(oauth.token_url, base_url),
            revoke_url=_rebase(oauth.revoke_url, base_url) if oauth.revoke_url else None,
            consent_sites={
                site: _rebase_site(where, base_url) for site, where in oauth.consent_sites.items()
            },
        ),
        rate_limits=dict(facts.sandbox_rate_limits),
    )
