"""How a connector is declared: platform facts and streams as typed data.

A connector is one folder (``connectors/<platform>/``) exporting a :class:`Connector` value.
Nothing here subclasses the HTTP client; the client composes auth, paginator, retry and rate
limit from these declarations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, Protocol

JsonObject = dict[str, Any]
QueryParams = dict[str, str | list[str]]


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: ``rate`` requests per second refill, ``burst`` requests at most at once."""

    rate: float
    burst: int


@dataclass(frozen=True)
class OAuthFacts:
    """A platform's OAuth 2.0 authorization-code grant, with its quirks as data."""

    authorize_url: str
    token_url: str
    revoke_url: str | None = None
    scopes: tuple[str, ...] = ()
    pkce: bool = False
    # query parameter of the callback that holds the code (Amazon: spapi_oauth_code)
    code_param: str = "code"
    # callback/token-response field naming the seller's account at the platform
    account_id_param: str | None = None
    account_id_in_token_response: bool = False
    # authorize parameter that carries our client id (Amazon: application_id)
    client_id_param: str = "client_id"
    extra_authorize_params: Mapping[str, str] = field(default_factory=dict)
    # how the access token travels on API calls
    token_header: str = "Authorization"
    token_prefix: str = "Bearer "
    # days until the seller must consent again (Amazon: 365), None when unlimited
    consent_lifetime_days: int | None = None
    # how client credentials reach the token endpoint
    token_endpoint_auth_method: Literal["client_secret_post", "client_secret_basic"] = (
        "client_secret_post"
    )
    # API statuses that mean "this access token is not accepted": refresh once, retry once.
    # 401 always counts; for the other statuses listed, ``auth_failure_codes`` (when set) must
    # also match the error code in the body (Amazon answers 403 with code ``Unauthorized``).
    auth_failure_statuses: tuple[int, ...] = (401,)
    auth_failure_codes: tuple[str, ...] = ()
    # authorize parameters for an app still in draft (Amazon: version=beta, else error MD1000)
    draft_app_params: Mapping[str, str] = field(default_factory=dict)
    # how a grant is revoked at ``revoke_url``: RFC 7009 (the token is posted) or "account"
    # (client_id + the account id under ``account_id_param``, Stripe's /oauth/deauthorize)
    revoke_style: Literal["rfc7009", "account"] = "rfc7009"
    # where a seller consents, when it depends on where they sell: site -> (region, authorize
    # URL). Amazon sellers consent on their own marketplace's Seller Central; empty: one
    # ``authorize_url`` for everyone
    consent_sites: Mapping[str, ConsentSite] = field(default_factory=dict)

    def consent_site(self, site: str) -> ConsentSite:
        if site not in self.consent_sites:
            known = ", ".join(sorted(self.consent_sites)) or "none"
            raise ValueError(f"unknown consent site {site!r} (known: {known})")
        return self.consent_sites[site]


@dataclass(frozen=True)
class ConsentSite:
    """One place a seller consents: the API region its data is read from, and the page."""

    region: str
    authorize_url: str


@dataclass(frozen=True)
class PlatformFacts:
    name: str  # short name: amazon, stripe
    display_name: str
    docs_url: str
    regions: Mapping[str, str]  # region -> API base URL
    default_region: str
    oauth: OAuthFacts
    rate_limits: Mapping[str, RateLimit]  # bucket -> documented production limit
    sandbox_rate_limits: Mapping[str, RateLimit]  # bucket -> documented sandbox/test-mode limit
    # headers every API call carries (e.g. Stripe-Version)
    default_headers: Mapping[str, str] = field(default_factory=dict)
    # response header carrying the rate (requests/s) the platform applied (Amazon:
    # x-amzn-RateLimit-Limit); the rate budget adopts it
    rate_limit_header: str | None = None
    # how a list-valued query parameter is sent: repeated (a=1&a=2) or comma-separated (a=1,2;
    # Swagger 2.0's default collectionFormat "csv", used by Amazon SP-API)
    query_array_style: Literal["repeat", "csv"] = "repeat"

    def base_url(self, region: str | None = None) -> str:
        key = region or self.default_region
        if key not in self.regions:
            known = ", ".join(sorted(self.regions))
            raise ValueError(f"{self.name}: unknown region {key!r} (known: {known})")
        return self.regions[key]


@dataclass(frozen=True)
class Page:
    """One fetched page: the decoded body, the records found in it, and how to get the next."""

    body: JsonObject
    records: list[JsonObject]
    next_params: QueryParams | None  # None on the last page


class Paginator(Protocol):
    """Finds the next page's parameters in a page. Pure; the client checks for loops."""

    def next_params(
        self, body: JsonObject, records: Sequence[JsonObject], sent: QueryParams
    ) -> QueryParams | None: ...

    def page_token(self, params: QueryParams) -> str | None:
        """The token in ``params`` that identifies a page (to detect a repeated token)."""
        ...


@dataclass(frozen=True)
class CursorSpec:
    """How a stream is read incrementally.

    ``field`` is the dotted path of the record's cursor value; ``lower_param``/``upper_param``
    are the request parameters that bound the window. ``lookback`` re-reads the recent past on
    every run (late updates, Amazon's 48-hour finance delay). ``max_window`` splits a long range
    into windows (Amazon finances: 180 days). ``backfill`` is how far back a first run starts.
    ``end_lag`` keeps the upper bound that far before now (Amazon: at least 2 minutes).
    """

    field: str
    lower_param: str
    upper_param: str | None = None
    value_format: Literal["iso8601", "unix"] = "iso8601"
    lookback: timedelta = timedelta(0)
    max_window: timedelta | None = None
    backfill: timedelta = timedelta(days=730)
    end_lag: timedelta = timedelta(0)


@dataclass(frozen=True)
class Stream:
    name: str
    path: str
    records_path: str | None  # dotted path to the record list; None: the body is one record
    paginator: Paginator | None  # None: a single page
    primary_key: str  # dotted path to the record's id
    bucket: str  # rate-limit bucket, a key of PlatformFacts.rate_limits
    cursor: CursorSpec | None = None
    params: Mapping[str, str | list[str]] = field(default_factory=dict)
    # query parameters that take the seller's marketplace ids (Amazon)
    marketplace_param: str | None = None


@dataclass(frozen=True)
class Connector:
    facts: PlatformFacts
    streams: Sequence[Stream]

    @property
    def name(self) -> str:
        return self.facts.name

    def stream(self, name: str) -> Stream:
        for stream in self.streams:
            if stream.name == name:
                return stream
        known = ", ".join(s.name for s in self.streams)
        raise KeyError(f"{self.name} has no stream {name!r} (streams: {known})")
