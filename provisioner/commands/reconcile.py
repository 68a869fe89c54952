"""`telephony plan`, `telephony apply`, `telephony drift`: the reconciler's commands.

Exit codes (README "Exit codes"): plan --detailed-exitcode 0 no changes / 1 error / 2 changes /
3 blocked (plan --require-secrets: 1 when a needed ${VAR} is unset); drift 0 in sync / 1 error /
2 drift (--fail-on-unmanaged: also unmanaged numbers); apply 0 done / 1 error before any change /
3 refused by a safety rule / 4 partial / 5 stale plan file (also one made with --sandbox applied
without it, or the reverse) / 6 read-back mismatch. docs/outputs.md has the JSON formats.
Errors are one readable line on stderr (the API call, its status, the API's message), never a
traceback; nothing printed ever holds a secret value.

Startup: importing this module (every `telephony` run does, to register the commands) loads
only click and the standard library; the reconciler and its heavy dependencies (httpx,
pydantic, deepdiff with numpy, rich, jinja2) are imported inside the commands that use them,
so `telephony --version` and `telephony validate` do not pay for them.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, fields, replace
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from provisioner.commands import options, signals, usage
from provisioner.commands.validate import parse_vars  # one --var syntax for every command
from provisioner.exitcodes import ExitCode

if TYPE_CHECKING:
    from provisioner.apply import ApplyReport, StepResult
    from provisioner.header import Header
    from provisioner.plan import Blocked, Plan
    from provisioner.session import Context

T = TypeVar("T")
FORMATS = click.Choice(["text", "json", "markdown"])
DEADLINE_PASSED = "the run deadline (--deadline) passed"
WRITES_STARTED = False  # set once apply may have sent a write: an interrupt then says so
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what the shell reports for a tool whose reader went away
AUTH_HINT = (
    " (check ELEVENLABS_API_KEY, or the variable the environment's api_key_env names, and that the API URL is "
    "the key's workspace and region)"
)


class Exit(Exception):
    def __init__(self, code: int, message: str = "") -> None:
        self.code = code
        self.message = message


def err(message: str) -> None:
    from provisioner.redact import scrub

    click.echo(scrub(message), err=True)


def fail(code: int, message: str) -> NoReturn:
    raise Exit(code, message)


def handled(func: Callable[..., None]) -> Callable[..., None]:
    """Turn the expected failures into one line on stderr and an exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        from provisioner.diagnostics import ManifestInvalid
        from provisioner.errors import TelephonyError

        try:
            func(*args, **kwargs)
        except click.ClickException:
            raise  # usage errors: click prints them (commands.usage keeps them to one line)
        except Exit as exc:
            if exc.message:
                err(exc.message)
            sys.exit(int(exc.code))
        except ManifestInvalid as exc:
            for diagnostic in exc.diagnostics:
                err(str(diagnostic))
            sys.exit(int(ExitCode.ERROR))
        except TelephonyError as exc:
            err(f"Error: {error_message(exc)}")
            sys.exit(int(exit_code_of(exc)))
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, and keep Python's exit-time flush quiet too.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_BROKEN_PIPE)
        except signals.Interrupted as stop:
            if WRITES_STARTED:
                err(
                    f"Interrupted ({stop.name}). Requests already sent may have been applied; "
                    "`telephony plan` shows where things stand."
                )
            else:
                err(f"Interrupted ({stop.name}); nothing was changed.")
            sys.exit(stop.exit_code)
        except KeyboardInterrupt:  # a library user's SIGINT handler left as Python's default
            err("Interrupted (SIGINT); nothing was changed." if not WRITES_STARTED else "Interrupted.")
            sys.exit(130)
        except Exception as exc:
            # A bug, not a user error; still one line: a traceback in CI output helps nobody reviewing a plan.
            logging.getLogger(__name__).debug("internal error", exc_info=True)
            if logging.getLogger("provisioner").isEnabledFor(logging.DEBUG):
                traceback.print_exc()
            err(f"Error: internal error ({type(exc).__name__}): {exc} (run with -v for the traceback)")
            sys.exit(int(ExitCode.ERROR))
        sys.exit(int(ExitCode.OK))

    return wrapper


@dataclass(frozen=True)
class Common:
    """The options every reconciler command takes (added by `common`)."""

    path: Path | None
    env: str | None
    variables: tuple[str, ...]
    sandbox: bool
    api_url: str | None
    parallelism: int
    verbose: bool
    deadline: float | None


def common(func: Callable[..., None]) -> Callable[..., None]:
    """Add the shared options; `func` receives them as one `Common` first, then its own options."""

    @wraps(func)
    def with_common(**kwargs: Any) -> None:
        opts = Common(**{f.name: kwargs.pop(f.name) for f in fields(Common)})
        func(opts, **kwargs)

    shared = [
        options.FILE,
        options.ENV,
        options.VAR,
        options.SANDBOX,
        options.API_URL,
        click.option(
            "--parallelism", type=click.IntRange(1, 64), default=8, show_default=True, help="Concurrent API requests."
        ),
        click.option("-v", "--verbose", is_flag=True, help="Log API retries and steps to stderr."),
        click.option(
            "--deadline",
            type=click.FloatRange(min=0),
            default=None,
            metavar="SECONDS",
            help="Give up after this long (else TELEPHONY_DEADLINE; default 900 for plan and drift, none for "
            "apply, where it only stops new steps from starting once writes began; 0: none).",
        ),
    ]
    command: Callable[..., None] = with_common
    for option in reversed(shared):
        command = option(command)
    return command


def _run(coro: Coroutine[Any, Any, T]) -> T:
    import asyncio

    return asyncio.run(coro)


def start(opts: Common, variables: dict[str, str]) -> Context:
    from provisioner.session import open_context

    if opts.verbose:  # the handler, format and TELEPHONY_LOG level: set by the group (provisioner.logsetup)
        from provisioner import logsetup

        logsetup.verbose()
    path = opts.path or Path("telephony.yaml")
    ctx = open_context(path, opts.env, variables, sandbox=opts.sandbox, api_url=opts.api_url)
    for warning in shown_warnings(ctx):
        err(warning)
    return ctx


def shown_warnings(ctx: Context) -> tuple[str, ...]:
    # Unset ${VAR}s are not warned about: plan lists those its changes need (one truth with apply's
    # check, `library.secrets_listing`), apply refuses naming them, drift needs none.
    from provisioner.diagnostic_codes import UNSET_VARIABLE

    return tuple(str(w) for w in ctx.warnings if w.code != UNSET_VARIABLE)


def comment_header(manifest: str, env: str | None, warnings: tuple[str, ...] = ()) -> Header:
    """Whose markdown comment this is; the CI's commit and run come from the environment, read here."""
    from provisioner.header import header

    return header(manifest, env, os.environ, warnings)


def plan_live(ctx: Context, opts: Common, *, targets: tuple[str, ...] = (), secrets: bool = False) -> Plan:
    """Observe the workspace and plan (read-only): what plan and drift show. With `secrets`, the
    plan lists the `${VAR}`s apply will need and those unset here (`Plan.secrets`)."""
    from provisioner import library
    from provisioner.workspace import READ_DEADLINE, deadline

    seconds = deadline(opts.deadline, READ_DEADLINE)

    async def run() -> Plan:
        async with ctx.client(opts.parallelism) as client:
            client.set_deadline(seconds)
            environ = ctx.environ if secrets else None
            return await library.plan(ctx.manifest, client, ctx.options(targets=targets), environ=environ)

    return _run(run())


def warn_dummies(ctx: Context, plan: Plan) -> None:
    """In the sandbox, name the `${VAR}`s this apply will send as dummy values (unset in the shell)."""
    from provisioner.library import needed_references

    if not ctx.sandbox:
        return
    dummied = sorted(needed_references(plan))
    if dummied:
        err(f"Note: sandbox: {', '.join(dummied)} sent as dummy values (real secrets never reach the sandbox).")


# -- plan -------------------------------------------------------------------------------------


def cmd_plan(
    opts: Common, targets: tuple[str, ...], out: Path | None, fmt: str, detailed_exitcode: bool, require_secrets: bool
) -> None:
    from provisioner.planfile import STDOUT, PlanFile, check_writable, dumps, write
    from provisioner.render import render

    values = parse_vars(opts.variables)
    if out is not None:
        check_writable(out)
    ctx = start(opts, values)
    plan = plan_live(ctx, opts, targets=targets, secrets=True)
    blocked = plan.blocked()
    to_stdout = out == STDOUT
    shown = comment_header(str(ctx.path), opts.env, shown_warnings(ctx))
    render(plan, sys.stderr if to_stdout else sys.stdout, fmt, blocked=blocked, header=shown)
    if to_stdout:
        sys.stdout.write(dumps(PlanFile(plan, str(ctx.path), opts.env, values)))
    elif out is not None:
        write(out, PlanFile(plan, str(ctx.path), opts.env, values))
        err(f"Saved the plan to {out}. Apply it with: telephony apply {out}")
    unset = plan.secrets.unset if plan.secrets is not None else ()
    if require_secrets and unset:
        # Names only: a job that holds the values fails here, before an apply that would refuse.
        fail(ExitCode.ERROR, f"Error: --require-secrets: apply needs {', '.join(unset)}, not set here.")
    if detailed_exitcode:
        if blocked:
            fail(ExitCode.BLOCKED, "")
        if plan.has_changes:
            fail(ExitCode.CHANGES, "")


# -- drift ------------------------------------------------------------------------------------


def cmd_drift(opts: Common, fmt: str, fail_on_unmanaged: bool) -> None:
    from provisioner.render import render

    ctx = start(opts, parse_vars(opts.variables))
    plan = plan_live(ctx, opts)
    render(plan, sys.stdout, fmt, mode="drift", header=comment_header(str(ctx.path), opts.env, shown_warnings(ctx)))
    # Unmanaged numbers are always listed; only --fail-on-unmanaged counts them as drift.
    if plan.has_changes or (fail_on_unmanaged and plan.unmanaged):
        fail(ExitCode.CHANGES, "")


# -- apply ------------------------------------------------------------------------------------


def confirm(auto_approve: bool, *, to_stderr: bool = False) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        fail(ExitCode.ERROR, "Error: no terminal to confirm on; re-run with --auto-approve to apply.")
    answer = click.prompt(
        "Do you want to apply these changes? Only 'yes' will be accepted",
        default="",
        show_default=False,
        err=to_stderr,
    )
    if answer.strip() != "yes":
        fail(ExitCode.ERROR, "Apply cancelled: nothing was changed.")


def progress_printer() -> Callable[[StepResult, int, int], None]:
    def show(result: StepResult, done: int, total: int) -> None:
        every = max(1, total // 10)
        if total <= 20:
            suffix = f" ({result.resource_id})" if result.resource_id and result.status == "applied" else ""
            err(f"{result.address}: {result.status}{suffix}")
        elif done % every == 0 or done == total:
            err(f"Applying: {done}/{total} steps done")

    return show


def print_report(report: ApplyReport) -> None:
    from provisioner.redact import scrub

    applied, failed = report.by_status("applied"), report.by_status("failed")
    skipped, mismatched = report.by_status("skipped"), report.by_status("mismatch")
    click.echo("")
    click.echo(
        f"Apply report: {len(applied)} applied, {len(mismatched)} read-back mismatches, "
        f"{len(failed)} failed, {len(skipped)} skipped."
    )
    for item in applied[:50]:
        click.echo(f"  Applied: {item.address} ({item.action})")
    for item in applied:
        for warning in item.warnings:
            click.echo(f"  Warning: {item.address}: {warning}")
    if len(applied) > 50:
        click.echo(f"  ... and {len(applied) - 50} more applied")
    for title, items in (("Failed", failed), ("Read-back mismatch", mismatched), ("Skipped", skipped)):
        for item in items:
            click.echo(scrub(f"  {title}: {item.address} ({item.action}): {item.message}"))
    if any(item.message == f"not started: {DEADLINE_PASSED}" for item in skipped):
        click.echo(
            "Stopped at the run deadline (--deadline / TELEPHONY_DEADLINE): requests already sent may have been "
            "applied; `telephony plan` shows where things stand."
        )
    if failed or skipped:
        click.echo("Not everything was applied; re-run `telephony apply` to converge.")


def exit_code(report: ApplyReport) -> ExitCode:
    if report.by_status("failed") or report.by_status("skipped"):
        return ExitCode.PARTIAL if report.changed_anything else ExitCode.ERROR
    if report.by_status("mismatch"):
        return ExitCode.READBACK_MISMATCH
    return ExitCode.OK


def cmd_apply(
    opts: Common,
    auto_approve: bool,
    allow_deletes: bool,
    allow_replace: bool,
    rotate_secrets: bool,
    planfile: Path | None,
    fmt: str,
) -> None:
    """Apply; with `--format json` stdout holds one JSON document (apply_report), also when apply
    refuses before any write, and everything else (the plan, progress, the prompt) goes to stderr."""
    from provisioner.errors import TelephonyError

    args = (opts, auto_approve, allow_deletes, allow_replace, rotate_secrets, planfile)
    if fmt != "json":
        code = run_apply(*args, as_json=False)
    else:
        try:
            code = run_apply(*args, as_json=True)
        except (Exit, TelephonyError) as exc:
            from provisioner.apply_report import apply_json, write_apply_json

            write_apply_json(apply_json(None, None, exit_code_of(exc), error=error_message(exc)), sys.stdout)
            raise
    if code != ExitCode.OK:
        fail(code, "")


def exit_code_of(exc: Exception) -> int:
    """The exit code of an expected failure (`handled` exits with it; apply's JSON records it)."""
    from provisioner.errors import BlockedBySafetyRule, StalePlan

    if isinstance(exc, Exit):
        return exc.code
    if isinstance(exc, StalePlan):
        return ExitCode.STALE_PLAN
    if isinstance(exc, BlockedBySafetyRule):
        return ExitCode.BLOCKED
    return ExitCode.ERROR


def error_message(exc: Exception) -> str:
    """The one line an expected failure prints after "Error: " (a 401/403 also says what to check)."""
    from provisioner.api.client import ApiError

    if isinstance(exc, Exit):
        return exc.message.removeprefix("Error: ")
    hint = AUTH_HINT if isinstance(exc, ApiError) and exc.status in (401, 403) else ""
    return f"{exc}{hint}"


def check_sandbox_matches(planfile: Path, plan: Plan, sandbox: bool) -> None:
    """A plan made with --sandbox is applied with it, and one made without, without it (exit 5:
    like any plan made against another workspace, but said in one line, before any API call)."""
    if plan.sandbox == sandbox:
        return
    if plan.sandbox:
        why = f"{planfile} was made with --sandbox; apply it with --sandbox, or make a new plan without it"
    else:
        where = plan.workspace.get("api_url", "a live workspace")
        why = f"{planfile} was made against {where}, not the sandbox; apply it without --sandbox"
    fail(ExitCode.STALE_PLAN, f"Error: {why}.")


def run_apply(
    opts: Common,
    auto_approve: bool,
    allow_deletes: bool,
    allow_replace: bool,
    rotate_secrets: bool,
    planfile: Path | None,
    *,
    as_json: bool,
) -> int:
    from provisioner import library
    from provisioner.planfile import read
    from provisioner.render import render_text
    from provisioner.workspace import deadline

    saved = read(planfile) if planfile is not None else None
    if saved is not None and planfile is not None:
        check_sandbox_matches(planfile, saved.plan, opts.sandbox)
    if saved is not None:
        # The plan decides what is sent and records how the manifest was loaded; the manifest itself
        # is the one named on this command line (-f, default telephony.yaml), never a path from the file.
        if rotate_secrets or opts.env is not None or opts.variables:
            fail(
                ExitCode.ERROR,
                "Error: a plan file records --env/--var and its changes; "
                "--env, --var and --rotate-secrets cannot be combined with one.",
            )
        values = saved.variables
        opts = replace(opts, env=saved.env)
        rotate_secrets = saved.rotate_secrets
    else:
        values = parse_vars(opts.variables)
    seconds = deadline(opts.deadline, None)
    ctx = start(opts, values)
    targets = tuple(saved.plan.targets) if saved else ()

    def show(plan: Plan, blocked: list[Blocked]) -> None:
        render_text(plan, sys.stderr if as_json else sys.stdout, blocked=blocked)

    stopped: list[int] = []  # the signal that asked to stop, once one did

    async def run() -> int:
        async with ctx.client(opts.parallelism) as client:
            client.set_deadline(seconds)

            def approve(plan: Plan) -> None:
                warn_dummies(ctx, plan)
                if saved is None:
                    confirm(auto_approve, to_stderr=as_json)
                graceful_stop(stopped)
                # Writes start now: never cut one mid-flight; the deadline only stops new steps.
                client.soften_deadline()

            def stop() -> str | None:
                if stopped:
                    return f"interrupted ({signal.Signals(stopped[0]).name})"
                if client.deadline_passed():
                    return DEADLINE_PASSED
                return None

            outcome = await library.apply(
                ctx.manifest,
                client,
                environ=ctx.environ,
                options=ctx.options(rotate_secrets=rotate_secrets, targets=targets, check=False),
                saved=saved.plan if saved else None,
                allow_deletes=allow_deletes,
                allow_replace=allow_replace,
                on_plan=show,
                confirm=approve,
                progress=progress_printer(),
                stop=stop,
            )
            report = outcome.report
            if as_json:
                from provisioner.apply_report import apply_json, write_apply_json

                code: int = ExitCode.OK if report is None else exit_code(report)
                if stopped and report is not None:
                    code = ExitCode.PARTIAL if report.changed_anything else 128 + stopped[0]
                why = f"stopped by {signal.Signals(stopped[0]).name}" if stopped else None
                requests = (client.stats.requests, client.stats.retries)
                document = apply_json(outcome.plan, report, code, stopped=why, requests=requests)
                write_apply_json(document, sys.stdout)
                return code
            if report is None:
                return ExitCode.OK
            print_report(report)
            if stopped:
                name = signal.Signals(stopped[0]).name
                click.echo(f"Stopped by {name}: steps not started were skipped; re-run `telephony apply` to converge.")
                return ExitCode.PARTIAL if report.changed_anything else 128 + stopped[0]
            stats = client.stats
            click.echo(f"API requests: {stats.requests} ({stats.retries} retried after 429/5xx/dropped connections)")
            code = exit_code(report)
            if code == ExitCode.OK:
                counts = outcome.plan.counts()
                click.echo(
                    f"Apply complete: {counts['create']} added, {counts['update']} changed, "
                    f"{counts['replace']} replaced, {counts['delete']} destroyed."
                )
            return code

    import asyncio  # imported when used: it is a tenth of the CLI's start

    try:
        return _run(run())
    except asyncio.CancelledError:  # a second signal, or the grace period ran out
        raise signals.Interrupted(stopped[0] if stopped else signal.SIGINT) from None


def graceful_stop(stopped: list[int]) -> None:
    """From the first write on, a signal stops starting steps instead of stopping at once."""
    import asyncio

    global WRITES_STARTED
    WRITES_STARTED = True
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()

    def on_signal(signum: int) -> None:
        if stopped or task is None:
            if task is not None:
                task.cancel()  # the second signal: stop now
            return
        stopped.append(signum)
        err(f"{signal.Signals(signum).name}: starting no more steps; waiting for the requests in flight.")
        loop.call_later(signals.GRACE_S, task.cancel)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)


def cmd_show(planfile: Path, fmt: str) -> None:
    from provisioner.planfile import read
    from provisioner.render import render

    saved = read(planfile)
    shown = comment_header(saved.manifest_path, saved.env)  # as recorded by `plan --out`
    render(saved.plan, sys.stdout, fmt, blocked=saved.plan.blocked(), header=shown)


def register(group: click.Group) -> None:
    """Add plan, apply and drift to the `telephony` group."""

    @group.command("plan", cls=usage.Command)
    @common
    @click.option(
        "--target",
        "targets",
        multiple=True,
        metavar="ADDRESS",
        help="Plan only this resource (and what it depends on); repeatable.",
    )
    @click.option(
        "--out",
        type=click.Path(path_type=Path, allow_dash=True),
        default=None,
        help="Save the plan for `apply PLANFILE` (`-`: the plan file on stdout, the plan on stderr).",
    )
    @click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
    @click.option("--detailed-exitcode", is_flag=True, help="Exit 0 no changes, 2 changes, 3 blocked, 1 error.")
    @click.option(
        "--require-secrets",
        is_flag=True,
        help="Exit 1 (after printing the plan) when a ${VAR} apply needs is not set here.",
    )
    @handled
    def plan(opts: Common, **kwargs: Any) -> None:
        """Show what apply would change in the workspace."""
        cmd_plan(opts, **kwargs)

    @group.command("apply", cls=usage.Command)
    @common
    @click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
    @click.option("--allow-deletes", is_flag=True, help="Allow more number deletions than workspace.max_deletes.")
    @click.option("--allow-replace", is_flag=True, help="Allow replacing numbers (delete and re-import).")
    @click.option("--rotate-secrets", is_flag=True, help="Re-send write-only secrets (SIP passwords, webhook secrets).")
    @click.argument("planfile", required=False, type=click.Path(path_type=Path))
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="json: every step as one JSON document on stdout (schemas/apply-output.schema.json).",
    )
    @handled
    def apply(opts: Common, **kwargs: Any) -> None:
        """Apply the manifest (or a saved plan) to the workspace."""
        cmd_apply(opts, **kwargs)

    @group.command("show", cls=usage.Command)
    @click.argument("planfile", type=click.Path(path_type=Path))
    @click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
    @handled
    def show(planfile: Path, fmt: str) -> None:
        """Render a saved plan file as `plan --out` printed it (read-only, no API calls)."""
        cmd_show(planfile, fmt)

    @group.command("drift", cls=usage.Command)
    @common
    @click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
    @click.option(
        "--fail-on-unmanaged",
        is_flag=True,
        help="Exit 2 also when the workspace has numbers the manifest does not declare.",
    )
    @handled
    def drift(opts: Common, **kwargs: Any) -> None:
        """Report live values that differ from the manifest (read-only)."""
        cmd_drift(opts, **kwargs)
