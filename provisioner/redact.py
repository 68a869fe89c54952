"""Keep secrets out of everything the tool prints: a registry of values to scrub, and URL display.

`remember(value)` records a value this run knows to be secret: the API key (the client registers
it), the password of a URL's `user:pass@` part, and every `${VAR}` value resolved so far
(`provisioner.secrets.resolve`). `scrub(text)` replaces each of them, also in its JSON-escaped
and URL-encoded forms (a server may echo the request body or headers in its error text), with
`***`. The registry is only ever used to scrub: nothing reads values back out of it.

`display_url(url)` is the one way a URL is shown: without its `user:password@` part.

Imports nothing of the tool: every layer may use it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from urllib.parse import quote, urlsplit, urlunsplit

MASK = "***"
MIN_LENGTH = 4  # shorter values would garble every message they occur in; no real key is that short

_lock = threading.Lock()
_values: set[str] = set()
_USERINFO = re.compile(r"(?<=//)[^/?#@\s]*@")


def _forms(value: str) -> set[str]:
    forms = {value, json.dumps(value)[1:-1], quote(value, safe=""), quote(value)}
    return {f for f in forms if len(f) >= MIN_LENGTH}


def remember(value: str | None) -> None:
    """Record `value` (and its escaped forms) as secret for the rest of the process."""
    if not value or len(value.strip()) < MIN_LENGTH:
        return
    with _lock:
        _values.update(_forms(value))
        _values.update(_forms(value.strip()))


def forget_all() -> None:
    """Empty the registry (tests)."""
    with _lock:
        _values.clear()


def scrub(text: str) -> str:
    """`text` with every remembered value replaced by `***`, and no URL userinfo."""
    with _lock:
        values = sorted(_values, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    return _USERINFO.sub("", text)


def display_url(url: str) -> str:
    """`url` without a `user:password@` part (also when the URL does not parse)."""
    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None and "@" not in parts.netloc:
            return url
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=host))
    except ValueError:
        return _USERINFO.sub("", url)


def display_workspace(workspace: Mapping[str, str]) -> dict[str, str]:
    """A plan's `workspace` (api_url, key_fingerprint) as shown: the URL without userinfo."""
    return {k: display_url(v) if k == "api_url" else v for k, v in workspace.items()}


def remember_url(url: str) -> None:
    """Record the password of `url`'s userinfo, if any, as secret."""
    try:
        password = urlsplit(url).password
    except ValueError:
        match = _USERINFO.search(url)
        password = match.group(0)[:-1].partition(":")[2] if match else None
    remember(password)
