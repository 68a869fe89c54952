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


@pytest.mark.parametrize("suffix", ["?x=1", "#top", "/?"])
def test_an_api_url_with_a_query_or_fragment_is_refused(suffix: str) -> None:
    with pytest.raises(WorkspaceError, match=r"\?query or #fragment") as caught:
        api_url(f"https://user:pw-9999@api.example.com{suffix}", "default", {})
    assert "pw-9999" not in str(caught.value) and "user" not in str(caught.value)


def test_url_credentials_are_never_described() -> None:
    target = resolve_target("https://user:pw-9999@api.example.com", "default", {"ELEVENLABS_API_KEY": "k1"})
    assert target.api_url == "https://user:pw-9999@api.example.com"  # still used to connect
    assert target.describe()["api_url"] == "https://api.example.com"
    with pytest.raises(WorkspaceError) as caught:
        api_url("ftp://user:pw-9999@example.com", "default", {})
    assert "pw-9999" not in str(caught.value)


def test_limits_from_the_environment() -> None:
    from provisioner.workspace import limits

    assert limits({}).stall_timeout == 30 and limits({}).max_response_bytes == 256 * 1024 * 1024
    assert limits({}).max_pages == 10_000
    tuned = limits(
        {"TELEPHONY_STALL_TIMEOUT": "0.5", "TELEPHONY_MAX_RESPONSE_BYTES": "1024", "TELEPHONY_MAX_PAGES": "3"}
    )
    assert (tuned.stall_timeout, tuned.max_response_bytes, tuned.max_pages) == (0.5, 1024, 3)
    for bad in ("0", "-1", "nan", "inf", "lots"):
        with pytest.raises(WorkspaceError, match="TELEPHONY_STALL_TIMEOUT"):
            limits({"TELEPHONY_STALL_TIMEOUT": bad})


def test_the_deadline_flag_then_environment_then_default() -> None:
    from provisioner.workspace import deadline

    assert deadline(None, 900.0, {}) == 900.0
    assert deadline(None, None, {}) is None
    assert deadline(None, 900.0, {"TELEPHONY_DEADLINE": "60"}) == 60.0
    assert deadline(None, 900.0, {"TELEPHONY_DEADLINE": "0"}) is None  # 0 turns it off
    assert deadline(5.0, 900.0, {"TELEPHONY_DEADLINE": "60"}) == 5.0
    with pytest.raises(WorkspaceError, match="TELEPHONY_DEADLINE"):
        deadline(None, 900.0, {"TELEPHONY_DEADLINE": "-3"})


def test_an_environments_key_variable_is_the_only_one_read() -> None:
    env = {"ELEVENLABS_API_KEY": "default-key", "KEY_PROD": " prod-key\n"}
    assert resolve_target(None, "default", env, key_variable="KEY_PROD", env_name="production").api_key == "prod-key"
    # Set but empty, or unset: never ELEVENLABS_API_KEY instead; the error names the variable, not a value.
    for environ in ({"ELEVENLABS_API_KEY": "default-key"}, {"ELEVENLABS_API_KEY": "default-key", "KEY_PROD": ""}):
        with pytest.raises(WorkspaceError) as caught:
            resolve_target(None, "default", environ, key_variable="KEY_PROD", env_name="production")
        message = str(caught.value)
        assert message.startswith("KEY_PROD is not set or empty: environment 'production' reads its API key")
        assert "default-key" not in message
    with pytest.raises(WorkspaceError, match=r"^KEY_PROD contains spaces"):
        resolve_target(None, "default", {"KEY_PROD": "a b"}, key_variable="KEY_PROD", env_name="production")
