"""The wheel as users get it: built, checked by twine, installed in a fresh venv, run from a
directory that holds only a telephony.yaml (so nothing of the checkout can be imported).

`slow`: a build (isolated, so setuptools comes from the index) and two pip installs. One venv:
first the bare wheel (no test extras, no sandbox), then the `[sandbox]` extra on top.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from provisioner import __version__
from tests.wheel import Venv

pytestmark = pytest.mark.slow

MANIFEST = """\
version: 1
requires: ">=0.2"
phone_numbers:
  main:
    number: "+14155550100"
    provider: twilio
    label: Main line
    twilio: {account_sid: "${TWILIO_ACCOUNT_SID}", auth_token: "${TWILIO_AUTH_TOKEN}"}
"""
DATA = (
    "provisioner/py.typed",
    "provisioner/templates/plan.md.j2",
    "provisioner/api/agent_request_fields.json",
    "provisioner/emulator/agent_schema.json",
    "provisioner/emulator/known_fields.json",
)


def test_the_sdist_and_wheel_pass_twine_check_and_carry_the_package_data(built_package: tuple[Path, Path]) -> None:
    sdist, wheel = built_package
    assert wheel.name == f"telephony-{__version__}-py3-none-any.whl"
    out = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(wheel)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    assert set(DATA) <= in_wheel
    assert f"telephony-{__version__}.dist-info/licenses/LICENSE" in in_wheel
    with tarfile.open(sdist) as archive:
        in_sdist = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {*DATA, "LICENSE", "pyproject.toml"} <= in_sdist


def test_the_wheel_installs_and_runs_bare_then_with_the_sandbox_extra(
    built_wheel: Path, fresh_venv: Venv, tmp_path: Path
) -> None:
    # One test, in this order: the bare install first, then the extra on top (one venv, one install each).
    (tmp_path / "telephony.yaml").write_text(MANIFEST)
    fresh_venv.pip_install(str(built_wheel))
    version = fresh_venv.run("telephony", "--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"telephony, version {__version__}"
    # The installed package, not the checkout: its files live in the venv.
    where = fresh_venv.run("python", "-c", "import provisioner; print(provisioner.__file__)", cwd=tmp_path)
    assert where.stdout.strip().startswith(str(fresh_venv.path)), where.stdout + where.stderr
    valid = fresh_venv.run("telephony", "validate", cwd=tmp_path)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert "valid: 0 errors" in valid.stdout
    # Without the extra, --sandbox says what to install (one line, exit 1).
    bare = fresh_venv.run("telephony", "plan", "--sandbox", cwd=tmp_path)
    assert bare.returncode == 1
    assert "pip install 'telephony[sandbox]'" in bare.stderr and "Traceback" not in bare.stderr

    fresh_venv.pip_install(f"{built_wheel}[sandbox]")
    plan = fresh_venv.run("telephony", "plan", "--sandbox", "--detailed-exitcode", cwd=tmp_path)
    assert plan.returncode == 2, plan.stdout + plan.stderr  # 2: changes to make
    assert 'phone_number "main"' in plan.stdout
    # The Markdown renderer reads its template from the package data.
    markdown = fresh_venv.run("telephony", "plan", "--sandbox", "--format", "markdown", cwd=tmp_path)
    assert markdown.returncode == 0, markdown.stderr
    assert "phone_number.main" in markdown.stdout
