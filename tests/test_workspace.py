"""Which workspace a command talks to: URL precedence, key fingerprint, retry tuning, sandbox env."""

from __future__ import annotations

import pytest

from provisioner.sandbox import DummyEnviron
from provisioner.secrets import resolve
from provisioner.workspace import WorkspaceError, api_url, key_fingerprint, resolve_target, retry_policy


def test_url_precedence_flag_then_env_then_region() -> None:
    env = {"ELEVENLABS_BASE_URL": "http://env.example/"}
    assert api_url("http://flag.example", "eu", env) == "http://flag.example"
    assert api_url(None, "eu", env) == "http://env.example"
    assert api_url(None, "eu", {}) == "https://api.eu.residency.elevenlabs.io"
    assert api_url(None, "default", {}) == "https://api.elevenlabs.io"


def test_fingerprint_is_short_and_never_the_key() -> None:
    fp = key_fingerprint("sk_live_0123456789abcdef")
    assert fp.startswith("sha256:") and len(fp) == len("sha256:") + 12
    assert "0123456789abcdef" not in fp
    assert key_fingerprint("a") != key_fingerprint("b")
    target = resolve_target(None, "us", {"ELEVENLABS_API_KEY": "k1"})
    assert target.describe() == {"api_url": "https://api.us.elevenlabs.io", "key_fingerprint": key_fingerprint("k1")}


def test_missing_key_is_a_clear_error() -> None:
    with pytest.raises(WorkspaceError, match="ELEVENLABS_API_KEY"):
        resolve_target(None, "default", {})


def test_retry_tuning_from_the_environment() -> None:
    policy = retry_policy({"TELEPHONY_RETRY_BASE_DELAY": "0.01", "TELEPHONY_RETRY_ATTEMPTS": "3"})
    assert policy.base_delay == 0.01 and policy.max_attempts == 3
    assert retry_policy({"TELEPHONY_RETRY_BASE_DELAY": "nope"}).base_delay == retry_policy({}).base_delay


def test_sandbox_environment_fills_unset_variables_and_remembers_them() -> None:
    env = DummyEnviron({"SET": "real"})
    assert resolve("${SET}/${UNSET}", env) == "real/sandbox-dummy-unset"
    assert env.dummied == {"UNSET"}


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("not-a-url", "not an http"),
        ("ftp://example.com", "not an http"),
        ("http://localhost:99999", "not a valid URL"),
        ("https://api.elevenlabs.io/v1", "without /v1"),
    ],
)
def test_a_bad_api_url_is_named_before_any_request(url: str, why: str) -> None:
    with pytest.raises(WorkspaceError, match=why):
        api_url(url, "default", {})
    with pytest.raises(WorkspaceError, match="ELEVENLABS_BASE_URL"):
        resolve_target(None, "default", {"ELEVENLABS_BASE_URL": url, "ELEVENLABS_API_KEY": "k"})


def test_api_key_whitespace_is_trimmed_and_inner_junk_refused_without_echoing_it() -> None:
    assert resolve_target(None, "default", {"ELEVENLABS_API_KEY": " k1\r\n"}).api_key == "k1"
    with pytest.raises(WorkspaceError, match="not set or empty"):
        resolve_target(None, "default", {"ELEVENLABS_API_KEY": "  "})
    with pytest.raises(WorkspaceError) as caught:
        resolve_target(None, "default", {"ELEVENLABS_API_KEY": "sk_secret part"})
    assert "sk_secret" not in str(caught.value)
