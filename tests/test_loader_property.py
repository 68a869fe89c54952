"""Property: whatever the text, `load` returns a result or raises ManifestInvalid, nothing else."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.diagnostics import ManifestInvalid
from provisioner.loader import load

pytestmark = pytest.mark.slow  # property-based: hundreds of generated examples

ROOT = Path(__file__).parent.parent
SEEDS = [
    (ROOT / "telephony.yaml").read_text(),
    *(p.read_text() for p in sorted((ROOT / "examples").glob("*.yaml"))),
]
KEYS = [
    "version",
    "workspace",
    "region",
    "prune",
    "max_deletes",
    "pre_call_webhook",
    "url",
    "headers",
    "agents",
    "id",
    "dynamic_variables",
    "transfers",
    "to",
    "type",
    "condition",
    "wait_message",
    "handoff_message",
    "sip_headers",
    "post_dial_digits",
    "uui",
    "data",
    "overrides",
    "sip_trunks",
    "outbound",
    "inbound",
    "address",
    "transport",
    "media_encryption",
    "codecs",
    "credentials",
    "username",
    "password",
    "allowed_addresses",
    "static_ip",
    "phone_numbers",
    "number",
    "label",
    "provider",
    "twilio",
    "sip_trunk",
    "agent",
    "account_sid",
    "auth_token",
    "caller_id_only",
    "environments",
    "vars",
    "support",
    "pbx",
    "line",
]
VALUES = st.sampled_from(
    [
        1,
        0,
        -1,
        2.5,
        True,
        None,
        "",
        "twilio",
        "sip_trunk",
        "tls",
        "udp",
        "sip_refer",
        "blind",
        "+14155550100",
        "4155550100",
        "sip:x@y",
        "{{v}}",
        "sip:{{v}}",
        "${VAR}",
        "${{ vars.x }}",
        "pbx",
        "support",
        "agent_1",
        "AC0123456789abcdef0123456789abcdef",
        "SK123",
        "PCMU/8000",
        "http://x",
        "https://x",
        "203.0.113.0/24",
    ]
)
SNIPPETS = [
    "\n",
    ":",
    "- ",
    "{",
    "}",
    "[",
    "]",
    "&a ",
    "*a",
    "!!",
    "|",
    ">",
    "'",
    '"',
    "#",
    "\t",
    "---\n",
    "${{",
    "}}",
    "{%",
    "%}",
    "{{",
    "${",
    "<<: ",
    "? ",
    ",",
    "\x00",
    "\ufeff",
    "\u00e9",
]
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        yield Path(directory) / "telephony.yaml"


def check(path: Path, text: str | bytes, env: str | None = None) -> None:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load(path, env=env, environ={"VAR": "x"})
    except ManifestInvalid as exc:
        assert exc.diagnostics, "ManifestInvalid without a diagnostic"
        assert all(d.line >= 1 and d.column >= 1 for d in exc.diagnostics)


@FAST
@given(text=st.text(max_size=300))
def test_random_text(scratch: Path, text: str) -> None:
    check(scratch, text.encode("utf-8", errors="replace"))


@FAST
@given(raw=st.binary(max_size=200))
def test_random_bytes(scratch: Path, raw: bytes) -> None:
    check(scratch, raw)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "duplicate", "replace"]))
        if action == "insert":
            text = text[:at] + draw(st.sampled_from(SNIPPETS)) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif action == "duplicate":
            text = text[:at] + text[at : at + draw(st.integers(1, 80))] + text[at:]
        else:
            lines = text.split("\n")
            index = draw(st.integers(0, len(lines) - 1))
            key, _, _ = lines[index].partition(":")
            lines[index] = f"{key}: {draw(VALUES)!s}"
            text = "\n".join(lines)
    return text


@FAST
@given(text=mutated(), env=st.sampled_from([None, "staging", "production"]))
def test_mutated_manifests(scratch: Path, text: str, env: str | None) -> None:
    check(scratch, text, env)


def documents() -> st.SearchStrategy[Any]:
    scalars = VALUES
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS), children, max_size=5),
        max_leaves=30,
    )


@FAST
@given(body=st.dictionaries(st.sampled_from(KEYS), documents(), max_size=6))
def test_random_structures(scratch: Path, body: dict[str, Any]) -> None:
    check(scratch, yaml.safe_dump({"version": 1, **body}, allow_unicode=True))


TEMPLATE_PIECES = st.sampled_from(
    [
        "${{",
        "}}",
        "{%",
        "%}",
        "${#",
        "#}",
        " for x in vars.l ",
        " endfor ",
        " if ",
        " endif ",
        "vars.x",
        " x ",
        "\n",
        "'",
        '"',
        "#",
        " raw ",
        " endraw ",
        "-",
        "|",
        "range(3)",
        " set y = 1 ",
        "{{",
        "${",
        "a: b",
        "*",
        "9",
    ]
)


@FAST
@given(parts=st.lists(TEMPLATE_PIECES, max_size=25))
def test_random_templates(scratch: Path, parts: list[str]) -> None:
    check(scratch, "version: 1\n" + "".join(parts))
