"""`--sandbox`: the README quick start on the root telephony.yaml, and every example converging."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = [ROOT / "telephony.yaml", *sorted((ROOT / "examples").glob("*.yaml"))]


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd)


@pytest.mark.e2e
@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name)
def test_sandbox_apply_then_plan_is_clean(manifest: Path, tmp_path: Path) -> None:
    shutil.copy(manifest, tmp_path / "telephony.yaml")
    extra = ["--env", "staging"] if "environments:" in manifest.read_text() else []
    applied = run(tmp_path, "apply", "--sandbox", "--auto-approve", *extra)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert (tmp_path / ".telephony" / "sandbox-telephony.json").exists()
    assert "dummy values" in applied.stderr or "${" not in manifest.read_text()
    plan = run(tmp_path, "plan", "--sandbox", "--detailed-exitcode", *extra)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes." in plan.stdout
    assert run(tmp_path, "drift", "--sandbox", *extra).returncode == 0
