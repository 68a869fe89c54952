"""What the CLI's plan, apply and drift share: load the manifest, pick the workspace and client.

Kept out of `commands/` so it can be tested without a CLI; nothing here prints.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from provisioner import secrets
from provisioner.api.client import ElevenLabsClient
from provisioner.diagnostics import Diagnostic
from provisioner.library import load_manifest
from provisioner.manifest import Manifest
from provisioner.planner import Options
from provisioner.sandbox import DummyEnviron, sandbox_target, sandbox_transport, state_path
from provisioner.workspace import Target, limits, resolve_target, retry_policy


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

    def options(self, *, rotate_secrets: bool = False, targets: tuple[str, ...] = (), check: bool = True) -> Options:
        """Planner options recording this run's manifest digest and workspace (for plan files)."""
        return Options(
            rotate_secrets=rotate_secrets,
            targets=targets,
            check_targets=check,
            manifest_digest=self.digest,
            workspace=tuple(self.target.describe().items()),
        )

    def client(self, parallelism: int) -> ElevenLabsClient:
        base = "http://sandbox.invalid" if self.sandbox else self.target.api_url
        return ElevenLabsClient(
            base,
            self.target.api_key,
            transport=self.transport,
            parallelism=parallelism,
            retry=retry_policy(),
            limits=limits(),
        )


def open_context(
    path: Path, env: str | None, variables: Mapping[str, str], *, sandbox: bool, api_url: str | None
) -> Context:
    loaded = load_manifest(path, env, variables)
    manifest, digest, warnings = loaded.manifest, loaded.digest, loaded.warnings
    if sandbox:
        state = state_path(path)
        return Context(
            manifest,
            path,
            digest,
            sandbox_target(state),
            DummyEnviron(),
            sandbox_transport(manifest, state),
            warnings,
            sandbox=True,
        )
    environment = manifest.environments.get(env) if env is not None else None
    key_variable = environment.api_key_env if environment is not None else None
    target = resolve_target(api_url, manifest.workspace.region, key_variable=key_variable, env_name=env)
    return Context(manifest, path, digest, target, os.environ, None, warnings)


def workspace_client(
    *, sandbox: bool, api_url: str | None, parallelism: int, manifest_path: Path = Path("telephony.yaml")
) -> ElevenLabsClient:
    """A client for a workspace when there is no manifest yet (`import`, `init --import`); the
    sandbox is `manifest_path`'s."""
    if sandbox:
        state = state_path(manifest_path)
        target, transport = sandbox_target(state), sandbox_transport(Manifest(version=1), state)
        return ElevenLabsClient(
            "http://sandbox.invalid", target.api_key, transport=transport, parallelism=parallelism, retry=retry_policy()
        )
    target = resolve_target(api_url, "default")
    return ElevenLabsClient(target.api_url, target.api_key, parallelism=parallelism, retry=retry_policy())
