"""The pure parts of the web protections: bearer tokens, origins, the public health view."""

from __future__ import annotations

import pytest

from worker.domain.errors import ConfigurationError
from worker.health import public_view
from worker.settings import load_settings, normalise_origin
from worker.web.session import (
    bearer_token,
    origin_allowed,
    own_origin,
    source_origin,
    token_matches,
)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc.def-123", "abc.def-123"),
        ("bearer   spaced-token  ", "spaced-token"),
        ("BEARER x", "x"),
        ("Basic dXNlcjpwYXNz", None),
        ("Bearer", None),
        ("Bearer    ", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_token_is_read_from_the_authorization_header(
    header: str | None, token: str | None
) -> None:
    assert bearer_token(header) == token


def test_tokens_match_only_exactly() -> None:
    secret = "a-very-long-metrics-token-123"
    assert token_matches(secret, secret)
    assert not token_matches(secret + "4", secret)
    assert not token_matches(secret[:-1], secret)
    assert not token_matches(secret.upper(), secret)
    assert not token_matches("", secret)
    assert not token_matches(None, secret)
    # No token configured: nothing matches, not even an empty one.
    assert not token_matches("", "")
    assert not token_matches("anything", "")
    # Odd bytes in a header are compared, not a crash.
    assert not token_matches("caf\udce9", secret)


@pytest.mark.parametrize(
    ("value", "origin"),
    [
        ("https://Complaints.Example.org", "https://complaints.example.org"),
        ("https://complaints.example.org:443", "https://complaints.example.org"),
        ("http://127.0.0.1:80/", "http://127.0.0.1"),
        ("http://127.0.0.1:8000/cases/CMP-1?x=1", "http://127.0.0.1:8000"),
        ("https://[::1]:8443", "https://[::1]:8443"),
        ("ftp://example.org", None),
        ("example.org", None),
        ("https://", None),
        ("https://user:pw@example.org", None),
        ("http://example.org:99999", None),
        ("null", None),
    ],
)
def test_origins_are_normalised(value: str, origin: str | None) -> None:
    assert normalise_origin(value) == origin


def test_source_origin_prefers_origin_then_referer() -> None:
    assert source_origin("https://a.example", "https://b.example/page") == "https://a.example"
    assert source_origin(None, "https://b.example/page?q=1") == "https://b.example"
    assert source_origin(None, None) == ""
    assert source_origin(None, "") == ""
    assert source_origin("null", "https://a.example/") == "null"
    assert source_origin("", None) == "null"
    assert source_origin("chrome-extension://abc", None) == "null"


def test_own_origin_comes_from_scheme_and_host() -> None:
    assert own_origin("http", "127.0.0.1:8000") == "http://127.0.0.1:8000"
    assert own_origin("https", "Console.Example.org:443") == "https://console.example.org"
    assert own_origin("http", "") is None


def test_origin_allowed() -> None:
    own = "http://127.0.0.1:8000"
    allowed = ("https://complaints.example.org",)
    assert origin_allowed(own, own, allowed)
    assert origin_allowed("https://complaints.example.org", own, allowed)
    assert origin_allowed("", own, allowed)  # neither header: left to the CSRF token
    assert not origin_allowed("https://evil.example", own, allowed)
    assert not origin_allowed("null", own, allowed)
    assert not origin_allowed(None, own, allowed)
    assert not origin_allowed("https://evil.example", None, ())


def test_allowed_origins_setting_is_parsed_and_normalised(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(
        {"COMPLAINTS_WEB_ALLOWED_ORIGINS": "https://A.example:443, http://b.example:8080/"},
        cwd=tmp_path,
    )
    assert settings.web_allowed_origins == ("https://a.example", "http://b.example:8080")
    assert load_settings({}, cwd=tmp_path).web_allowed_origins == ()
    with pytest.raises(ConfigurationError, match="not an origin"):
        load_settings({"COMPLAINTS_WEB_ALLOWED_ORIGINS": "https://a.example/x"}, cwd=tmp_path)


def test_public_health_view_drops_every_detail() -> None:
    result = {
        "ok": False,
        "checks": {
            "database": {"ok": True, "detail": "reachable: postgresql://u:****@db/x", "seconds": 1},
            "mailbox": {"ok": False, "detail": "FileNotFoundError: /srv/mail", "seconds": 0.1},
        },
    }
    assert public_view(result) == {
        "ok": False,
        "checks": {"database": {"ok": True}, "mailbox": {"ok": False}},
    }
