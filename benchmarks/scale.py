"""Scale benchmark: the `telephony` CLI against a minimal reference client, through a latency proxy.

The emulator runs as a server (`start_server`); a small HTTP proxy of this script's own sits in
front of it, adds `--latency-ms` to every request (a WAN round trip) and counts requests and the
peak number in flight. M agents are created through the API and N SIP-trunk numbers are declared.
Each job runs twice, once as the CLI (a subprocess, `--parallelism P`) and once as the reference:
plain httpx with the same parallelism that sends the fewest requests the job needs with the same
API semantics (v2 number pages of 100, one GET per declared agent, the settings; imports and
PATCHes one request each; the writes read back with the list pages).

Jobs: a no-change plan, apply from empty, a plan with 10% of the numbers changed in the manifest,
drift with 10% of the numbers changed live, and the apply that repairs that drift. Offline rows:
CLI start (`--version`, `validate --help`) and `validate`.

For each job: wall time, requests, peak concurrency, the round-trip lower bound
ceil(requests / P) x latency, the ratios (CLI to reference, CLI to bound), and the CLI's CPU time
(user + system) and peak RSS (from `os.wait4` of that one process).

    python benchmarks/scale.py                                    # N=2,000, M=100, 50 ms, P=8
    python benchmarks/scale.py --numbers 10000 --agents 500
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = str(Path(__file__).resolve().parents[1])
sys.path.insert(0, REPO)  # this checkout's `provisioner`, also for the CLI runs below
import httpx  # noqa: E402

from provisioner.emulator.testing import start_server  # noqa: E402

API_KEY = "bench"
NUMBERS_V1 = "/v1/convai/phone-numbers"
NUMBERS_V2 = "/v1/convai/v2/phone-numbers"
AGENTS = "/v1/convai/agents"
TRUNK_OUT = {"address": "pbx.example.com", "transport": "tls"}
TRUNK_IN = {"allowed_addresses": ["10.0.0.0/8"]}


# -- the latency proxy ------------------------------------------------------------------------------


@dataclass
class Counters:
    requests: int = 0
    in_flight: int = 0
    peak: int = 0

    def reset(self) -> None:
        self.requests = self.in_flight = self.peak = 0


async def _read_message(reader: asyncio.StreamReader) -> tuple[bytes, bytes] | None:
    """One HTTP/1.1 message (head, body) as raw bytes; None at a clean end of stream.

    Bodies are framed by Content-Length or chunked transfer coding (passed through as is)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None
    lower = head.lower()
    if b"transfer-encoding: chunked" in lower:
        body = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            body += size_line
            size = int(size_line.split(b";")[0].strip(), 16)
            body += await reader.readexactly(size + 2)
            if size == 0:
                return head, bytes(body)
    length = 0
    for line in lower.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head, await reader.readexactly(length) if length else b""


class LatencyProxy:
    """HTTP/1.1 proxy on 127.0.0.1: each request waits `latency` seconds, then goes upstream on a
    connection of its own (kept alive and reused), and its answer comes back as sent."""

    def __init__(self, upstream: str, latency: float) -> None:
        url = httpx.URL(upstream)
        self.host, self.port = url.host, url.port or 80
        self.latency = latency
        self.counters = Counters()
        self.url = ""
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> LatencyProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._client, "127.0.0.1", 0, limit=2**24)
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        async with server:
            await self._stop.wait()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (message := await _read_message(reader)) is not None:
                c = self.counters
                c.requests += 1
                c.in_flight += 1
                c.peak = max(c.peak, c.in_flight)
                try:
                    await asyncio.sleep(self.latency)
                    answer = await self._forward(*message)
                finally:
                    c.in_flight -= 1
                writer.write(answer[0] + answer[1])
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception as exc:  # a proxy bug must show, not pass for a server fault
            print(f"proxy: {type(exc).__name__}: {exc}", file=sys.stderr)
        finally:
            writer.close()

    async def _forward(self, head: bytes, body: bytes) -> tuple[bytes, bytes]:
        """Upstream on an idle kept-alive connection; on a fresh one if that was closed meanwhile."""
        while True:
            fresh = not self._idle
            if fresh:
                up_reader, up_writer = await asyncio.open_connection(self.host, self.port, limit=2**24)
            else:
                up_reader, up_writer = self._idle.pop()
            try:
                up_writer.write(head + body)
                await up_writer.drain()
                answer = await _read_message(up_reader)
                if answer is None:
                    raise ConnectionError("upstream closed")
            except (ConnectionError, asyncio.IncompleteReadError):
                up_writer.close()
                if fresh:
                    raise
                continue
            self._idle.append((up_reader, up_writer))
            return answer


# -- the workspace and the manifest ----------------------------------------------------------------


def e164(i: int) -> str:
    return f"+1415{i:07d}"


def number_body(i: int, agent: str, label: str | None = None) -> dict[str, Any]:
    return {
        "provider": "sip_trunk",
        "phone_number": e164(i),
        "label": label or f"Line {i}",
        "agent_id": agent,
        "outbound_trunk_config": TRUNK_OUT,
        "inbound_trunk_config": TRUNK_IN,
    }


def manifest(count: int, agents: list[str], changed: int = 0) -> str:
    lines = ["version: 1", "agents:"]
    lines += [f"  a{k}: {{id: {agent}}}" for k, agent in enumerate(agents)]
    lines += [
        "sip_trunks:",
        "  pbx: {outbound: {address: pbx.example.com, transport: tls}, inbound: {allowed_addresses: [10.0.0.0/8]}}",
        "phone_numbers:",
    ]
    for i in range(count):
        label = f"Line {i}" + (" v2" if i < changed else "")
        lines.append(
            f"  n{i}: {{number: '{e164(i)}', label: '{label}', provider: sip_trunk, sip_trunk: pbx, "
            f"agent: a{i % len(agents)}}}"
        )
    return "\n".join(lines) + "\n"


class Admin:
    """Direct (no proxy, no latency) setup of the emulator's workspace."""

    def __init__(self, url: str) -> None:
        self.url = url

    @contextlib.asynccontextmanager
    async def _http(self) -> Any:
        async with httpx.AsyncClient(base_url=self.url, headers={"xi-api-key": API_KEY}, timeout=60) as http:
            yield http

    async def _all(self, jobs: list[Callable[[httpx.AsyncClient], Awaitable[Any]]]) -> list[Any]:
        gate = asyncio.Semaphore(16)
        async with self._http() as http:

            async def one(job: Callable[[httpx.AsyncClient], Awaitable[Any]]) -> Any:
                async with gate:
                    return await job(http)

            return list(await asyncio.gather(*(one(j) for j in jobs)))

    async def create_agents(self, count: int) -> list[str]:
        async def create(k: int, http: httpx.AsyncClient) -> str:
            body = {"name": f"Agent {k}", "conversation_config": {"agent": {"first_message": "Hello"}}}
            response = await http.post(f"{AGENTS}/create", json=body)
            response.raise_for_status()
            return str(response.json()["agent_id"])

        return await self._all([lambda http, k=k: create(k, http) for k in range(count)])  # type: ignore[misc]

    async def numbers(self) -> list[dict[str, Any]]:
        async with self._http() as http:
            response = await http.get(NUMBERS_V1)
            response.raise_for_status()
            result: list[dict[str, Any]] = response.json()
            return result

    async def delete_numbers(self) -> None:
        ids = [n["phone_number_id"] for n in await self.numbers()]

        async def delete(pid: str, http: httpx.AsyncClient) -> None:
            (await http.delete(f"{NUMBERS_V1}/{pid}")).raise_for_status()

        await self._all([lambda http, p=p: delete(p, http) for p in ids])  # type: ignore[misc]

    async def relabel(self, count: int, suffix: str) -> None:
        """Change the label of the first `count` numbers live (drift)."""
        by_number = {n["phone_number"]: n["phone_number_id"] for n in await self.numbers()}

        async def patch(i: int, http: httpx.AsyncClient) -> None:
            body = {"label": f"Line {i}{suffix}"}
            (await http.patch(f"{NUMBERS_V1}/{by_number[e164(i)]}", json=body)).raise_for_status()

        await self._all([lambda http, i=i: patch(i, http) for i in range(count)])  # type: ignore[misc]


# -- the reference client --------------------------------------------------------------------------


class Reference:
    """The fewest requests each job needs, plain httpx, `parallelism` requests at a time."""

    def __init__(self, url: str, parallelism: int, count: int, agents: list[str]) -> None:
        self.url, self.parallelism, self.count, self.agents = url, parallelism, count, agents

    @contextlib.asynccontextmanager
    async def _session(self) -> Any:
        limits = httpx.Limits(max_connections=self.parallelism, max_keepalive_connections=self.parallelism)
        async with httpx.AsyncClient(
            base_url=self.url, headers={"xi-api-key": API_KEY}, limits=limits, timeout=120
        ) as http:
            self.http = http
            self.gate = asyncio.Semaphore(self.parallelism)
            yield

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        async with self.gate:
            response = await self.http.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()

    async def list_numbers(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"page_size": 100}
        while True:
            page = await self.call("GET", NUMBERS_V2, params=params)
            found += page["phone_numbers"]
            if not page.get("next_cursor"):
                return found
            params = {"page_size": 100, "cursor": page["next_cursor"]}

    async def observe(self) -> list[dict[str, Any]]:
        numbers, *_ = await asyncio.gather(
            self.list_numbers(),
            *(self.call("GET", f"{AGENTS}/{a}") for a in self.agents),
            self.call("GET", "/v1/convai/settings"),
        )
        result: list[dict[str, Any]] = numbers
        return result

    def want(self, i: int, changed: int) -> tuple[str, str]:
        return (f"Line {i}" + (" v2" if i < changed else ""), self.agents[i % len(self.agents)])

    def diff(self, live: list[dict[str, Any]], changed: int) -> list[int]:
        have = {n["phone_number"]: n for n in live}
        out = []
        for i in range(self.count):
            n = have.get(e164(i))
            agent = (n or {}).get("assigned_agent") or {}
            if n is None or (n["label"], agent.get("agent_id")) != self.want(i, changed):
                out.append(i)
        return out

    async def plan(self, changed: int = 0) -> int:
        async with self._session():
            return len(self.diff(await self.observe(), changed))

    async def apply(self, changed: int = 0) -> int:
        async with self._session():
            live = await self.observe()
            todo = self.diff(live, changed)
            ids = {n["phone_number"]: n["phone_number_id"] for n in live}

            async def write(i: int) -> None:
                label, agent = self.want(i, changed)
                if e164(i) in ids:
                    await self.call("PATCH", f"{NUMBERS_V1}/{ids[e164(i)]}", json={"label": label})
                else:
                    await self.call("POST", NUMBERS_V1, json=number_body(i, agent, label))

            await asyncio.gather(*(write(i) for i in todo))
            left = self.diff(await self.list_numbers(), changed) if todo else []  # the read-back
            if left:
                raise SystemExit(f"reference apply: {len(left)} numbers not as sent")
            return len(todo)


# -- running and measuring -------------------------------------------------------------------------


@dataclass
class Run:
    wall: float
    requests: int
    peak: int
    cpu: float | None = None
    rss_mb: float | None = None
    exit_code: int | None = None


@dataclass
class Job:
    name: str
    cli: Run | None = None
    ref: Run | None = None
    notes: list[str] = field(default_factory=list)


def run_cli(args: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...]) -> tuple[float, float, float, int]:
    """(wall, cpu user+sys, peak RSS MB, exit code) of one CLI process, measured by os.wait4."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "provisioner", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    stdout_chunks: list[bytes] = []
    stderr_chunks: list[bytes] = []
    assert proc.stdout is not None and proc.stderr is not None
    t1 = threading.Thread(target=lambda: stdout_chunks.append(proc.stdout.read()))  # type: ignore[union-attr]
    t2 = threading.Thread(target=lambda: stderr_chunks.append(proc.stderr.read()))  # type: ignore[union-attr]
    t1.start()
    t2.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    t1.join()
    t2.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    out, err = b"".join(stdout_chunks), b"".join(stderr_chunks)
    if proc.returncode not in ok:
        raise SystemExit(
            f"telephony {' '.join(args)} exited {proc.returncode}:\n{out.decode()[-1500:]}\n{err.decode()[-1500:]}"
        )
    rss_mb = usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / 2**20
    return wall, usage.ru_utime + usage.ru_stime, rss_mb, proc.returncode


def bound(requests: int, parallelism: int, latency: float) -> float:
    return math.ceil(requests / parallelism) * latency


def fmt_table(jobs: list[Job], parallelism: int, latency: float) -> Iterator[str]:
    yield ("| job | side | wall s | requests | peak conc. | bound s | × ref | × bound | CLI CPU s | CLI peak RSS MB |")
    yield "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for job in jobs:
        for side, run in (("telephony", job.cli), ("reference", job.ref)):
            if run is None:
                continue
            low = bound(run.requests, parallelism, latency)
            vs_ref = f"{run.wall / job.ref.wall:.2f}" if side == "telephony" and job.ref else ""
            vs_bound = f"{run.wall / low:.2f}" if low else ""
            cpu = f"{run.cpu:.2f}" if run.cpu is not None else ""
            rss = f"{run.rss_mb:.0f}" if run.rss_mb is not None else ""
            requests = str(run.requests) if run.requests or job.ref else "0"
            yield (
                f"| {job.name} | {side} | {run.wall:.2f} | {requests} | {run.peak} | {low:.2f} | {vs_ref} | "
                f"{vs_bound} | {cpu} | {rss} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--numbers", type=int, default=2000)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--changed", type=float, default=0.10, help="share of numbers changed (plan, drift)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    p = args.parallelism
    changed = max(1, round(args.numbers * args.changed))
    jobs: list[Job] = []
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, start_server(api_key=API_KEY) as server:
        root = Path(tmp)
        proxy = LatencyProxy(server.url, latency).start()
        admin = Admin(server.url)
        try:
            agents = asyncio.run(admin.create_agents(args.agents))
            (root / "telephony.yaml").write_text(manifest(args.numbers, agents))
            (root / "changed.yaml").write_text(manifest(args.numbers, agents, changed))
            env = {
                **os.environ,
                "ELEVENLABS_API_KEY": API_KEY,
                "ELEVENLABS_BASE_URL": proxy.url,
                "NO_COLOR": "1",
                "PYTHONPATH": REPO,
            }
            common = ["--parallelism", str(p)]
            ref = Reference(proxy.url, p, args.numbers, agents)

            def measure_cli(job: Job, cli_args: list[str], ok: tuple[int, ...]) -> None:
                proxy.counters.reset()
                wall, cpu, rss, code = run_cli(cli_args, root, env, ok)
                c = proxy.counters
                job.cli = Run(wall, c.requests, c.peak, cpu, rss, code)

            def measure_ref(job: Job, work: Callable[[], Awaitable[int]]) -> None:
                proxy.counters.reset()
                started = time.perf_counter()
                asyncio.run(work())  # type: ignore[arg-type]
                c = proxy.counters
                job.ref = Run(time.perf_counter() - started, c.requests, c.peak)

            # apply from empty (the reference's run first, then the numbers go, then the CLI's)
            job = Job("apply from empty")
            measure_ref(job, ref.apply)
            asyncio.run(admin.delete_numbers())
            measure_cli(job, ["apply", "--auto-approve", *common], (0,))
            jobs.append(job)

            job = Job("no-change plan")
            measure_cli(job, ["plan", "--detailed-exitcode", *common], (0,))
            measure_ref(job, ref.plan)
            jobs.append(job)

            job = Job(f"plan, {changed} changed")
            measure_cli(job, ["plan", "-f", "changed.yaml", "--detailed-exitcode", *common], (2,))
            measure_ref(job, lambda: ref.plan(changed))
            jobs.append(job)

            asyncio.run(admin.relabel(changed, " (edited)"))
            job = Job(f"drift, {changed} drifted")
            measure_cli(job, ["drift", *common], (0, 2))
            measure_ref(job, ref.plan)
            jobs.append(job)

            job = Job(f"apply, {changed} drifted")
            measure_ref(job, ref.apply)
            asyncio.run(admin.relabel(changed, " (edited)"))
            measure_cli(job, ["apply", "--auto-approve", *common], (0,))
            jobs.append(job)

            # offline: start-up and validate (no requests)
            for name, cli_args in (
                ("start: --version", ["--version"]),
                ("start: validate --help", ["validate", "--help"]),
                ("validate", ["validate"]),
            ):
                job = Job(name)
                measure_cli(job, cli_args, (0,))
                jobs.append(job)
        finally:
            proxy.stop()
    print(
        f"\nN={args.numbers} numbers, M={args.agents} agents, latency {args.latency_ms:g} ms, "
        f"parallelism {p}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; "
        f"bench total {time.perf_counter() - began:.0f} s\n"
    )
    for line in fmt_table(jobs, p, latency):
        print(line)
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                [
                    {"job": j.name, "cli": j.cli.__dict__ if j.cli else None, "ref": j.ref.__dict__ if j.ref else None}
                    for j in jobs
                ],
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
