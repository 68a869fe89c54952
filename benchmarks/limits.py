"""Apply under a server concurrency limit: adaptive client concurrency vs a fixed, right-sized one.

The emulator runs with `--max-concurrency 3 --latency-ms 50`. Two applies of N numbers, each
against a fresh server:

- adaptive: `--parallelism 8`; the client learns the limit from the 429s (api/limiter.py);
- reference: `--parallelism 3`, the server's limit from the start (never a 429).

Prints the wall time of each, the ratio adaptive/reference, and the requests and 429s counted
by the emulator. The retry delays are the client's defaults (what a user gets).

    python benchmarks/limits.py [--numbers 300] [--latency-ms 50] [--max-concurrency 3] [--parallelism 8]
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
sys.path.insert(0, REPO)

from provisioner.emulator.testing import start_server  # noqa: E402

AGENT = "agent_3701k3ttaq12ewp8b7qv5rfyszkz"
KEY = "bench-key"


def manifest(count: int) -> str:
    lines = [
        "version: 1",
        f"agents: {{a: {{id: {AGENT}}}}}",
        "sip_trunks: {pbx: {static_ip: true, outbound: {address: pbx.example.com, transport: tls}}}",
        "phone_numbers:",
    ]
    lines += [
        f'  n{i}: {{number: "+1415{i:07d}", label: L{i}, provider: sip_trunk, sip_trunk: pbx, agent: a}}'
        for i in range(count)
    ]
    return "\n".join(lines) + "\n"


def apply_once(count: int, parallelism: int, server_args: list[str]) -> tuple[float, dict[str, object]]:
    """Wall seconds of `apply --parallelism P` of `count` numbers against a fresh server, and its stats."""
    with tempfile.TemporaryDirectory() as tmp:
        seed = Path(tmp, "seed.json")
        seed.write_text(json.dumps({"agents": [{"agent_id": AGENT, "name": "Support"}]}))
        work = Path(tmp, "work")
        work.mkdir()
        Path(work, "telephony.yaml").write_text(manifest(count))
        with start_server("--seed", str(seed), *server_args, api_key=KEY) as server:
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "TELEPHONY_"))},
                "ELEVENLABS_API_KEY": KEY,
                "ELEVENLABS_BASE_URL": server.url,
                "PYTHONPATH": REPO,
            }
            command = [
                sys.executable,
                "-m",
                "provisioner",
                "apply",
                "--auto-approve",
                "--parallelism",
                str(parallelism),
            ]
            start = time.perf_counter()
            done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            if done.returncode != 0:
                raise SystemExit(f"apply failed ({done.returncode}): {done.stdout[-1500:]}{done.stderr[-1500:]}")
            return elapsed, server.stats()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=300)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--max-concurrency", type=int, default=3)
    parser.add_argument("--parallelism", type=int, default=8)
    args = parser.parse_args()
    server_args = ["--max-concurrency", str(args.max_concurrency), "--latency-ms", str(args.latency_ms)]
    rows = []
    for name, parallelism in (("adaptive", args.parallelism), ("reference", args.max_concurrency)):
        wall, stats = apply_once(args.numbers, parallelism, server_args)
        limits = stats["limits"]
        assert isinstance(limits, dict)
        rows.append((name, parallelism, wall, stats["total"], limits["refused_concurrency"], limits["peak_in_flight"]))
    print(f"{args.numbers} numbers, emulator --max-concurrency {args.max_concurrency} --latency-ms {args.latency_ms}")
    print(f"{'run':>10} {'parallelism':>12} {'wall s':>8} {'requests':>9} {'429s':>6} {'peak in flight':>15}")
    for name, parallelism, wall, total, refused, peak in rows:
        print(f"{name:>10} {parallelism:>12} {wall:>8.2f} {total:>9} {refused:>6} {peak:>15}")
    print(f"ratio adaptive/reference: {rows[0][2] / rows[1][2]:.2f}")


if __name__ == "__main__":
    main()
