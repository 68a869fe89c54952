"""The built package: `built_wheel` (session fixture) and a fresh venv to install it in.

`built_wheel` makes the sdist and, from it, the wheel exactly as a release does (`python -m
build`: an isolated build, so it needs the index for setuptools) from a copy of the checkout's
package files, so the build writes nothing into the checkout. One build per test run: under
pytest-xdist the workers share it through a lock file in the run's common temp directory.
Tests that install the package (this project's wheel test, the CI-example tests) request it:

    def test_something(built_wheel: Path) -> None: ...

`Venv` is an empty virtual environment (`pip_install` uses this interpreter's pip with
`--python`); `venv.run("telephony", ...)` runs its
console scripts with a minimal environment (no PYTHONPATH: the checkout must not leak in).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import venv as venv_module
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_FILES = ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "CHANGELOG.md")
BUILD_TIMEOUT_S = 600


def build(out: Path) -> tuple[Path, Path]:
    """Build the sdist and the wheel into `out`; returns (sdist, wheel)."""
    source = out / "src"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    for name in PACKAGE_FILES:
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "provisioner", source / "provisioner", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = out / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(source)],
        check=True,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )
    [sdist] = dist.glob("telephony-*.tar.gz")
    [wheel] = dist.glob("telephony-*.whl")
    return sdist, wheel


def _shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker has its own basetemp (pytest-N/popen-gwK); their parent is this run's.
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "built-package"


@pytest.fixture(scope="session")
def built_package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sdist, wheel) of this checkout, built once per test run."""
    shared = _shared_dir(tmp_path_factory)
    shared.mkdir(parents=True, exist_ok=True)
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker builds; the others wait, then reuse it
        done = shared / "done"
        if not done.exists():
            try:
                sdist, wheel = build(shared)
            except subprocess.CalledProcessError as exc:
                pytest.fail(f"python -m build failed:\n{exc.stdout}\n{exc.stderr}")
            done.write_text(f"{sdist}\n{wheel}\n")
        sdist_text, wheel_text = done.read_text().split()
    return Path(sdist_text), Path(wheel_text)


@pytest.fixture(scope="session")
def built_wheel(built_package: tuple[Path, Path]) -> Path:
    """The path of this checkout's wheel (telephony-VERSION-py3-none-any.whl), built once per run."""
    return built_package[1]


@dataclass(frozen=True)
class Venv:
    path: Path

    @property
    def bin(self) -> Path:
        return self.path / ("Scripts" if os.name == "nt" else "bin")

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if k in ("HOME", "SYSTEMROOT", "PIP_INDEX_URL", "PIP_CACHE_DIR")}
        return {**keep, "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def pip_install(self, *requirements: str) -> None:
        """This interpreter's pip installs into the venv (`--python`): the venv needs no pip of its
        own, and skipping bytecode compilation keeps the install quick."""
        command = [sys.executable, "-m", "pip", "--python", str(self.bin / "python"), "install"]
        options = ["--disable-pip-version-check", "--no-compile", "-q"]
        out = subprocess.run([*command, *options, *requirements], capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, f"pip install {' '.join(requirements)} failed:\n{out.stdout}\n{out.stderr}"


@pytest.fixture(scope="session")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venv]:
    """An empty virtual environment (not even pip), shared by the tests of one worker."""
    path = tmp_path_factory.mktemp("venv")
    venv_module.create(path, with_pip=False, clear=True)
    yield Venv(path)
    shutil.rmtree(path, ignore_errors=True)
