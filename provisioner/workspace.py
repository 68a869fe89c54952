"""Which workspace a command talks to: API URL, key, key fingerprint, retry tuning, limits.

The base URL comes from `--api-url`, else `ELEVENLABS_BASE_URL`, else the manifest's
`workspace.region`. The key comes from `ELEVENLABS_API_KEY`, or from the variable the environment
names (`environments.<name>.api_key_env`, then that variable only), never from a flag (flags end
up in shell history and CI logs). Plans record the URL and a short fingerprint of the key, never the key,
so a plan made against staging cannot be applied with the production key. A URL is shown only
without its `user:password@` part (`redact.display_url`), and a `?query` or `#fragment` is refused.

Limits (docs/limits.md): TELEPHONY_STALL_TIMEOUT, TELEPHONY_MAX_RESPONSE_BYTES,
TELEPHONY_MAX_PAGES (`limits`), and the run deadline, `--deadline` or TELEPHONY_DEADLINE
(`deadline`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from provisioner.api.client import Limits, RetryPolicy
from provisioner.errors import ConfigError
from provisioner.grammar import API_KEY_VARIABLE
from provisioner.redact import display_url, remember_url

REGION_URLS = {
    "default": "https://api.elevenlabs.io",
    "us": "https://api.us.elevenlabs.io",
    "eu": "https://api.eu.residency.elevenlabs.io",
    "in": "https://api.in.residency.elevenlabs.io",
    "sg": "https://api.sg.residency.elevenlabs.io",
}


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
        return {"api_url": display_url(self.api_url), "key_fingerprint": self.fingerprint}


def key_fingerprint(key: str) -> str:
    """A short, non-reversible tag for the key: enough to tell two workspaces apart."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:12]


def check_url(url: str, source: str) -> str:
    """`url` without a trailing slash, or `WorkspaceError` saying what is wrong with it."""
    url = url.strip().rstrip("/")
    remember_url(url)  # its password is scrubbed from every message from now on
    shown = display_url(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        raise WorkspaceError(f"{source} {shown!r} is not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WorkspaceError(f"{source} {shown!r} is not an http(s) URL (e.g. https://api.elevenlabs.io)")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise WorkspaceError(
            f"{source} {shown!r} has a ?query or #fragment: give the API's base URL only (e.g. https://api.elevenlabs.io)"
        )
    if parts.path.rstrip("/").endswith("/v1"):
        raise WorkspaceError(f"{source} {shown!r} must be the API's base URL, without /v1 (the paths add it)")
    return url


def api_url(flag: str | None, region: str, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    if flag is not None:
        return check_url(flag, "--api-url")
    if env.get("ELEVENLABS_BASE_URL", "").strip():
        return check_url(env["ELEVENLABS_BASE_URL"], "ELEVENLABS_BASE_URL")
    return REGION_URLS.get(region, REGION_URLS["default"])


def resolve_target(
    flag_url: str | None,
    region: str,
    environ: Mapping[str, str] | None = None,
    *,
    key_variable: str | None = None,
    env_name: str | None = None,
) -> Target:
    """The workspace to talk to. `key_variable` is the environment's `api_key_env`: the key is read
    from it alone, never from ELEVENLABS_API_KEY, so a production run cannot use another key."""
    env = os.environ if environ is None else environ
    url = api_url(flag_url, region, env)
    variable = key_variable or API_KEY_VARIABLE
    # Surrounding whitespace (a pasted key, a CRLF .env file) is never part of a key.
    key = env.get(variable, "").strip()
    if not key:
        if key_variable:
            raise WorkspaceError(
                f"{variable} is not set or empty: environment '{env_name}' reads its API key from it "
                f"(environments.{env_name}.api_key_env), never from {API_KEY_VARIABLE}"
            )
        raise WorkspaceError(f"{variable} is not set or empty (or use --sandbox to run against the local emulator)")
    if not key.isascii() or not key.isprintable() or " " in key:
        # Never echo the key: say what is wrong with it only.
        raise WorkspaceError(f"{variable} contains spaces, control or non-ASCII characters: check its value")
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


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise WorkspaceError(f"{name}={raw!r} is not a positive number")
    return value


def limits(environ: Mapping[str, str] | None = None) -> Limits:
    """The stall guard, response-size cap and page cap; TELEPHONY_* change them (docs/limits.md)."""
    env = os.environ if environ is None else environ
    base = Limits()
    return Limits(
        stall_timeout=_positive(env, "TELEPHONY_STALL_TIMEOUT", base.stall_timeout),
        max_response_bytes=int(_positive(env, "TELEPHONY_MAX_RESPONSE_BYTES", base.max_response_bytes)),
        max_pages=max(1, int(_positive(env, "TELEPHONY_MAX_PAGES", base.max_pages))),
    )


READ_DEADLINE = 900.0  # plan and drift: generous; apply has none unless asked


def deadline(flag: float | None, default: float | None, environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds the run may take: `--deadline`, else TELEPHONY_DEADLINE, else `default`; 0 is none."""
    env = os.environ if environ is None else environ
    if flag is not None:
        value, source = flag, "--deadline"
    elif env.get("TELEPHONY_DEADLINE", "").strip():
        raw = env["TELEPHONY_DEADLINE"].strip()
        source = "TELEPHONY_DEADLINE"
        try:
            value = float(raw)
        except ValueError:
            raise WorkspaceError(f"TELEPHONY_DEADLINE={raw!r} is not a number of seconds (0 turns it off)") from None
    else:
        return default
    if value != value or value < 0 or value == float("inf"):
        raise WorkspaceError(f"{source} must be a number of seconds, 0 to turn it off")
    return value or None
