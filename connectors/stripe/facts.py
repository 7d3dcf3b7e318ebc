"""Stripe: API host, Connect OAuth (Standard accounts), rate limits.

Facts from reference/specs/PLATFORMS.md §2 and the OpenAPI subset in stripe/openapi.
"""

from __future__ import annotations

from connectors.model import OAuthFacts, PlatformFacts, RateLimit

# The spec we validate against (spec3.2023-08-16.subset.json); pinning the version keeps every
# connected account's responses in one shape (https://docs.stripe.com/api/versioning)
API_VERSION = "2023-08-16"

# live mode 100 read operations/s, test mode 25 (https://docs.stripe.com/rate-limits); one
# bucket, since Stripe counts all reads of an account together
RATE_LIMITS = {"read": RateLimit(rate=100, burst=100)}
SANDBOX_RATE_LIMITS = {"read": RateLimit(rate=25, burst=25)}

OAUTH = OAuthFacts(
    # https://docs.stripe.com/connect/oauth-reference
    authorize_url="https://connect.stripe.com/oauth/authorize",
    token_url="https://connect.stripe.com/oauth/token",
    revoke_url="https://connect.stripe.com/oauth/deauthorize",
    revoke_style="account",  # POST client_id + stripe_user_id, authenticated by the secret key
    scopes=("read_only",),
    # the connected account id comes in the token response, not the callback
    account_id_param="stripe_user_id",
    account_id_in_token_response=True,
    token_header="Authorization",
    token_prefix="Bearer ",
    auth_failure_statuses=(401,),
    # the platform's secret key goes in the client_secret form field
    token_endpoint_auth_method="client_secret_post",
)

FACTS = PlatformFacts(
    name="stripe",
    display_name="Stripe",
    docs_url="https://docs.stripe.com/api",
    regions={"global": "https://api.stripe.com"},
    default_region="global",
    oauth=OAUTH,
    rate_limits=RATE_LIMITS,
    sandbox_rate_limits=SANDBOX_RATE_LIMITS,
    default_headers={"Stripe-Version": API_VERSION},
)
