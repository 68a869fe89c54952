"""`telephony call` and `telephony batch submit|list|status|cancel|retry`: outbound calls.

Exit codes: 0 done, 1 error (nothing was sent when the error is found before the request: a bad
destination, an undeclared number or agent, a number not imported yet, a SIP number without an
outbound trunk, a CSV with errors; or the API refused: a call answered `success: false`, an
HTTP error). Errors are one line on stderr, CSV problems one `FILE:LINE:COL: error: ...` line
each; never a traceback, never a secret value. Like the reconciler's commands, importing this
module loads only click: the library and httpx are imported inside the commands.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from provisioner.commands import options, usage
from provisioner.commands.reconcile import Common, _run, err, fail, handled, start
from provisioner.commands.validate import parse_vars
from provisioner.exitcodes import ExitCode

if TYPE_CHECKING:
    from provisioner.api.client import ElevenLabsClient
    from provisioner.api.wire_calls import BatchCallDetailedResponse, BatchCallResponse
    from provisioner.batches import CsvCheck
    from provisioner.manifest import Manifest
    from provisioner.outbound import PreparedBatch

FORMATS = click.Choice(["text", "json"])
MAX_PRINTED_PROBLEMS = 100
MAX_PREVIEW = 20
PARALLELISM = 4


@dataclass(frozen=True)
class Connection:
    path: Path | None
    env: str | None
    sandbox: bool
    api_url: str | None
    verbose: bool

    def common(self) -> Common:
        return Common(self.path, self.env, (), self.sandbox, self.api_url, PARALLELISM, self.verbose, None)


def connection(func: Callable[..., None]) -> Callable[..., None]:
    """The connection options (no template `--var`: for `call`, `--var` is a dynamic variable)."""

    @wraps(func)
    def with_connection(**kwargs: Any) -> None:
        opts = Connection(*(kwargs.pop(k) for k in ("path", "env", "sandbox", "api_url", "verbose")))
        func(opts, **kwargs)

    shared = [
        options.FILE,
        options.ENV,
        options.SANDBOX,
        options.API_URL,
        click.option("-v", "--verbose", is_flag=True, help="Log API retries to stderr."),
    ]
    command: Callable[..., None] = with_connection
    for option in reversed(shared):
        command = option(command)
    return command


def _with_manifest(opts: Connection, body: Callable[[Manifest, ElevenLabsClient], Any]) -> Any:
    ctx = start(opts.common(), {})

    async def run() -> Any:
        async with ctx.client(PARALLELISM) as client:
            return await body(ctx.manifest, client)

    return _run(run())


def _with_client(opts: Connection, body: Callable[[ElevenLabsClient], Any]) -> Any:
    """The manifest is read only for the connection (region, sandbox); without one, and without
    --sandbox, the URL comes from --api-url or ELEVENLABS_BASE_URL (else the default region)."""
    if opts.path is not None or opts.sandbox or Path("telephony.yaml").exists():
        return _with_manifest(opts, lambda _manifest, client: body(client))
    from provisioner import logsetup
    from provisioner.api.client import ElevenLabsClient
    from provisioner.workspace import resolve_target, retry_policy

    if opts.verbose:
        logsetup.verbose()
    target = resolve_target(opts.api_url, "default")

    async def run() -> Any:
        async with ElevenLabsClient(target.api_url, target.api_key, parallelism=PARALLELISM, retry=retry_policy()) as c:
            return await body(c)

    return _run(run())


def _json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _when(unix: int | None) -> str:
    if unix is None:
        return "now"
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# -- call ---------------------------------------------------------------------------------------


def cmd_call(opts: Connection, number: str, to: str, agent: str | None, variables: tuple[str, ...], fmt: str) -> None:
    from provisioner import outbound

    values = parse_vars(variables)
    outbound.check_destination(to)  # before the manifest and the network: the cheapest check first
    outbound.check_variables(values)
    result = _with_manifest(
        opts, lambda manifest, client: outbound.place_call(manifest, client, number, to, agent=agent, variables=values)
    )
    if fmt == "json":
        _json(result.as_json())
        return
    caller = result.caller
    click.echo(
        f"Calling {to} from {caller.alias} ({caller.e164}, {caller.provider}) with agent {caller.agent_alias}: "
        f"{result.message or 'placed'}."
    )
    click.echo(f"conversation_id: {result.conversation_id}")
    if caller.provider == "twilio":
        click.echo(f"call_sid: {result.call_sid}")
    else:
        click.echo(f"sip_call_id: {result.sip_call_id}")


# -- batch submit -------------------------------------------------------------------------------


def parse_at(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"'{value}' is not an ISO-8601 time (e.g. 2025-06-01T09:30:00+02:00)", param_hint="--at"
        ) from None
    if when.tzinfo is None:
        raise click.BadParameter(f"'{value}' has no UTC offset; add one (Z, +02:00)", param_hint="--at")
    unix = int(when.timestamp())
    if unix < datetime.now(UTC).timestamp() - 300:
        raise click.BadParameter(f"'{value}' is in the past", param_hint="--at")
    return unix


def _print_problems(check: CsvCheck) -> None:
    for problem in check.problems[:MAX_PRINTED_PROBLEMS]:
        err(str(problem))
    more = check.error_count + check.warning_count - min(len(check.problems), MAX_PRINTED_PROBLEMS)
    if more > 0:
        err(f"{check.file}: ... and {more} more problem(s)")


def _preview(prepared: PreparedBatch) -> None:
    request, caller = prepared.request, prepared.caller
    click.echo("Dry run: nothing was sent.")
    click.echo(
        f'Would submit batch "{request.call_name}" from {caller.alias} ({caller.e164}, {caller.provider}) '
        f"with agent {caller.agent_alias} ({caller.agent_id}), starting {_when(request.scheduled_time_unix)}:"
    )
    for recipient, row in zip(request.recipients[:MAX_PREVIEW], prepared.check.recipients, strict=False):
        data = recipient.conversation_initiation_client_data
        values = dict(data.dynamic_variables or {}) if data else {}
        override = (data.conversation_config_override or {}).get("agent", {}) if data else {}
        parts = [f"{k}={v}" for k, v in values.items()] + [f"{k}={v} (override)" for k, v in override.items()]
        click.echo(f"  line {row.line}: {recipient.phone_number}  {' '.join(parts)}".rstrip())
    if len(request.recipients) > MAX_PREVIEW:
        click.echo(f"  ... and {len(request.recipients) - MAX_PREVIEW} more")
    click.echo(f"{len(request.recipients)} recipient(s).")


def cmd_submit(
    opts: Connection,
    number: str,
    csv_file: Path,
    name: str | None,
    agent: str | None,
    at: str | None,
    dry_run: bool,
    fmt: str,
) -> None:
    from provisioner import outbound

    scheduled = parse_at(at)
    call_name = name or f"{csv_file.name} {datetime.now(UTC):%Y-%m-%d %H:%M:%S}"

    async def body(manifest: Manifest, client: ElevenLabsClient) -> tuple[PreparedBatch, BatchCallResponse | None]:
        prepared = await outbound.prepare_batch(
            manifest, client, number, csv_file, name=call_name, agent=agent, scheduled_time_unix=scheduled
        )
        _print_problems(prepared.check)  # warnings: shown before anything is sent
        if dry_run:
            return prepared, None
        return prepared, await outbound.submit_batch(client, prepared)

    try:
        prepared, batch = _with_manifest(opts, body)
    except outbound.CsvInvalid as exc:
        _print_problems(exc.check)
        fail(ExitCode.ERROR, f"Error: {exc}.")
    warnings = [str(p) for p in prepared.check.problems if p.severity == "warning"]
    if batch is None:
        if fmt == "json":
            _json({"dry_run": True, "request": prepared.request.body(), "warnings": warnings})
        else:
            _preview(prepared)
        return
    if fmt == "json":
        _json({**_batch_json(batch), "warnings": warnings})
        return
    caller = prepared.caller
    click.echo(
        f'Submitted batch {batch.id} ("{batch.name}"): {batch.total_calls_scheduled} recipient(s) from '
        f"{caller.alias} ({caller.e164}) with agent {caller.agent_alias}, starting {_when(batch.scheduled_time_unix)}."
    )
    click.echo(f"Follow it with: telephony batch status {batch.id}")


# -- batch list / status / cancel / retry ---------------------------------------------------------


def _batch_json(batch: BatchCallResponse) -> dict[str, Any]:
    return batch.model_dump(mode="json", exclude={"recipients"})


def _table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def cmd_list(opts: Connection, limit: int, fmt: str) -> None:
    from provisioner.api import calls

    batches = _with_client(opts, lambda client: calls.list_batches(client, limit=limit))
    if fmt == "json":
        _json({"batches": [_batch_json(b) for b in batches]})
        return
    if not batches:
        click.echo("No batches.")
        return
    rows = [["ID", "STATUS", "FINISHED", "SCHEDULED", "AGENT", "NAME"]]
    for b in batches:
        rows.append(
            [
                b.id,
                b.status,
                f"{b.total_calls_finished}/{b.total_calls_scheduled}",
                _when(b.scheduled_time_unix),
                b.agent_name or b.agent_id,
                b.name,
            ]
        )
    _table(rows)


def _status_text(batch: BatchCallDetailedResponse, counts: dict[str, int], recipients: bool) -> None:
    click.echo(f'Batch {batch.id} ("{batch.name}"): {batch.status}')
    click.echo(f"  agent: {batch.agent_name or '?'} ({batch.agent_id})")
    click.echo(f"  from: {batch.phone_number_id} ({batch.phone_provider})")
    click.echo(f"  scheduled: {_when(batch.scheduled_time_unix)}; retries: {batch.retry_count}")
    click.echo(
        f"  calls: {batch.total_calls_scheduled} scheduled, {batch.total_calls_dispatched} dispatched, "
        f"{batch.total_calls_finished} finished"
    )
    summary = ", ".join(f"{status} {count}" for status, count in counts.items()) or "none"
    click.echo(f"  recipients: {summary}")
    if recipients and batch.recipients:
        rows = [["PHONE NUMBER", "STATUS", "CONVERSATION", "UPDATED"]]
        rows += [
            [r.phone_number or "-", r.status, r.conversation_id or "-", _when(r.updated_at_unix)]
            for r in batch.recipients
        ]
        click.echo("")
        _table(rows)


def cmd_status(opts: Connection, batch_id: str, recipients: bool, fmt: str) -> None:
    from provisioner.api import calls
    from provisioner.outbound import recipient_counts

    batch = _with_client(opts, lambda client: calls.get_batch(client, batch_id))
    counts = recipient_counts(batch)
    if fmt == "json":
        data = {**_batch_json(batch), "recipient_counts": counts}
        if recipients:
            data["recipients"] = [r.model_dump(mode="json") for r in batch.recipients]
        _json(data)
        return
    _status_text(batch, counts, recipients)


def cmd_cancel(opts: Connection, batch_id: str, fmt: str) -> None:
    from provisioner.api import calls

    batch = _with_client(opts, lambda client: calls.cancel_batch(client, batch_id))
    if fmt == "json":
        _json(_batch_json(batch))
        return
    click.echo(
        f'Cancelled batch {batch.id} ("{batch.name}"): status {batch.status}, '
        f"{batch.total_calls_finished} of {batch.total_calls_scheduled} call(s) finished."
    )


def cmd_retry(opts: Connection, batch_id: str, fmt: str) -> None:
    from provisioner.api import calls

    batch = _with_client(opts, lambda client: calls.retry_batch(client, batch_id))
    if fmt == "json":
        _json(_batch_json(batch))
        return
    click.echo(
        f'Retrying batch {batch.id} ("{batch.name}"): retry {batch.retry_count}, status {batch.status}; '
        f"failed and voicemail recipients are called again."
    )


# -- registration -------------------------------------------------------------------------------


def register(group: click.Group) -> None:
    """Add `call` and the `batch` group to the `telephony` group."""

    @group.command("call", cls=usage.Command)
    @connection
    @click.argument("number")
    @click.argument("to")
    @click.option("--agent", default=None, metavar="ALIAS", help="The agent that talks (default: the number's).")
    @click.option("--var", "variables", multiple=True, metavar="K=V", help="A dynamic variable for this call.")
    @click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
    @handled
    def call(opts: Connection, **kwargs: Any) -> None:
        """Place one outbound call from the declared number NUMBER (its alias) to TO (E.164)."""
        cmd_call(opts, **kwargs)

    @group.group("batch", cls=usage.Group)
    def batch() -> None:
        """Batch calls: submit a CSV of recipients, follow, cancel and retry batches."""

    @batch.command("submit", cls=usage.Command)
    @connection
    @click.argument("number")
    @click.option("--csv", "csv_file", required=True, type=click.Path(path_type=Path), help="The recipients.")
    @click.option("--name", default=None, help="The batch's name (default: the CSV's name and the time).")
    @click.option("--agent", default=None, metavar="ALIAS", help="The agent that talks (default: the number's).")
    @click.option("--at", default=None, metavar="ISO-8601", help="Start time with a UTC offset (default: now).")
    @click.option("--dry-run", is_flag=True, help="Check every row and show what would be sent; send nothing.")
    @click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
    @handled
    def submit(opts: Connection, **kwargs: Any) -> None:
        """Check the CSV, then submit one batch call from the declared number NUMBER."""
        cmd_submit(opts, **kwargs)

    @batch.command("list", cls=usage.Command)
    @connection
    @click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
    @click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
    @handled
    def list_(opts: Connection, **kwargs: Any) -> None:
        """The workspace's batches, newest first."""
        cmd_list(opts, **kwargs)

    @batch.command("status", cls=usage.Command)
    @connection
    @click.argument("batch_id", metavar="ID")
    @click.option("--recipients", is_flag=True, help="Also a table of every recipient.")
    @click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
    @handled
    def status(opts: Connection, **kwargs: Any) -> None:
        """A batch's status and its recipients counted by status."""
        cmd_status(opts, **kwargs)

    @batch.command("cancel", cls=usage.Command)
    @connection
    @click.argument("batch_id", metavar="ID")
    @click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
    @handled
    def cancel(opts: Connection, **kwargs: Any) -> None:
        """Cancel a batch: calls not finished are cancelled."""
        cmd_cancel(opts, **kwargs)

    @batch.command("retry", cls=usage.Command)
    @connection
    @click.argument("batch_id", metavar="ID")
    @click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
    @handled
    def retry(opts: Connection, **kwargs: Any) -> None:
        """Call a batch's failed and voicemail recipients again."""
        cmd_retry(opts, **kwargs)
