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

from provisioner.client import RetryPolicy

REGION_URLS = {
    "default": "https://api.elevenlabs.io",
    "us": "https://api.us.elevenlabs.io",
    "eu": "https://api.eu.residency.elevenlabs.io",
    "in": "https://api.in.residency.elevenlabs.io",
    "sg": "https://api.sg.residency.elevenlabs.io",
}
SANDBOX_URL = "sandbox://.telephony/sandbox.json"


class WorkspaceError(Exception):
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


def api_url(flag: str | None, region: str, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    url = flag or env.get("ELEVENLABS_BASE_URL") or REGION_URLS.get(region, REGION_URLS["default"])
    return url.rstrip("/")


def resolve_target(flag_url: str | None, region: str, environ: Mapping[str, str] | None = None) -> Target:
    env = os.environ if environ is None else environ
    key = env.get("ELEVENLABS_API_KEY", "")
    if not key:
        raise WorkspaceError("ELEVENLABS_API_KEY is not set (or use --sandbox to run against the local emulator)")
    return Target(api_url(flag_url, region, env), key)


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
