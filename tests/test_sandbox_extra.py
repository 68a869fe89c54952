"""The emulator is the optional extra `telephony[sandbox]`: without FastAPI/uvicorn, `--sandbox` and
`telephony emulator serve` say so in one line (exit 1), and everything else still works.

The CLI runs in a subprocess whose PYTHONPATH starts with stand-in `fastapi` and `uvicorn`
packages that fail to import, as on a `pip install telephony` without the extra (`slow`: one
CLI start each); `require_emulator` itself is checked in-process too.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from provisioner.sandbox import SandboxUnavailable, require_emulator
from provisioner.workspace import WorkspaceError
from tests.helpers import ROOT, cli_env, run_cli

HINT = "pip install 'telephony[sandbox]'"


def forget_emulator(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    """Make the next `import provisioner.emulator` run again, with `missing` not importable."""
    for name in [m for m in sys.modules if m.startswith("provisioner.emulator")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delattr(sys.modules["provisioner"], "emulator", raising=False)
    monkeypatch.setitem(sys.modules, missing, None)  # `import missing` raises ImportError


@pytest.mark.parametrize("missing", ["fastapi", "uvicorn"])
def test_require_emulator_names_the_extra(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    forget_emulator(monkeypatch, missing)
    with pytest.raises(SandboxUnavailable) as caught:
        require_emulator("`telephony emulator serve`", server=True)
    assert str(caught.value) == f"`telephony emulator serve` needs the emulator: {HINT}"
    assert isinstance(caught.value, WorkspaceError)  # what plan/apply/drift print as one `Error:` line


def test_a_broken_import_inside_the_package_is_not_blamed_on_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    forget_emulator(monkeypatch, "provisioner.emulator.store")
    with pytest.raises(ImportError) as caught:
        require_emulator()
    assert not isinstance(caught.value, SandboxUnavailable)


@pytest.fixture(scope="module")
def no_extra(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment in which importing fastapi or uvicorn fails."""
    stubs = tmp_path_factory.mktemp("no-extra")
    for name in ("fastapi", "uvicorn"):
        (stubs / name).mkdir()
        (stubs / name / "__init__.py").write_text(f"raise ImportError('{name} is not installed (test stub)')\n")
    return cli_env(PYTHONPATH=str(stubs))


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "telephony.yaml", tmp_path / "telephony.yaml")
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "feature"),
    [
        (["plan", "--sandbox"], "--sandbox"),
        (["apply", "--sandbox", "--auto-approve"], "--sandbox"),
        (["drift", "--sandbox"], "--sandbox"),
        (["emulator", "serve", "--port", "0"], "`telephony emulator serve`"),
    ],
)
def test_without_the_extra_the_emulator_is_one_error_line(
    no_extra: dict[str, str], workdir: Path, args: list[str], feature: str
) -> None:
    result = run_cli(*args, cwd=workdir, env=no_extra)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if "warning:" not in line]
    assert errors == [f"Error: {feature} needs the emulator: {HINT}"], result.stderr
    assert "Traceback" not in result.stderr
    assert not (workdir / ".telephony").exists()


@pytest.mark.slow
def test_without_the_extra_validate_and_help_still_work(no_extra: dict[str, str], workdir: Path) -> None:
    result = run_cli("validate", cwd=workdir, env=no_extra)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("valid: 0 errors")
    assert run_cli("emulator", "serve", "--help", env=no_extra).returncode == 0


@pytest.mark.slow
def test_without_the_extra_plan_against_a_workspace_imports_no_emulator(
    no_extra: dict[str, str], workdir: Path
) -> None:
    # Nothing listens on port 9: plan gets as far as its first API call, with no emulator import on the way.
    env = {**no_extra, "ELEVENLABS_API_KEY": "k", "TELEPHONY_RETRY_ATTEMPTS": "1"}
    result = run_cli("plan", "--api-url", "http://127.0.0.1:9", cwd=workdir, env=env)
    assert result.returncode == 1
    assert "cannot connect to http://127.0.0.1:9" in result.stderr
    assert HINT not in result.stderr and "Traceback" not in result.stderr
