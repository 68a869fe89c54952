"""Every example manifest converges under every reading of the API, and leaves unowned values alone.

In-process (the emulator app built with `semantics=`): apply, re-plan empty, apply with
`--rotate-secrets`, re-plan empty; the agents' prompts and first messages and the workspace's
other settings are compared before and after. The removal cycle is the e2e readings matrix's job
(tests/e2e/test_readings_e2e.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from provisioner.emulator import build_app
from provisioner.emulator.semantics import one_switch_at_a_time
from provisioner.emulator.testing import inprocess_controls
from provisioner.loader import load
from provisioner.manifest import Manifest
from provisioner.planner import Options
from tests import helpers

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = [ROOT / "telephony.yaml", *sorted((ROOT / "examples").glob("*.yaml"))]
READINGS = one_switch_at_a_time()
PROMPT = "Authored elsewhere: never touched."
SETTINGS = {"can_use_mcp_servers": True, "rag_retention_period_days": 17, "default_livekit_stack": "static"}


class Environ(dict[str, str]):
    """Every `${VAR}` resolves to a value derived from its name (none is a real secret)."""

    def __missing__(self, key: str) -> str:
        return "AC" + "1" * 32 if key.endswith("SID") else f"value-of-{key.lower()}"

    def get(self, key: str, default: Any = None) -> str:  # type: ignore[override]
        return self[key]

    def __contains__(self, key: object) -> bool:
        return True


def manifest_of(path: Path) -> Manifest:
    env = "staging" if "environments:" in path.read_text() else None
    return load(path, env=env, environ=Environ()).manifest


def unowned(workspace: dict[str, Any]) -> dict[str, Any]:
    settings = workspace["settings"]
    agents = {
        a["agent_id"]: (a["conversation_config"]["agent"]["prompt"]["prompt"], a["conversation_config"]["tts"])
        for a in workspace["agents"]
    }
    return {"settings": {k: settings.get(k) for k in SETTINGS}, "agents": agents}


async def converge(path: Path, semantics: str) -> list[str]:
    manifest = manifest_of(path)
    seed = {
        "agents": [
            {"agent_id": a.id, "name": alias, "conversation_config": {"agent": {"prompt": {"prompt": PROMPT}}}}
            for alias, a in manifest.agents.items()
        ]
    }
    app = build_app(seed=seed, semantics=semantics or None)
    env = Environ()
    async with helpers.emulator_client(app) as client:
        await client.request("PATCH", "/v1/convai/settings", body=SETTINGS)
        before = unowned(await inprocess_controls(app).state())
        problems: list[str] = []
        for options in (Options(), Options(rotate_secrets=True)):
            _, report = await helpers.plan_and_apply(client, manifest, env, options)
            problems += [f"{r.address}: {r.status} {r.message}" for r in report.results if r.status != "applied"]
            again = await helpers.replan(client, manifest)
            problems += [f"replan {c.address}: {[f.path for f in c.fields]}" for c in again.actionable]
        if unowned(await inprocess_controls(app).state()) != before:
            problems.append("a value the tool does not own changed")
        return problems


@pytest.mark.slow
@pytest.mark.parametrize("semantics", READINGS, ids=lambda s: s or "defaults")
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_converges_under_every_reading(path: Path, semantics: str) -> None:
    assert asyncio.run(converge(path, semantics)) == []
