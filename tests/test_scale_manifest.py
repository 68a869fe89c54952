"""A manifest of 10,000 numbers: the fast paths for large manifests give the same answers.

Correctness only, never timing (benchmarks/scale.py measures time): validate finds it valid; a bad
number at index 9,999 is reported at its own line and column; the YAML built by the fast loop
equals PyYAML's own construction, marks included; and after apply, a plan against the in-process
emulator sees no changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provisioner import library, yamlsource
from provisioner.loader import load
from tests.helpers import emulator_client, plan_and_apply, replan

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

COUNT = 10_000
AGENT_IDS = [f"agent_{k:03d}" for k in range(50)]
SEEDED = COUNT - 10  # numbers already in the workspace; apply imports the rest


def e164(i: int) -> str:
    return f"+1415{i:07d}"


def manifest_text(bad_last: bool = False) -> str:
    """One number a line, as `benchmarks/scale.py` writes them; every 100th in block style, so
    both of YAML's styles go through the loader."""
    lines = ["version: 1", "agents:"]
    lines += [f"  a{k}: {{id: {agent}}}" for k, agent in enumerate(AGENT_IDS)]
    lines += [
        "sip_trunks:",
        "  pbx: {outbound: {address: pbx.example.com, transport: tls}, inbound: {allowed_addresses: [10.0.0.0/8]}}",
        "phone_numbers:",
    ]
    for i in range(COUNT):
        number = "not-a-number" if bad_last and i == COUNT - 1 else e164(i)
        agent = f"a{i % len(AGENT_IDS)}"
        if i % 100 == 0:
            lines += [f"  n{i}:", f"    number: '{number}'", f"    label: Line {i}", "    provider: sip_trunk"]
            lines += ["    sip_trunk: pbx", f"    agent: {agent}"]
        else:
            fields = f"number: '{number}', label: 'Line {i}', provider: sip_trunk, sip_trunk: pbx, agent: {agent}"
            lines.append(f"  n{i}: {{{fields}}}")
    return "\n".join(lines) + "\n"


def seed() -> dict[str, Any]:
    """The workspace as a converged apply leaves it, for all but the last few numbers."""
    numbers = [
        {
            "provider": "sip_trunk",
            "phone_number": e164(i),
            "label": f"Line {i}",
            "agent_id": AGENT_IDS[i % len(AGENT_IDS)],
            "outbound_trunk_config": {"address": "pbx.example.com", "transport": "tls"},
            "inbound_trunk_config": {"allowed_addresses": ["10.0.0.0/8"]},
        }
        for i in range(SEEDED)
    ]
    agents = [{"agent_id": agent, "name": agent} for agent in AGENT_IDS]
    return {"agents": agents, "phone_numbers": numbers}


def test_validate_finds_a_large_manifest_valid(tmp_path: Path) -> None:
    path = tmp_path / "telephony.yaml"
    path.write_text(manifest_text())
    diagnostics = library.validate(path, environ={})
    assert [d for d in diagnostics if d.severity == "error"] == []
    assert len(load(path, environ={}).manifest.phone_numbers) == COUNT


def test_a_bad_last_number_is_located_at_its_line_and_column(tmp_path: Path) -> None:
    text = manifest_text(bad_last=True)
    path = tmp_path / "telephony.yaml"
    path.write_text(text)
    lines = text.split("\n")
    line = next(n for n, content in enumerate(lines, 1) if content.startswith(f"  n{COUNT - 1}:"))
    column = lines[line - 1].index("'not-a-number'") + 1
    errors = [d for d in library.validate(path, environ={}) if d.severity == "error"]
    assert [(d.file, d.line, d.column) for d in errors] == [(str(path), line, column)]
    assert "not-a-number" in errors[0].message or "E.164" in errors[0].message


def _same(fast: Any, slow: Any, path: str = "") -> None:
    assert type(fast) is type(slow), path
    if isinstance(fast, yamlsource.MarkedDict):
        assert list(fast) == list(slow), path
        assert (fast.start, fast.key_marks, fast.value_marks, fast.plain) == (
            slow.start,
            slow.key_marks,
            slow.value_marks,
            slow.plain,
        ), path
        for key in fast:
            _same(fast[key], slow[key], f"{path}.{key}")
    elif isinstance(fast, yamlsource.MarkedList):
        assert (len(fast), fast.start, fast.item_marks, fast.plain) == (
            len(slow),
            slow.start,
            slow.item_marks,
            slow.plain,
        ), path
        for index, (a, b) in enumerate(zip(fast, slow, strict=True)):
            _same(a, b, f"{path}[{index}]")
    else:
        assert fast == slow, path


@pytest.mark.parametrize(
    "text",
    [
        manifest_text(),
        # Duplicate keys at several depths: reported in PyYAML's order, level by level.
        "a: {x: 1, x: 2}\nb:\n  c: [1, {d: 1, d: 2}]\n  c: 3\na: yes\n"
        "e: [null, 1.5, 0x1F, 2001-12-14, !!binary aGk=]\n",
        "plain: text\n'quoted': \"text\"\nblock: |\n  lines\nempty:\nlist: [a, 'b', c]\n",
    ],
    ids=["10000-numbers", "duplicates-and-types", "styles"],
)
def test_the_fast_construction_equals_pyyaml_s(text: str) -> None:
    fast_loader, slow_loader = yamlsource._Loader(text), yamlsource._Loader(text)
    try:
        fast = fast_loader.construct_fast(fast_loader.get_single_node())
        slow = slow_loader.construct_document(slow_loader.get_single_node())
        _same(fast, slow)
        assert fast_loader.problems == slow_loader.problems
    finally:
        fast_loader.dispose()
        slow_loader.dispose()


async def test_plan_after_apply_sees_no_changes(tmp_path: Path) -> None:
    from provisioner.emulator import build_app

    path = tmp_path / "telephony.yaml"
    path.write_text(manifest_text())
    manifest = load(path, environ={}).manifest
    async with emulator_client(build_app(seed=seed()), api_key="k") as client:
        plan, report = await plan_and_apply(client, manifest, environ={})
        counts = plan.counts()
        assert (counts["create"], counts["update"], counts["replace"], counts["delete"]) == (COUNT - SEEDED, 0, 0, 0)
        assert {r.status for r in report.results} == {"applied"}
        after = await replan(client, manifest)
    assert not after.has_changes
    assert after.counts()["no-op"] >= COUNT
    assert not after.unmanaged
