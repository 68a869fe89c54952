"""Salted fingerprints stand in for secret values, so no state file or response holds a secret.

The emulator never needs a secret back: it only has to know one was set (and, for tests,
whether a later value equals an earlier one), so a salted SHA-256 is enough.
"""

from __future__ import annotations

import hashlib
import secrets


def new_salt() -> str:
    return secrets.token_hex(16)


def fingerprint(salt: str, value: str) -> str:
    return "sha256:" + hashlib.sha256(f"{salt}:{value}".encode()).hexdigest()
