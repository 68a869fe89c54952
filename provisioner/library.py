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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from provisioner import grammar, secrets
from provisioner.api.client import ElevenLabsClient
from provisioner.api.codec import request_references
from provisioner.api.live import LiveState, Needs, observe
from provisioner.apply import Applier, ApplyReport, StepResult
from provisioner.changes import NumberImport, NumberUpdate, SecretCreate, SecretRotate
from provisioner.diagnostics import Diagnostic, ManifestInvalid, sort
from provisioner.errors import BlockedBySafetyRule, ManifestError, StalePlan
from provisioner.loader import declared_environments, load, read
from provisioner.manifest import Manifest
from provisioner.plan import Plan
from provisioner.planfile import staleness
from provisioner.planner import Options, build_plan

Resolve = Callable[[str], str]
Progress = Callable[[StepResult, int, int], None]


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
    """
    file = Path(path)
    try:  # read once: a pipe (-f /dev/stdin) or a FIFO has nothing left for a second read
        text = read(file)
    except ManifestInvalid as exc:
        return sort(exc.diagnostics)
    declared: list[str | None] = list(declared_environments(file, text))
    names = [env] if env is not None else (declared or [None])
    found: dict[str | None, list[Diagnostic]] = {}
    for name in names:
        try:
            loaded = load(file, env=name, variables=dict(variables or {}), environ=environ, strict=strict, text=text)
            found[name] = loaded.diagnostics
        except ManifestInvalid as exc:
            found[name] = exc.diagnostics
    if len(found) == 1:
        return sort(next(iter(found.values())))
    result: list[Diagnostic] = []
    for diagnostic in {d for diagnostics in found.values() for d in diagnostics}:
        where = [str(name) for name, diagnostics in found.items() if diagnostic in diagnostics]
        if len(where) < len(found):
            diagnostic = replace(diagnostic, message=f"{diagnostic.message} (environment {', '.join(where)})")
        result.append(diagnostic)
    return sort(result)


# -- plan and drift -------------------------------------------------------------------------------


def needs(manifest: Manifest) -> Needs:
    """What a plan of `manifest` must read from the workspace."""
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
    live = await observe(client, needs(manifest))
    return live, build_plan(manifest, live, options)


async def plan(source: Manifest | Path | str, client: ElevenLabsClient, options: Options | None = None) -> Plan:
    """What apply would change (read-only)."""
    return (await observe_and_plan(_manifest(source), client, options))[1]


async def drift(source: Manifest | Path | str, client: ElevenLabsClient) -> Plan:
    """Live values that differ from the manifest: a plan read the other way (read-only)."""
    return await plan(source, client)


# -- apply ----------------------------------------------------------------------------------------


def needed_references(planned: Plan) -> list[str]:
    """`${VAR}` names the actionable changes of `planned` will send (checked before any write)."""
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


async def execute(
    client: ElevenLabsClient,
    planned: Plan,
    live: LiveState,
    resolve: Resolve,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ApplyReport:
    """Apply the actionable changes of `planned` (made against `live`), in dependency order.
    Once `should_stop()` is true no further step starts (they are reported skipped)."""
    applier = Applier(
        client,
        resolve,
        secret_ids=live.secret_ids(),
        agent_aliases=planned.agent_aliases,
        progress=progress,
        should_stop=should_stop,
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
    on_plan: Callable[[Plan, list[str]], None] | None = None,
    confirm: Callable[[Plan], None] | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ApplyOutcome:
    """Plan, check, then execute. With `saved`, execute it only if a fresh plan equals it.

    `on_plan(plan, blocked)` sees the final plan before any check (the CLI prints it there);
    `confirm(plan)` is called last before the first write and may raise to cancel. Raises
    `StalePlan`, `BlockedBySafetyRule` or `MissingVariables` with nothing changed. Once
    `should_stop()` is true no further step starts (e.g. a run deadline).
    """
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
        raise BlockedBySafetyRule(blocked)
    missing = missing_references(needed_references(fresh), env)
    if missing:
        raise MissingVariables(missing)
    if confirm is not None:
        confirm(fresh)
    report = await execute(client, fresh, live, lambda v: secrets.resolve(v, env), progress, should_stop)
    return ApplyOutcome(fresh, report)
