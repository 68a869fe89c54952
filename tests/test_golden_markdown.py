"""The markdown comments, byte for byte, against tests/golden/*.md.

Each case renders a plan built from fixed inputs (tests/trunk_plans.py: manifest and live numbers
as literals, a fixed workspace, a fixed header) so the output is the same on every machine. When
a change to the markdown is intended, regenerate the files and review their diff:

    UPDATE_GOLDEN=1 python3 -m pytest -q tests/test_golden_markdown.py
"""

from __future__ import annotations

import difflib
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from provisioner.header import Header
from provisioner.plan import Plan
from provisioner.render import Mode, render
from tests.trunk_plans import NEW_ADDRESS, OLD_ADDRESS, live_number, trunk_plan

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = "UPDATE_GOLDEN=1 python3 -m pytest -q tests/test_golden_markdown.py"

GITHUB = Header(
    manifest="deploy/telephony.yaml",
    env="prod",
    commit="8f14e45fceea167a5a36dedd4bea2543c4a0f3b2",
    run_url="https://github.com/acme/voice/actions/runs/4242",
    warnings=("deploy/telephony.yaml:14:7: warning: trunk pbx sends no credentials; its PBX must allow-list by IP",),
)
GITLAB = Header(
    manifest="telephony.yaml",
    env="staging",
    commit="c4ca4238a0b923820dcc509a6f75849bc4ca4238",
    run_url="https://gitlab.example.com/acme/voice/-/pipelines/77",
)


def _changes() -> Plan:
    # 12 numbers share one trunk edit, one of them renamed live; a Twilio number is imported.
    live = [live_number(i) for i in range(11)] + [live_number(11, label="Renamed")]
    return trunk_plan(12, live, twilio=True)


def _unchanged_trunk(i: int) -> dict[str, Any]:
    live = live_number(i, address=NEW_ADDRESS)
    live["outbound_trunk"]["transport"] = "tls"
    return live


def _no_changes() -> Plan:
    return trunk_plan(3, [_unchanged_trunk(i) for i in range(3)], prune=True)


def _blocked() -> Plan:
    # prune with max_deletes 0: a number the manifest no longer declares cannot be deleted.
    live = [_unchanged_trunk(i) for i in range(2)] + [live_number(7, address=OLD_ADDRESS)]
    return trunk_plan(2, live, prune=True)


def _drifted() -> Plan:
    # Two numbers still on the old trunk, one moved by hand to a third host, one in sync; the
    # Twilio number is missing (and its note is a second footnote).
    live = [live_number(0), live_number(1), live_number(2, address="10.0.0.9"), _unchanged_trunk(3)]
    return trunk_plan(4, live, twilio=True)


def _clean() -> Plan:
    return trunk_plan(2, [_unchanged_trunk(i) for i in range(2)])


CASES: dict[str, tuple[Callable[[], Plan], Mode, Header]] = {
    "plan-changes": (_changes, "plan", GITHUB),
    "plan-no-changes": (_no_changes, "plan", Header()),
    "plan-blocked": (_blocked, "plan", Header(env="prod")),
    "drift-drifted": (_drifted, "drift", GITLAB),
    "drift-clean": (_clean, "drift", Header(manifest="infra/voice.yaml")),
}


def _markdown(name: str) -> str:
    build, mode, header = CASES[name]
    plan = build()
    out = io.StringIO()
    render(plan, out, "markdown", mode=mode, blocked=plan.blocked() if mode == "plan" else None, header=header)
    return out.getvalue()


@pytest.mark.parametrize("name", sorted(CASES))
def test_markdown_matches_its_golden_file(name: str) -> None:
    path = GOLDEN / f"{name}.md"
    actual = _markdown(name)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(actual, encoding="utf-8")
    expected = path.read_text(encoding="utf-8") if path.exists() else ""
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), str(path), "actual"))
        pytest.fail(f"{path.name} differs from the rendered markdown; if intended, run: {REGENERATE}\n{diff}")


def test_every_golden_file_is_a_case() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.md")) == sorted(CASES)


def test_the_cases_cover_what_they_are_named_for() -> None:
    # A golden file only guards what its input produces: check the inputs still produce it.
    changes = _changes()
    assert changes.has_changes and not changes.blocked()
    assert not _no_changes().has_changes
    assert _blocked().blocked()
    assert _drifted().has_changes
    assert not _clean().has_changes
