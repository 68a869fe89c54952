"""`telephony emulator serve`: the local ElevenLabs API emulator as a real HTTP server."""

from __future__ import annotations

import errno
import ipaddress
import socket
import sys
from pathlib import Path
from types import FrameType

import click

from provisioner.commands import usage
from provisioner.exitcodes import ExitCode

FAULTS_HELP = "Inject faults: a SPEC as described below (also PUT /_emulator/faults)."
SEMANTICS_HELP = (
    "Readings of the API to play: NAME=VALUE[,NAME=VALUE...] as described below (also PUT /_emulator/semantics)."
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind before starting uvicorn so `--port 0` yields a real port we can print."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


@click.group("emulator", cls=usage.Group)
def emulator_group() -> None:
    """The local ElevenLabs Agents Platform API emulator (a sandbox for the official SDK)."""


@emulator_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind (loopback only by default).")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option(
    "--state", "state_file", type=click.Path(dir_okay=False, path_type=Path), help="Persist to this JSON file."
)
@click.option(
    "--api-key", "api_keys", multiple=True, help="Accepted xi-api-key (repeatable). Default: any non-empty key."
)
@click.option(
    "--seed", "seed_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="YAML/JSON workspace."
)
@click.option(
    "--latency-ms", default=0, show_default=True, type=click.IntRange(0), help="Delay added to every API call."
)
@click.option(
    "--max-concurrency",
    type=click.IntRange(1),
    default=None,
    metavar="N",
    help="Above N API requests in flight: 429 concurrent_limit_exceeded. Default: no limit.",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(0, min_open=True),
    default=None,
    metavar="R",
    help="Requests per second (token bucket); over it: 429 rate_limit_exceeded with Retry-After. Default: none.",
)
@click.option("--faults", default=None, help=FAULTS_HELP)
@click.option("--semantics", "semantics_spec", default=None, metavar="SPEC", help=SEMANTICS_HELP)
@click.option("--allow-remote", is_flag=True, help="Allow binding a non-loopback address.")
@click.option(
    "--allow-duplicate-numbers", is_flag=True, help="Accept re-importing a phone_number (default: 400, never 409)."
)
def serve(
    host: str,
    port: int,
    state_file: Path | None,
    api_keys: tuple[str, ...],
    seed_file: Path | None,
    latency_ms: int,
    max_concurrency: int | None,
    rate_limit: float | None,
    faults: str | None,
    semantics_spec: str | None,
    allow_remote: bool,
    allow_duplicate_numbers: bool,
) -> None:
    """Serve the emulator over HTTP until Ctrl-C or SIGTERM (exit 0).

    Prints "Emulator listening on http://HOST:PORT". Point the SDK at it with
    ElevenLabs(api_key=..., base_url=URL). Test controls (no key needed) live under
    /_emulator/: GET stats, POST reset, POST clock/advance {"seconds": N},
    PUT/DELETE faults, PUT/DELETE drop-fields {"paths": [...]}, GET/PUT semantics,
    GET/DELETE requests (the request log), GET state.

    \b
    Fault SPEC: key=value pairs separated by ';', deterministic for a seed:
      kinds=429,500,503,drop_before,drop_after   (default: all five)
      rate=0.1          probability per matching request (default 1)
      seed=7            seed of the random draws (default 0)
      match=POST /v1/convai/phone-numbers*   comma list of 'METHOD GLOB' (default: all)
      count=N           at most N faults;  after=N: let the first N through
      latency_ms=5      delay for matching requests
      retry_after=0     Retry-After seconds on a 429 (default 1)

    drop_before closes the connection without running the request; drop_after
    commits the write, then closes it. /_emulator/* is never faulted.

    Limits: --max-concurrency N answers 429 (detail.code concurrent_limit_exceeded)
    while N API requests are in flight; --rate-limit R allows R requests per second
    (a token bucket of max(1, R)) and answers 429 (rate_limit_exceeded) with
    Retry-After. /_emulator/* is never limited; GET /_emulator/stats counts the 429s.

    \b
    Semantics SPEC: NAME=VALUE pairs separated by ',' (default first):
      agent_patch=merge|replace          agent PATCH deep-merges / replaces each section sent
      placeholder_null=reject|remove     null dynamic-variable placeholder: 422 / delete the key
      settings_patch=partial|defaults    settings PATCH keeps / resets absent keys
      new_sip_stack=workspace|standard   new SIP number's livekit_stack
      list_has_more=present|omitted      has_more in v2 phone-number pages
      codec_order=kept|sorted            enabled_codecs as sent / alphabetical
    """
    from provisioner.sandbox import SandboxUnavailable, require_emulator

    try:
        require_emulator("`telephony emulator serve`", server=True)
    except SandboxUnavailable as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(ExitCode.ERROR)
    import uvicorn

    from provisioner.emulator import FaultSpecError, build_app, load_seed_file
    from provisioner.emulator.errors import EmulatorError
    from provisioner.emulator.semantics import SemanticsError, parse

    try:
        semantics = parse(semantics_spec or "")
    except SemanticsError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(ExitCode.ERROR)

    if not is_loopback(host) and not allow_remote:
        click.echo(
            f"Refusing to bind non-loopback host {host!r}; pass --allow-remote to expose the emulator.", err=True
        )
        sys.exit(ExitCode.ERROR)
    try:
        seed = load_seed_file(seed_file) if seed_file else None
        app = build_app(
            api_keys=list(api_keys) or None,
            state_file=state_file,
            seed=seed,
            faults=faults,
            latency_ms=latency_ms,
            allow_duplicate_numbers=allow_duplicate_numbers,
            semantics=semantics,
            max_concurrency=max_concurrency,
            rate_limit=rate_limit,
        )
    except (FaultSpecError, ValueError, OSError, EmulatorError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(ExitCode.ERROR)
    try:
        sock = bind_socket(host, port)
    except socket.gaierror as exc:
        click.echo(f"Error: cannot resolve --host {host!r}: {exc.strerror or exc}", err=True)
        sys.exit(ExitCode.ERROR)
    except OSError as exc:
        hint = " (in use: pick another --port, or 0 for a free one)" if exc.errno == errno.EADDRINUSE else ""
        click.echo(f"Error: cannot listen on {host}:{port}: {exc.strerror or exc}{hint}", err=True)
        sys.exit(ExitCode.ERROR)
    real_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            click.echo(f"Emulator listening on http://{shown_host}:{real_port}")
            sys.stdout.flush()  # tests and scripts wait for this line

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            # uvicorn re-raises a captured SIGINT/SIGTERM after shutdown (exit 130/143); a requested
            # stop of the emulator is a clean exit, so forget it and return 0.
            self._captured_signals.clear()

    config = uvicorn.Config(app, log_level="warning", access_log=False, http="auto", loop="auto", lifespan="off")
    _Server(config).run(sockets=[sock])
    sys.exit(ExitCode.OK)


def register(group: click.Group) -> None:
    """Add this module's commands to the `telephony` group."""
    group.add_command(emulator_group)
