"""Identifiers in the formats the real API hands out.

New-style ids are `<prefix>_` + 2 digits + a 26-character lowercase ULID (48-bit millisecond
time + 80 random bits in Crockford base32), e.g. `phnum_1401k8gyww19evptjqeqnm8hs3x5`. Clients
must treat ids as opaque; matching the format keeps log-reading and id-sniffing code honest.
"""

from __future__ import annotations

import secrets
import time

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def _ulid(now_ms: int, rand: int) -> str:
    value = (now_ms << 80) | rand
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A fresh id such as `agent_3701k3ttaq12ewp8b7qv5rfyszkz`."""
    digits = f"{secrets.randbelow(100):02d}"
    return f"{prefix}_{digits}{_ulid(int(time.time() * 1000), secrets.randbits(80))}"


def request_id() -> str:
    """The 32-hex `request_id` carried by error bodies."""
    return secrets.token_hex(16)


def call_sid() -> str:
    """A Twilio-style call SID (`CA` + 32 hex)."""
    return "CA" + secrets.token_hex(16)
