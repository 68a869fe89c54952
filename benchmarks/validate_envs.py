"""`validate` time against the number of environments: identical ones share one check.

`validate` used to parse and render the whole file once per environment (2,000 small environments
took over 15 minutes). It now parses once, renders each environment once and checks each distinct
rendering once. This prints, for E environments that render the same text and E that differ, the
wall time of `validate` and the ratio against a single environment.

    python benchmarks/validate_envs.py [--environments 200]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = str(Path(__file__).resolve().parents[1])


def manifest(count: int, *, distinct: bool) -> str:
    lines = [
        "version: 1",
        "agents: {a: {id: agent_3701k3ttaq12ewp8b7qv5rfyszkz}}",
        "phone_numbers:",
        "  line:",
        '    number: "+14155550100"',
        '    label: "Line ${{ vars.suffix }}"',
        "    provider: twilio",
        '    twilio: {account_sid: "${SID}", auth_token: "${TOKEN}"}',
        "    agent: a",
        "environments:",
    ]
    lines += [f"  e{i}: {{vars: {{suffix: {'x' + str(i) if distinct else 'same'}}}}}" for i in range(count)]
    return "\n".join(lines) + "\n"


def timed(text: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "telephony.yaml").write_text(text)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "provisioner", "validate"],
            cwd=tmp,
            env={"PYTHONPATH": REPO, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"validate failed: {done.stdout[-400:]}{done.stderr[-400:]}")
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environments", type=int, default=200)
    args = parser.parse_args()
    one = timed(manifest(1, distinct=False))
    same = timed(manifest(args.environments, distinct=False))
    distinct = timed(manifest(args.environments, distinct=True))
    print(f"{'environments':>22} {'validate wall s':>16} {'vs one':>8}")
    print(f"{'1':>22} {one:>16.2f} {1.0:>8.2f}")
    print(f"{f'{args.environments} identical':>22} {same:>16.2f} {same / one:>8.2f}")
    print(f"{f'{args.environments} distinct':>22} {distinct:>16.2f} {distinct / one:>8.2f}")


if __name__ == "__main__":
    main()
