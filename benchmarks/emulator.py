"""Requests per second the emulator serves on loopback.

    python benchmarks/emulator.py [--duration 5] [--connections 32]

Starts `telephony emulator serve --port 0` seeded with 1,000 and then 10,000 phone numbers
and drives it with `wrk` (Debian package `wrk`): a single-number GET, and the v1 list (a bare
array of every number). Without wrk it falls back to a threaded Python load generator and says
so; that generator is much slower than the server, so its figures are a lower bound.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's `provisioner`
from provisioner.emulator.testing import start_server

API_KEY = "bench-key"


def seed_file(directory: Path, count: int) -> Path:
    numbers = [
        {
            "provider": "sip_trunk" if i % 2 else "twilio",
            "phone_number": f"+1555{i:07d}",
            "label": f"line {i}",
            "sid": "AC" + "0" * 32,
            "token": "bench-token",
            "outbound_trunk_config": {"address": "sip.example.test", "transport": "tls"},
            "inbound_trunk_config": {"allowed_addresses": ["192.0.2.0/24"]},
            "agent_id": "agent_bench" if i % 3 == 0 else None,
        }
        for i in range(count)
    ]
    path = directory / f"seed-{count}.json"
    path.write_text(json.dumps({"agents": [{"agent_id": "agent_bench", "name": "Bench"}], "phone_numbers": numbers}))
    return path


def run_wrk(url: str, duration: int, connections: int) -> float:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-H", f"xi-api-key: {API_KEY}", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{errors.group(1)} non-2xx responses from {url}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


def run_python(url: str, duration: int, connections: int) -> float:
    done = [0] * connections
    deadline = time.perf_counter() + duration

    def worker(slot: int) -> None:
        with httpx.Client(headers={"xi-api-key": API_KEY}) as client:
            while time.perf_counter() < deadline:
                client.get(url).raise_for_status()
                done[slot] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    drive = run_wrk if wrk else run_python
    if not wrk:
        print("wrk not found: falling back to a Python load generator (figures are a lower bound)")
    print(
        f"load generator: {'wrk -t1' if wrk else 'python threads'}, {args.connections} connections, "
        f"{args.duration}s each, {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for count in (1_000, 10_000):
            with start_server("--seed", str(seed_file(Path(tmp), count)), api_key=API_KEY) as server:
                url = server.url
                with server.client() as client:
                    listed = client.get("/v1/convai/phone-numbers")
                    one = listed.json()[count // 2]["phone_number_id"]
                    size = len(listed.content)
                get_rps = drive(f"{url}/v1/convai/phone-numbers/{one}", args.duration, args.connections)
                list_rps = drive(f"{url}/v1/convai/phone-numbers", args.duration, min(args.connections, 8))
            print(
                f"{count:>6} numbers: single-number GET {get_rps:8.0f} req/s | "
                f"v1 list ({size / 1e6:.1f} MB) {list_rps:6.1f} req/s"
            )


if __name__ == "__main__":
    main()
