"""Sandbox apply time and state-file writes for N and 2N numbers, side by side in one run.

The sandbox used to rewrite and fsync its whole state file on every write (quadratic: 1,000
numbers 28 s, 2,000 numbers 84 s). It now batches writes (at most one per second, and one when
the client closes), so doubling the numbers should about double the time: the ratio printed last.

    python benchmarks/sandbox.py [--numbers 500] [--repeat 1]     (after pip install -e '.[sandbox]')
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = str(Path(__file__).resolve().parents[1])


def manifest(count: int) -> str:
    lines = [
        "version: 1",
        "agents: {a: {id: agent_3701k3ttaq12ewp8b7qv5rfyszkz}}",
        "sip_trunks: {pbx: {outbound: {address: pbx.example.com, transport: tls}}}",
        "phone_numbers:",
    ]
    lines += [
        f'  n{i}: {{number: "+1415{i:07d}", label: L{i}, provider: sip_trunk, sip_trunk: pbx, agent: a}}'
        for i in range(count)
    ]
    return "\n".join(lines) + "\n"


def apply_once(count: int) -> tuple[float, int]:
    """Wall seconds of `apply --sandbox` from an empty sandbox, and the state files written."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "telephony.yaml").write_text(manifest(count))
        # Count state writes through a tiny wrapper: persistence.atomic_write is patched in-process.
        code = (
            "import sys; from provisioner.emulator import persistence as p; n=[0]; w=p.atomic_write\n"
            "def counted(path, data): n[0]+=1; w(path, data)\n"
            "p.atomic_write=counted\n"
            "import atexit; atexit.register(lambda: print('WRITES', n[0], file=sys.stderr))\n"
            "sys.argv=['telephony','apply','--sandbox','--auto-approve']\n"
            "from provisioner.cli import main; main()\n"
        )
        env = {**os.environ, "PYTHONPATH": REPO}
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], cwd=tmp, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"apply failed ({done.returncode}): {done.stderr[-500:]}")
        writes = int(done.stderr.rsplit("WRITES", 1)[1].split()[0])
        return elapsed, writes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    rows = []
    for count in (args.numbers, 2 * args.numbers):
        runs = [apply_once(count) for _ in range(args.repeat)]
        rows.append((count, statistics.median(r[0] for r in runs), runs[0][1]))
    print(f"{'numbers':>8} {'apply wall s':>13} {'state writes':>13}")
    for count, wall, writes in rows:
        print(f"{count:>8} {wall:>13.2f} {writes:>13}")
    print(f"time ratio {rows[1][0]}/{rows[0][0]} numbers: {rows[1][1] / rows[0][1]:.2f} (linear: about 2)")


if __name__ == "__main__":
    main()
