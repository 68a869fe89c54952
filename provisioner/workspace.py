"""Which workspace a command talks to: API URL, key, key fingerprint, retry tuning.

The base URL comes from `--api-url`, else `ELEVENLABS_BASE_URL`, else the manifest's
`workspace.region`. The key comes from `ELEVENLABS_API_KEY` only (never a flag: flags end up in
shell history and CI logs). Plans record the URL and a short fingerprint of the key, never the key,
so a plan made against staging cannot be applied with the production key.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from provisioner.api.client import RetryPolicy
from provisioner.errors import ConfigError
from provisioner.grammar import API_KEY_VARIABLE

REGION_URLS = {
    "default": "https://api.elevenlabs.io",
    "us": "https://api.us.elevenlabs.io",
    "eu": "https://api.eu.residency.elevenlabs.io",
    "in": "https://api.in.residency.elevenlabs.io",
    "sg": "https://api.sg.residency.elevenlabs.io",
}
SANDBOX_URL = "sandbox://.telephony/sandbox.json"


class WorkspaceError(ConfigError):
    pass


@dataclass(frozen=True)
class Target:
    api_url: str
    api_key: str

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.api_key)

    def describe(self) -> dict[str, str]:
        return {"api_url": self.api_url, "key_fingerprint": self.fingerprint}


def key_fingerprint(key: str) -> str:
    """A short, non-reversible tag for the key: enough to tell two workspaces apart."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:12]


def check_url(url: str, source: str) -> str:
    """`url` without a trailing slash, or `WorkspaceError` saying what is wrong with it."""
    url = url.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        raise WorkspaceError(f"{source} {url!r} is not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WorkspaceError(f"{source} {url!r} is not an http(s) URL (e.g. https://api.elevenlabs.io)")
    if parts.path.rstrip("/").endswith("/v1"):
        raise WorkspaceError(f"{source} {url!r} must be the API's base URL, without /v1 (the paths add it)")
    return url


def api_url(flag: str | None, region: str, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    if flag is not None:
        return check_url(flag, "--api-url")
    if env.get("ELEVENLABS_BASE_URL", "").strip():
        return check_url(env["ELEVENLABS_BASE_URL"], "ELEVENLABS_BASE_URL")
    return REGION_URLS.get(region, REGION_URLS["default"])


def resolve_target(flag_url: str | None, region: str, environ: Mapping[str, str] | None = None) -> Target:
    env = os.environ if environ is None else environ
    url = api_url(flag_url, region, env)
    # Surrounding whitespace (a pasted key, a CRLF .env file) is never part of a key.
    key = env.get(API_KEY_VARIABLE, "").strip()
    if not key:
        raise WorkspaceError(
            "ELEVENLABS_API_KEY is not set or empty (or use --sandbox to run against the local emulator)"
        )
    if not key.isascii() or not key.isprintable() or " " in key:
        # Never echo the key: say what is wrong with it only.
        raise WorkspaceError("ELEVENLABS_API_KEY contains spaces, control or non-ASCII characters: check its value")
    return Target(url, key)


def retry_policy(environ: Mapping[str, str] | None = None) -> RetryPolicy:
    """Defaults suit the real API; TELEPHONY_RETRY_* shrink them (tests, fault drills)."""
    env = os.environ if environ is None else environ
    base = RetryPolicy()

    def number(name: str, default: float) -> float:
        try:
            return float(env.get(name, default))
        except ValueError:
            return default

    return RetryPolicy(
        max_attempts=int(number("TELEPHONY_RETRY_ATTEMPTS", base.max_attempts)),
        base_delay=number("TELEPHONY_RETRY_BASE_DELAY", base.base_delay),
        max_delay=number("TELEPHONY_RETRY_MAX_DELAY", base.max_delay),
        max_retry_after=number("TELEPHONY_RETRY_AFTER_CAP", base.max_retry_after),
    )
