"""Amazon Selling Partner API: hosts, Login with Amazon OAuth quirks, usage plans.

Facts from reference/specs/PLATFORMS.md §1 and the official models in
amzn/selling-partner-api-models.
"""

from __future__ import annotations

from connectors.model import ConsentSite, OAuthFacts, PlatformFacts, RateLimit

# https://developer-docs.amazon.com/sp-api/docs/sp-api-endpoints
REGIONS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}

# "Usage Plan" tables in each operation's description (orders_2026-01-01.json searchOrders,
# finances_2024-06-19.json listTransactions, sellers.json getMarketplaceParticipations)
RATE_LIMITS = {
    "searchOrders": RateLimit(rate=0.0056, burst=20),
    "listTransactions": RateLimit(rate=0.5, burst=10),
    "getMarketplaceParticipations": RateLimit(rate=0.016, burst=15),
}

# every sandbox operation: 5 requests/s, burst 15 (https://developer-docs.amazon.com/sp-api/docs/sp-api-sandbox)
SANDBOX_RATE_LIMITS = {bucket: RateLimit(rate=5, burst=15) for bucket in RATE_LIMITS}


def _seller_central(region: str, host: str) -> ConsentSite:
    return ConsentSite(region, f"https://{host}/apps/authorize/consent")


# A seller consents on the Seller Central of a marketplace they sell in; the site decides the
# API region (https://developer-docs.amazon.com/sp-api/docs/seller-central-urls and
# https://developer-docs.amazon.com/sp-api/docs/sp-api-endpoints). UK, Germany, France, Italy
# and Spain share sellercentral-europe.amazon.com.
CONSENT_SITES = {
    "us": _seller_central("na", "sellercentral.amazon.com"),
    "ca": _seller_central("na", "sellercentral.amazon.ca"),
    "mx": _seller_central("na", "sellercentral.amazon.com.mx"),
    "br": _seller_central("na", "sellercentral.amazon.com.br"),
    "europe": _seller_central("eu", "sellercentral-europe.amazon.com"),
    "ie": _seller_central("eu", "sellercentral.amazon.ie"),
    "nl": _seller_central("eu", "sellercentral.amazon.nl"),
    "be": _seller_central("eu", "sellercentral.amazon.com.be"),
    "se": _seller_central("eu", "sellercentral.amazon.se"),
    "pl": _seller_central("eu", "sellercentral.amazon.pl"),
    "tr": _seller_central("eu", "sellercentral.amazon.com.tr"),
    "ae": _seller_central("eu", "sellercentral.amazon.ae"),
    "sa": _seller_central("eu", "sellercentral.amazon.sa"),
    "eg": _seller_central("eu", "sellercentral.amazon.eg"),
    "za": _seller_central("eu", "sellercentral.amazon.co.za"),
    "in": _seller_central("eu", "sellercentral.amazon.in"),
    "jp": _seller_central("fe", "sellercentral.amazon.co.jp"),
    "au": _seller_central("fe", "sellercentral.amazon.com.au"),
    "sg": _seller_central("fe", "sellercentral.amazon.sg"),
}

OAUTH = OAuthFacts(
    # website authorization workflow
    # (https://developer-docs.amazon.com/sp-api/docs/website-authorization-workflow)
    authorize_url="https://sellercentral.amazon.com/apps/authorize/consent",
    token_url="https://api.amazon.com/auth/o2/token",
    revoke_url=None,  # no endpoint: the seller removes the app in Seller Central
    client_id_param="application_id",
    # a draft app must add version=beta, else MD1000
    # (https://developer-docs.amazon.com/sp-api/docs/authorization-errors)
    draft_app_params={"version": "beta"},
    code_param="spapi_oauth_code",
    account_id_param="selling_partner_id",
    # no AWS SigV4 since 2023-10-02, just the LWA token in this header
    # (https://developer-docs.amazon.com/sp-api/changelog/sp-api-will-no-longer-require-aws-iam-or-aws-signature-version-4)
    token_header="x-amz-access-token",
    token_prefix="",
    # an expired or unknown token is answered 403 with code Unauthorized
    auth_failure_statuses=(401, 403),
    auth_failure_codes=("Unauthorized",),
    # public apps must be re-authorized every 365 days
    # (https://developer-docs.amazon.com/sp-api/docs/renew-authorizations)
    consent_lifetime_days=365,
    token_endpoint_auth_method="client_secret_post",
    consent_sites=CONSENT_SITES,
)

FACTS = PlatformFacts(
    name="amazon",
    display_name="Amazon Seller Central",
    docs_url="https://developer-docs.amazon.com/sp-api/",
    regions=REGIONS,
    default_region="na",
    oauth=OAUTH,
    rate_limits=RATE_LIMITS,
    sandbox_rate_limits=SANDBOX_RATE_LIMITS,
    rate_limit_header="x-amzn-RateLimit-Limit",
    query_array_style="csv",  # Swagger 2.0 arrays without collectionFormat are comma-separated
)
