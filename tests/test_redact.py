"""Redaction: remembered secrets are scrubbed in every form a server may echo; URLs lose userinfo."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from provisioner import redact, secrets
from provisioner.api.client import ApiError


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    redact.forget_all()
    yield
    redact.forget_all()


def test_a_remembered_value_is_scrubbed_in_every_echoed_form() -> None:
    value = 'p@ss "word"/é'
    redact.remember(value)
    echoed = f"raw={value} json={json.dumps({'v': value})} url={quote(value, safe='')}"
    scrubbed = redact.scrub(echoed)
    assert value not in scrubbed and json.dumps(value)[1:-1] not in scrubbed and quote(value, safe="") not in scrubbed
    assert scrubbed.count("***") == 3


def test_resolving_a_reference_remembers_its_value() -> None:
    resolved = secrets.resolve("Bearer ${TOKEN}", {"TOKEN": "tok-1234567"})
    assert resolved == "Bearer tok-1234567"
    assert redact.scrub("echo: tok-1234567") == "echo: ***"


def test_api_errors_are_scrubbed_even_for_values_resolved_later() -> None:
    error = ApiError("POST", "/v1/convai/secrets", 400, "you sent late-secret-42")
    redact.remember("late-secret-42")
    assert str(error) == "POST /v1/convai/secrets failed (HTTP 400): you sent ***"


def test_very_short_values_are_not_scrubbed_everywhere() -> None:
    redact.remember("ab")
    assert redact.scrub("a cab") == "a cab"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@api.example.com:8443/base", "https://api.example.com:8443/base"),
        ("https://user@api.example.com", "https://api.example.com"),
        ("https://api.example.com", "https://api.example.com"),
        ("http://u:p@host:notaport", "http://host:notaport"),
    ],
)
def test_display_url_drops_userinfo(url: str, shown: str) -> None:
    assert redact.display_url(url) == shown


def test_a_url_password_is_remembered() -> None:
    redact.remember_url("https://user:hunter22@api.example.com")
    assert redact.scrub("auth failed for hunter22") == "auth failed for ***"
