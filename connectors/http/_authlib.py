"""authlib's httpx OAuth 2.0 client, imported without its httpx2 nag.

authlib >= 1.8 prefers ``httpx2`` and warns when it falls back to plain httpx. We keep httpx2
out on purpose (it bypasses respx; DESIGN.md, known pitfalls), so that one warning is expected
and silenced here; every other warning still shows.
"""

from __future__ import annotations

import warnings

import authlib.deprecate  # noqa: F401  # installs authlib's own warning filter first

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message="The httpx module is deprecated", category=DeprecationWarning
    )
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from authlib.common.errors import AuthlibBaseError
from authlib.oauth2.client import OAuth2Client as ProtocolClient  # no HTTP: builds URLs only

__all__ = ["AsyncOAuth2Client", "AuthlibBaseError", "ProtocolClient"]
