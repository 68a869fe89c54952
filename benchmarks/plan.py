"""No-op plan time for 200 and 1,000 numbers against the emulator served on loopback.

The workspace is seeded with exactly what the manifest declares, so the plan is "No changes":
this measures observe (paged list, agents, settings) + normalise + diff + plan, the work a CI
plan job or the nightly drift job does. octoDNS, the closest anchor, plans a zone of ~1,000
records in a few seconds against a real provider; the target here is well under that.

    python benchmarks/plan.py [--sizes 200,1000] [--repeat 3]     (after pip install -e '.[sandbox]')
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = str(Path(__file__).resolve().parents[1])
sys.path.insert(0, REPO)  # this checkout's `provisioner`, also for the CLI runs below
from provisioner.emulator.testing import start_server  # noqa: E402

AGENTS = ["agent_3701k3ttaq12ewp8b7qv5rfyszkz", "agent_4801k3ttaq12ewp8b7qv5rfysabc"]


def manifest(count: int) -> str:
    lines = [
        "version: 1",
        "agents:",
        f"  a: {{id: {AGENTS[0]}}}",
        f"  b: {{id: {AGENTS[1]}}}",
        "sip_trunks:",
        "  pbx: {outbound: {address: pbx.example.com, transport: tls}, inbound: {allowed_addresses: [10.0.0.0/8]}}",
        "phone_numbers:",
    ]
    for i in range(count):
        lines.append(
            f"  n{i}: {{number: '+1415700{i:04d}', label: 'Line {i}', provider: sip_trunk, "
            f"sip_trunk: pbx, agent: {'a' if i % 2 == 0 else 'b'}}}"
        )
    return "\n".join(lines) + "\n"


def seed(count: int) -> dict[str, object]:
    numbers = [
        {
            "provider": "sip_trunk",
            "phone_number": f"+1415700{i:04d}",
            "label": f"Line {i}",
            "agent_id": AGENTS[i % 2],
            "outbound_trunk_config": {"address": "pbx.example.com", "transport": "tls"},
            "inbound_trunk_config": {"allowed_addresses": ["10.0.0.0/8"]},
        }
        for i in range(count)
    ]
    return {"agents": [{"agent_id": a, "name": a} for a in AGENTS], "phone_numbers": numbers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="200,1000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for count in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "seed.json").write_text(json.dumps(seed(count)))
            (root / "telephony.yaml").write_text(manifest(count))
            with start_server("--seed", str(root / "seed.json"), api_key="bench") as server:
                env = {
                    **os.environ,
                    "ELEVENLABS_API_KEY": "bench",
                    "ELEVENLABS_BASE_URL": server.url,
                    "NO_COLOR": "1",
                    "PYTHONPATH": REPO,
                }
                times = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    result = subprocess.run(
                        [sys.executable, "-m", "provisioner", "plan", "--detailed-exitcode"],
                        cwd=root,
                        env=env,
                        capture_output=True,
                        text=True,
                    )
                    times.append(time.perf_counter() - started)
                    if result.returncode != 0:
                        raise SystemExit(
                            f"plan exited {result.returncode}: {result.stdout[-500:]}{result.stderr[-500:]}"
                        )
        print(
            f"no-op plan, {count:>5} numbers: best {min(times):.2f}s, median {sorted(times)[len(times) // 2]:.2f}s "
            f"(whole CLI run: Python start, load, observe, diff, render)"
        )


if __name__ == "__main__":
    main()
