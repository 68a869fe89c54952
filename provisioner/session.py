"""What plan, apply and drift share: load the manifest, pick the workspace, observe, plan.

Kept out of `commands/` so it can be tested without a CLI; nothing here prints.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from provisioner import grammar, secrets
from provisioner.api.client import ElevenLabsClient
from provisioner.api.codec import request_references
from provisioner.api.live import LiveState, Needs, observe
from provisioner.apply import Applier, ApplyReport, StepResult
from provisioner.changes import NumberImport, NumberUpdate, SecretCreate, SecretRotate
from provisioner.diagnostics import Diagnostic
from provisioner.loader import load
from provisioner.manifest import Manifest
from provisioner.plan import Plan
from provisioner.planner import Options, build_plan
from provisioner.sandbox import DummyEnviron, sandbox_target, sandbox_transport
from provisioner.workspace import Target, resolve_target, retry_policy


@dataclass
class Context:
    manifest: Manifest
    path: Path
    digest: str
    target: Target
    environ: Mapping[str, str]
    transport: httpx.AsyncBaseTransport | None = None
    warnings: list[Diagnostic] = field(default_factory=list)
    sandbox: bool = False

    def resolve(self, value: str) -> str:
        return secrets.resolve(value, self.environ)

    def client(self, parallelism: int) -> ElevenLabsClient:
        base = "http://sandbox.invalid" if self.sandbox else self.target.api_url
        return ElevenLabsClient(
            base, self.target.api_key, transport=self.transport, parallelism=parallelism, retry=retry_policy()
        )


def load_manifest(path: Path, env: str | None, variables: Mapping[str, str]) -> tuple[Manifest, str, list[Diagnostic]]:
    """Load through `provisioner.loader` (templating, validation); raises `ManifestInvalid`."""
    result = load(path, env=env, variables=dict(variables), environ=os.environ)
    return result.manifest, "sha256:" + result.source_digest, list(result.diagnostics)


def open_context(
    path: Path, env: str | None, variables: Mapping[str, str], *, sandbox: bool, api_url: str | None
) -> Context:
    manifest, digest, warnings = load_manifest(path, env, variables)
    if sandbox:
        return Context(
            manifest,
            path,
            digest,
            sandbox_target(),
            DummyEnviron(),
            sandbox_transport(manifest),
            warnings,
            sandbox=True,
        )
    target = resolve_target(api_url, manifest.workspace.region)
    return Context(manifest, path, digest, target, os.environ, None, warnings)


def needs(manifest: Manifest) -> Needs:
    """What a plan of `manifest` must read from the workspace."""
    webhooks = manifest.declares("pre_call_webhook") or any(
        a.pre_call_webhook is not None for a in manifest.agents.values()
    )
    return Needs(
        agents=tuple((alias, a.id) for alias, a in manifest.agents.items()),
        settings=manifest.declares("pre_call_webhook"),
        secrets=webhooks,
    )


async def plan(
    manifest: Manifest,
    client: ElevenLabsClient,
    options: Options | None = None,
) -> tuple[LiveState, Plan]:
    """Observe the workspace and plan `manifest` against it (read-only)."""
    live = await observe(client, needs(manifest))
    return live, build_plan(manifest, live, options)


async def observe_and_plan(
    ctx: Context,
    client: ElevenLabsClient,
    *,
    rotate_secrets: bool = False,
    targets: tuple[str, ...] = (),
    check_targets: bool = True,
) -> tuple[LiveState, Plan]:
    opts = Options(
        rotate_secrets=rotate_secrets,
        targets=targets,
        check_targets=check_targets,
        manifest_digest=ctx.digest,
        workspace=tuple(ctx.target.describe().items()),
    )
    return await plan(ctx.manifest, client, opts)


async def execute(
    client: ElevenLabsClient,
    planned: Plan,
    live: LiveState,
    resolve: Callable[[str], str],
    progress: Callable[[StepResult, int, int], None] | None = None,
) -> ApplyReport:
    """Apply the actionable changes of `planned` (made against `live`)."""
    applier = Applier(
        client, resolve, secret_ids=live.secret_ids(), agent_aliases=planned.agent_aliases, progress=progress
    )
    return await applier.run(planned)


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


def missing_references(ctx: Context, names: list[str]) -> list[str]:
    missing = []
    for name in names:
        try:
            secrets.resolve("${" + name + "}", ctx.environ)
        except secrets.MissingSecret:
            missing.append(name)
    return missing
