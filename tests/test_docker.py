"""The Dockerfile builds an image that runs `telephony` as a non-root user.

Only where a Docker engine answers (`docker info` succeeds); elsewhere (no client, or a client
without an engine, as on most CI runners' test containers) every test here is skipped.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner import __version__
from tests.helpers import ROOT

pytestmark = pytest.mark.slow
IMAGE = f"telephony-test:{__version__}"


def engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    if not engine_answers():
        pytest.skip("no Docker engine answers (`docker info` failed)")
    built = subprocess.run(["docker", "build", "-t", IMAGE, str(ROOT)], capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    yield IMAGE
    subprocess.run(["docker", "image", "rm", "-f", IMAGE], capture_output=True, timeout=120)


def docker_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "run", "--rm", *args], capture_output=True, text=True, timeout=300)


def test_the_image_prints_its_version(image: str) -> None:
    out = docker_run(image, "--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"telephony, version {__version__}"


def test_the_image_runs_as_a_non_root_user(image: str) -> None:
    out = docker_run("--entrypoint", "id", image, "-u")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() != "0"


def test_the_image_validates_a_mounted_manifest(image: str, tmp_path: Path) -> None:
    tmp_path.chmod(0o755)  # readable by the image's user
    manifest = tmp_path / "telephony.yaml"
    manifest.write_text('version: 1\nphone_numbers:\n  main: {number: "+1415", provider: sip_trunk}\n')
    manifest.chmod(0o644)
    bad = docker_run("-v", f"{tmp_path}:/work:ro", image, "validate")
    assert bad.returncode == 1
    assert "telephony.yaml:3:" in bad.stdout
    manifest.write_text("version: 1\n")
    good = docker_run("-v", f"{tmp_path}:/work:ro", image, "validate")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "valid: 0 errors" in good.stdout
