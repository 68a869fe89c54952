"""What plan, apply and drift share: load the manifest, pick the workspace, observe, plan.

Kept out of `commands/` so it can be tested without a CLI; nothing here prints.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from provisioner import grammar, secrets
from provisioner.client import ElevenLabsClient
from provisioner.diagnostics import Diagnostic
from provisioner.loader import load
from provisioner.manifest import Manifest, SipTrunkNumber, TwilioNumber, Webhook
from provisioner.observe import LiveState, observe
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


async def observe_and_plan(
    ctx: Context,
    client: ElevenLabsClient,
    *,
    rotate_secrets: bool = False,
    targets: tuple[str, ...] = (),
    check_targets: bool = True,
) -> tuple[LiveState, Plan]:
    live = await observe(ctx.manifest, client)
    opts = Options(
        rotate_secrets=rotate_secrets,
        targets=targets,
        check_targets=check_targets,
        manifest_digest=ctx.digest,
        workspace=tuple(ctx.target.describe().items()),
    )
    return live, build_plan(ctx.manifest, live, opts)


def needed_references(manifest: Manifest, plan: Plan) -> list[str]:
    """`${VAR}` names the actionable changes of `plan` will send (checked before any write)."""
    values: list[str] = []
    for change in plan.actionable:
        if change.kind == "phone_number" and change.name in manifest.phone_numbers:
            number = manifest.phone_numbers[change.name]
            if isinstance(number, TwilioNumber):
                creds = number.twilio
                values += [creds.account_sid, creds.auth_token, creds.account_auth_token or ""]
            elif isinstance(number, SipTrunkNumber) and number.sip_trunk in manifest.sip_trunks:
                trunk = manifest.sip_trunks[number.sip_trunk]
                for side in (trunk.outbound, trunk.inbound):
                    if side is not None and side.credentials is not None:
                        values.append(side.credentials.password or "")
        elif change.kind in ("secret", "workspace_webhook", "agent"):
            hooks: list[Webhook | None] = [manifest.pre_call_webhook]
            hooks += [a.pre_call_webhook for a in manifest.agents.values() if isinstance(a.pre_call_webhook, Webhook)]
            values += [v for hook in hooks if hook for v in hook.headers.values()]
    names: list[str] = []
    for value in values:
        names += [n for n in grammar.references(value) if n not in names]
    return names


def missing_references(ctx: Context, names: list[str]) -> list[str]:
    missing = []
    for name in names:
        try:
            secrets.resolve("${" + name + "}", ctx.environ)
        except secrets.MissingSecret:
            missing.append(name)
    return missing
