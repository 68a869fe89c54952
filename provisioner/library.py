"""The library under the CLI: validate, plan, drift and apply as functions.

A Python user calls these with a manifest path (or a loaded `Manifest`) and an
`ElevenLabsClient`, and gets back the diagnostics, the `Plan` or the `ApplyOutcome`; failures
are `provisioner.errors.TelephonyError`s. The click commands only parse options, call these and
map results to exit codes.

    from provisioner import library
    from provisioner.api.client import ElevenLabsClient

    async with ElevenLabsClient("https://api.elevenlabs.io", key) as client:
        plan = await library.plan("telephony.yaml", client)
        outcome = await library.apply("telephony.yaml", client)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from provisioner import gcpause, grammar, secrets
from provisioner.diagnostics import Diagnostic, ManifestInvalid, sort
from provisioner.errors import BlockedBySafetyRule, ManifestError, StalePlan
from provisioner.loader import check, load, prepare, render_for
from provisioner.manifest import Manifest
from provisioner.templating import MAX_RENDER_SECONDS

if TYPE_CHECKING:  # imported where used: validate needs none of the API's modules (about 1 s)
    from provisioner.api.client import ElevenLabsClient
    from provisioner.api.live import LiveState, Needs
    from provisioner.apply import ApplyReport, StepResult
    from provisioner.plan import Blocked, Plan, Secrets
    from provisioner.planner import Options

Resolve = Callable[[str], str]
Progress = Callable[["StepResult", int, int], None]


class MissingVariables(ManifestError):
    """`${VAR}`s the changes need are not set; nothing was changed."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        super().__init__(f"environment variable(s) not set: {', '.join(names)}; nothing was changed.")


@dataclass(frozen=True)
class Loaded:
    manifest: Manifest
    digest: str  # of the rendered manifest: a saved plan is refused when it changed
    warnings: list[Diagnostic] = field(default_factory=list)


def load_manifest(path: Path | str, env: str | None = None, variables: Mapping[str, str] | None = None) -> Loaded:
    """Load and validate (templating included); raises `ManifestInvalid` with every problem."""
    result = load(Path(path), env=env, variables=dict(variables or {}), environ=os.environ)
    return Loaded(result.manifest, "sha256:" + result.source_digest, list(result.diagnostics))


def _manifest(source: Manifest | Path | str) -> Manifest:
    return source if isinstance(source, Manifest) else load_manifest(source).manifest


# -- validate -------------------------------------------------------------------------------------


TEMPLATE_BUDGET_SECONDS = 10.0  # rendering time for one validate, all environments together
TEMPLATE_BUDGET_VARIABLE = "TELEPHONY_TEMPLATE_BUDGET"


def template_budget(environ: Mapping[str, str]) -> float:
    """Seconds of template rendering one validate may spend (`TELEPHONY_TEMPLATE_BUDGET`)."""
    try:
        seconds = float(environ.get(TEMPLATE_BUDGET_VARIABLE, TEMPLATE_BUDGET_SECONDS))
    except ValueError:
        return TEMPLATE_BUDGET_SECONDS
    return seconds if seconds > 0 else TEMPLATE_BUDGET_SECONDS


def validate(
    path: Path | str,
    *,
    env: str | None = None,
    variables: Mapping[str, str] | None = None,
    strict: bool = False,
    environ: Mapping[str, str] | None = None,
) -> list[Diagnostic]:
    """Every diagnostic for the file, across each declared environment when `env` is None.

    A problem found in only some environments says which ones. Offline: no secrets, no network.
    The file and its environments block are parsed once; each environment is rendered once, and
    one whose rendered text equals one already checked shares its diagnostics. Rendering shares
    one time budget (`template_budget`) across all environments.
    """
    if not str(path).strip():  # Path("") would read as "." and be reported as a directory
        message = "-f names no file (the name is empty)"
        return [Diagnostic("error", message, str(path), 1, 1, "file")]
    file = Path(path)
    try:  # read once: a pipe (-f /dev/stdin) or a FIFO has nothing left for a second read
        prepared = prepare(file)
    except ManifestInvalid as exc:
        return sort(exc.diagnostics)
    names: list[str | None] = [env] if env is not None else (list(prepared.environments) or [None])
    budget = template_budget(os.environ if environ is None else environ)
    spent = 0.0  # rendering time only: the budget is the templates', not the checks'
    checked: dict[tuple[str, tuple[int, ...]], list[Diagnostic]] = {}
    found: dict[str | None, list[Diagnostic]] = {}
    for name in names:
        remaining = budget - spent
        if remaining <= 0:
            found[name] = [_out_of_budget(prepared.file, name, budget)]
            continue
        started = time.monotonic()
        try:
            rendered = render_for(prepared, name, variables, seconds=remaining)
        except ManifestInvalid as exc:
            spent += time.monotonic() - started
            timed_out = any(d.code == "template-timeout" for d in exc.diagnostics) and remaining < MAX_RENDER_SECONDS
            found[name] = (
                [_out_of_budget(prepared.file, name, budget, d) for d in exc.diagnostics]
                if timed_out
                else (exc.diagnostics)
            )
            continue
        spent += time.monotonic() - started
        key = (rendered.text, rendered.origin)
        if key not in checked:
            try:
                checked[key] = check(prepared, rendered, environ=environ, strict=strict).diagnostics
            except ManifestInvalid as exc:
                checked[key] = exc.diagnostics
        found[name] = checked[key]
    if len(found) == 1:
        return sort(next(iter(found.values())))
    result: list[Diagnostic] = []
    for diagnostic in {d for diagnostics in found.values() for d in diagnostics}:
        where = [str(name) for name, diagnostics in found.items() if diagnostic in diagnostics]
        named = len(where) == 1 and f"environment '{where[0]}'" in diagnostic.message
        if len(where) < len(found) and not named:
            diagnostic = replace(diagnostic, message=f"{diagnostic.message} (environment {', '.join(where)})")
        result.append(diagnostic)
    return sort(result)


def _out_of_budget(file: str, name: str | None, budget: float, at: Diagnostic | None = None) -> Diagnostic:
    """The template budget ran out before (or while) rendering environment `name`."""
    if at is not None and at.code != "template-timeout":
        return at
    where = f"environment '{name}'" if name is not None else "the file"
    message = (
        f"template: the rendering budget of {budget:g} seconds for all environments together "
        f"({TEMPLATE_BUDGET_VARIABLE}) ran out at {where}"
    )
    line, column = (at.line, at.column) if at is not None else (1, 1)
    return Diagnostic("error", message, file, line, column, "template-timeout")


# -- plan and drift -------------------------------------------------------------------------------


def needs(manifest: Manifest) -> Needs:
    """What a plan of `manifest` must read from the workspace."""
    from provisioner.api.live import Needs

    webhooks = manifest.declares("pre_call_webhook") or any(
        a.pre_call_webhook is not None for a in manifest.agents.values()
    )
    return Needs(
        agents=tuple((alias, a.id) for alias, a in manifest.agents.items()),
        # The default stack decides whether a new SIP number needs its stack set after the import.
        settings=manifest.declares("pre_call_webhook")
        or any(n.provider == "sip_trunk" for n in manifest.phone_numbers.values()),
        secrets=webhooks,
    )


async def observe_and_plan(
    manifest: Manifest, client: ElevenLabsClient, options: Options | None = None
) -> tuple[LiveState, Plan]:
    """Observe the workspace and plan `manifest` against it (read-only)."""
    # Decoding 10,000 numbers and planning them builds a few hundred thousand objects that live
    # until the command ends: the collector would traverse them again and again (gcpause).
    from provisioner.api.live import observe
    from provisioner.planner import build_plan

    with gcpause.paused(keep=True):
        live = await observe(client, needs(manifest))
        return live, build_plan(manifest, live, options)


async def plan(
    source: Manifest | Path | str,
    client: ElevenLabsClient,
    options: Options | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Plan:
    """What apply would change (read-only). With `environ` (where apply would run), the plan also
    lists the `${VAR}`s its changes need and which of them are unset there (`Plan.secrets`)."""
    planned = (await observe_and_plan(_manifest(source), client, options))[1]
    if environ is not None:
        planned.secrets = secrets_listing(planned, environ)
    return planned


async def drift(source: Manifest | Path | str, client: ElevenLabsClient) -> Plan:
    """Live values that differ from the manifest: a plan read the other way (read-only)."""
    return await plan(source, client)


# -- apply ----------------------------------------------------------------------------------------


def needed_references(planned: Plan) -> list[str]:
    """`${VAR}` names the actionable changes of `planned` will send (checked before any write)."""
    from provisioner.api.codec import request_references
    from provisioner.changes import NumberImport, NumberUpdate, SecretCreate, SecretRotate

    names: list[str] = []
    for change in planned.actionable:
        found: list[str] = []
        if isinstance(change, NumberImport | NumberUpdate):
            found = request_references(change.request)
        elif isinstance(change, SecretCreate | SecretRotate):
            found = grammar.references(change.value_ref)
        names += [n for n in found if n not in names]
    return names


def missing_references(names: list[str], environ: Mapping[str, str]) -> list[str]:
    return [name for name in names if grammar.unset_references("${" + name + "}", environ)]


def secrets_listing(planned: Plan, environ: Mapping[str, str]) -> Secrets:
    """What `plan` shows of secrets: the check apply makes before its first write, made early.

    `environ` is where apply would resolve them (the sandbox's dummies fill every one)."""
    needed = needed_references(planned)
    from provisioner.plan import Secrets

    return Secrets(tuple(sorted(needed)), tuple(sorted(missing_references(needed, environ))))


async def execute(
    client: ElevenLabsClient,
    planned: Plan,
    live: LiveState,
    resolve: Resolve,
    progress: Progress | None = None,
    stop: Callable[[], str | None] | None = None,
) -> ApplyReport:
    """Apply the actionable changes of `planned` (made against `live`), in dependency order.

    `stop()` is asked before each step starts: once it gives a reason, the rest are skipped."""
    from provisioner.apply import Applier

    applier = Applier(
        client,
        resolve,
        secret_ids=live.secret_ids(),
        agent_aliases=planned.agent_aliases,
        progress=progress,
        stop=stop,
        listed_numbers=len(live.numbers),
    )
    return await applier.run(planned)


@dataclass
class ApplyOutcome:
    plan: Plan
    report: ApplyReport | None  # None when there was nothing to apply


async def apply(
    source: Manifest | Path | str,
    client: ElevenLabsClient,
    *,
    environ: Mapping[str, str] | None = None,
    options: Options | None = None,
    saved: Plan | None = None,
    allow_deletes: bool = False,
    allow_replace: bool = False,
    on_plan: Callable[[Plan, list[Blocked]], None] | None = None,
    confirm: Callable[[Plan], None] | None = None,
    progress: Progress | None = None,
    stop: Callable[[], str | None] | None = None,
) -> ApplyOutcome:
    """Plan, check, then execute. With `saved`, execute it only if a fresh plan equals it.

    `on_plan(plan, blocked)` sees the final plan before any check (the CLI prints it there);
    `confirm(plan)` is called last before the first write and may raise to cancel. Raises
    `StalePlan`, `BlockedBySafetyRule` or `MissingVariables` with nothing changed. Once
    `should_stop()` is true no further step starts (e.g. a run deadline).
    """
    from provisioner.planfile import staleness

    env = os.environ if environ is None else environ
    live, fresh = await observe_and_plan(_manifest(source), client, options)
    if saved is not None:
        reasons = staleness(saved, fresh)
        if reasons:
            raise StalePlan(reasons)
        fresh = saved  # equal to the fresh plan: execute exactly what was reviewed
    blocked = fresh.blocked(allow_deletes=allow_deletes, allow_replace=allow_replace)
    if on_plan is not None:
        on_plan(fresh, blocked)
    if not fresh.has_changes:
        return ApplyOutcome(fresh, None)
    if blocked:
        raise BlockedBySafetyRule([b.message for b in blocked])
    missing = missing_references(needed_references(fresh), env)
    if missing:
        raise MissingVariables(missing)
    if confirm is not None:
        confirm(fresh)
    report = await execute(client, fresh, live, lambda v: secrets.resolve(v, env), progress, stop)
    return ApplyOutcome(fresh, report)
