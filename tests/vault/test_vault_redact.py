"""mask, Secret, and the logging filter that keeps tokens out of log output."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from vault.redact import Secret, SecretRedactingFilter, install, mask

AMAZON_ACCESS = "Atza|IwEBIPx3Lm0Qexample-access_token+value/with=chars"
AMAZON_REFRESH = "Atzr|IwEBIG7Rexample-refresh-token-0123456789"
STRIPE_LIVE = "sk_live_51Habcdefghijklmnopqrstuvwx"
STRIPE_TEST = "sk_test_51Hzyxwvutsrqponmlkjihgfedc"
STRIPE_REFRESH = "rt_H4Kexample0123456789abcdef"


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO, SecretRedactingFilter]]:
    """A logger whose handler writes formatted records to a buffer through the filter."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    redactor = SecretRedactingFilter()
    handler.addFilter(redactor)
    logger = logging.getLogger(f"test.vault.redact.{id(buffer)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, buffer, redactor
    logger.removeHandler(handler)


def test_mask_keeps_a_short_prefix_of_long_values() -> None:
    assert mask(STRIPE_TEST) == "sk_t…(redacted)"
    assert mask("short-secret") == "…(redacted)"


def test_secret_never_prints_its_value() -> None:
    secret = Secret(STRIPE_LIVE)
    percent = "%s" % secret  # noqa: UP031 - logging formats with %, so test that path
    for text in (str(secret), repr(secret), f"{secret}", f"{secret:>40}", percent):
        assert STRIPE_LIVE not in text
        assert STRIPE_LIVE[8:] not in text
    assert secret.reveal() == STRIPE_LIVE
    assert repr({"key": secret}).count("redacted") == 1
    assert secret == Secret(STRIPE_LIVE)
    assert secret != Secret(STRIPE_TEST)
    assert len({secret, Secret(STRIPE_LIVE)}) == 1


@pytest.mark.parametrize(
    "token", [AMAZON_ACCESS, AMAZON_REFRESH, STRIPE_LIVE, STRIPE_TEST, STRIPE_REFRESH]
)
def test_token_shapes_are_redacted_without_registration(
    log: tuple[logging.Logger, io.StringIO, SecretRedactingFilter], token: str
) -> None:
    logger, buffer, _ = log
    logger.info("refreshed token %s for seller", token)
    output = buffer.getvalue()
    assert token not in output
    assert token[6:] not in output
    assert "(redacted)" in output
    assert "refreshed token" in output
    assert "for seller" in output


def test_registered_values_are_redacted(
    log: tuple[logging.Logger, io.StringIO, SecretRedactingFilter],
) -> None:
    logger, buffer, redactor = log
    client_secret = "amzn1.oa2-cs.v1.0f9e8d7c6b5a49382716"
    logger.info("without registration: %s", client_secret)
    assert client_secret in buffer.getvalue()  # proves it is registration that hides it below
    redactor.register(client_secret)
    logger.info("with registration: %s", client_secret)
    last = buffer.getvalue().splitlines()[-1]
    assert client_secret not in last
    assert "with registration:" in last


def test_labelled_secrets_are_redacted(
    log: tuple[logging.Logger, io.StringIO, SecretRedactingFilter],
) -> None:
    logger, buffer, _ = log
    opaque = "opaque0123456789value"
    logger.info("Authorization: Bearer %s", opaque)
    logger.info("headers {'Authorization': 'Basic %s'}", opaque + "F")
    logger.info("headers {'authorization': '%s'}", opaque + "G")
    logger.info('body {"access_token": "%s", "expires_in": 3600}', opaque + "A")
    logger.info("form grant_type=refresh_token&refresh_token=%s&client_id=x", opaque + "B")
    logger.info("callback /cb?state=s1&spapi_oauth_code=%s&selling_partner_id=A1", opaque + "C")
    logger.info("callback /cb?code=%s&state=s2", opaque + "D")
    logger.info("headers {'x-amz-access-token': '%s'}", opaque + "E")
    output = buffer.getvalue()
    assert opaque not in output
    kept_parts = ("Bearer ", "Basic ", "expires_in", "3600", "client_id=x", "state=s1", "A1")
    for kept in (*kept_parts, "state=s2"):
        assert kept in output


def test_exception_tracebacks_are_redacted(
    log: tuple[logging.Logger, io.StringIO, SecretRedactingFilter],
) -> None:
    logger, buffer, _ = log
    try:
        raise RuntimeError(f"token endpoint rejected {STRIPE_LIVE}")
    except RuntimeError:
        logger.exception("refresh failed")
    output = buffer.getvalue()
    assert "RuntimeError" in output
    assert "Traceback" in output
    assert STRIPE_LIVE not in output


def test_extra_fields_and_stack_info_are_redacted() -> None:
    redactor = SecretRedactingFilter()
    record = logging.makeLogRecord(
        {"msg": "ok", "token_hint": AMAZON_REFRESH, "stack_info": f"frame {AMAZON_ACCESS}"}
    )
    assert redactor.filter(record) is True
    assert AMAZON_REFRESH not in record.__dict__["token_hint"]
    assert record.stack_info is not None
    assert AMAZON_ACCESS not in record.stack_info


def test_unformattable_record_is_kept_without_its_args() -> None:
    redactor = SecretRedactingFilter()
    record = logging.makeLogRecord({"msg": "two %s %s", "args": (STRIPE_LIVE,)})
    assert redactor.filter(record) is True
    assert STRIPE_LIVE not in record.getMessage()
    assert "two" in record.getMessage()


def test_filter_is_idempotent_across_handlers() -> None:
    redactor = SecretRedactingFilter()
    record = logging.makeLogRecord({"msg": "t=%s", "args": (STRIPE_TEST,)})
    redactor.filter(record)
    once = record.getMessage()
    redactor.filter(record)
    assert record.getMessage() == once


def test_ordinary_text_is_left_alone() -> None:
    redactor = SecretRedactingFilter()
    text = (
        "synced 120 orders for part_time seller sk_ok; sort_key=created_at; code review; "
        'basic information for the bearer; {"token_type": "bearer", "expires_in": 3600}'
    )
    assert redactor.redact(text) == text


def test_short_values_are_not_registered() -> None:
    redactor = SecretRedactingFilter(["abc"])
    assert redactor.redact("abc abcdef") == "abc abcdef"


def test_install_adds_the_filter_to_handlers() -> None:
    logger = logging.getLogger("test.vault.redact.install")
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        redactor = install(logger=logger)
        assert redactor in handler.filters
        logging.getLogger("test.vault.redact.install.child").warning("key %s", STRIPE_LIVE)
        assert STRIPE_LIVE not in buffer.getvalue()
        assert "key sk_l" in buffer.getvalue()
    finally:
        logger.removeHandler(handler)
