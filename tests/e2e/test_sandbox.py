"""`--sandbox`: the README quick start on the root telephony.yaml, and every example converging."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = [ROOT / "telephony.yaml", *sorted((ROOT / "examples").glob("*.yaml"))]


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "TELEPHONY_"))}
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = str(ROOT)  # this checkout's code, whatever `pip install -e` points at
    return subprocess.run(
        [sys.executable, "-m", "provisioner", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.e2e
@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name)
def test_sandbox_apply_then_plan_is_clean(manifest: Path, tmp_path: Path) -> None:
    shutil.copy(manifest, tmp_path / "telephony.yaml")
    extra = ["--env", "staging"] if "environments:" in manifest.read_text() else []
    applied = run(tmp_path, "apply", "--sandbox", "--auto-approve", *extra)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert (tmp_path / ".telephony" / "sandbox.json").exists()
    assert "dummy values" in applied.stderr or "${" not in manifest.read_text()
    plan = run(tmp_path, "plan", "--sandbox", "--detailed-exitcode", *extra)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes." in plan.stdout
    assert run(tmp_path, "drift", "--sandbox", *extra).returncode == 0
