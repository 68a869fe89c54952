import subprocess
import sys

from provisioner import __version__


def test_version_is_printed() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "provisioner", "--version"], capture_output=True, text=True, check=True
    )
    assert __version__ in out.stdout
