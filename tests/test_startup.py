"""Startup stays cheap: registering the commands imports none of the reconciler's heavy dependencies.

`telephony --version` and `telephony validate` must not pay for deepdiff/numpy, httpx or the
emulator's FastAPI/uvicorn; `plan`, `apply`, `drift` and `--sandbox` import them when they run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("deepdiff", "numpy", "fastapi", "uvicorn", "starlette", "httpx", "rich")


def loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
def test_importing_the_cli_imports_no_heavy_module() -> None:
    assert loaded_after("import provisioner.cli") == []


@pytest.mark.slow
def test_the_diff_module_defers_deepdiff_until_a_diff_is_made() -> None:
    assert "deepdiff" not in loaded_after("import provisioner.diff")
    assert "deepdiff" in loaded_after("from provisioner.diff import diff_views\ndiff_views({'a': 1}, {'a': 2})")
