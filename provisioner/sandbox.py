"""`--sandbox`: every command against the in-process emulator, its state kept per manifest file.

The state of manifest `DIR/NAME.yaml` is `DIR/.telephony/sandbox-NAME.json` (`state_path`): beside
the manifest, so it does not depend on the directory a command runs from, and two manifests (two
environments' files, two services) never share a sandbox. A manifest that is not a regular file
(`-f /dev/stdin`) keeps its state under `.telephony/` in the working directory; one not written
yet (`init --import --sandbox`) already has the state it will have. The sandbox's
workspace URL names that file (`sandbox://PATH`), so a plan made for one manifest's sandbox is
stale against another's.

A new sandbox starts with the agents the manifest names (agents are authored elsewhere, so the
emulator would not know them), and `${VAR}` references that are not set resolve to dummy values
there, with a warning, so the quick start needs no real credentials.

The emulator is the optional extra `telephony[sandbox]` (FastAPI, uvicorn): without it,
`require_emulator` raises `SandboxUnavailable`, which the CLI prints as one `Error:` line.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx

from provisioner.manifest import Manifest, SecretName, Webhook
from provisioner.plan import SANDBOX_SCHEME
from provisioner.workspace import Target, WorkspaceError

log = logging.getLogger(__name__)
STATE_DIR = ".telephony"  # git-ignored (`telephony init` adds it)
LEGACY_STATE = "sandbox.json"  # before 0.2: one state for every manifest in the directory
SANDBOX_KEY = "sandbox-key-not-a-secret"  # never a word that appears in messages: it is scrubbed like any key
INSTALL_HINT = "pip install 'telephony[sandbox]'"


class SandboxUnavailable(WorkspaceError):
    """The emulator's dependencies (the `sandbox` extra) are not installed."""

    def __init__(self, feature: str = "--sandbox") -> None:
        super().__init__(f"{feature} needs the emulator: {INSTALL_HINT}")
        self.feature = feature


def require_emulator(feature: str = "--sandbox", *, server: bool = False) -> None:
    """Import `provisioner.emulator` (and uvicorn, for a `server`) now, or raise `SandboxUnavailable`.

    Only an import failure outside this package means a missing extra: a broken import inside
    `provisioner` is a bug, and is raised as it is.
    """
    try:
        import provisioner.emulator  # noqa: F401

        if server:
            import uvicorn  # noqa: F401
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] == "provisioner":
            raise
        raise SandboxUnavailable(feature) from exc


LOCK_WAIT_S = 60.0


def lock_state(state_file: Path, wait: float = LOCK_WAIT_S) -> int:
    """Hold an exclusive lock on the sandbox state for this run: two runs in one directory would
    otherwise each load the state, write, and silently lose the other's updates."""
    lock_path = state_file.with_name(state_file.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise WorkspaceError(
                    f"another telephony run is using the sandbox ({lock_path} is locked); wait for it to finish"
                ) from None
            time.sleep(0.1)
            continue
        return fd  # held until closed (the sandbox client closing, or the process ending)


def state_path(manifest_path: Path) -> Path:
    """The sandbox state of `manifest_path`: `.telephony/sandbox-<stem>.json` beside it."""
    name = f"sandbox-{manifest_path.stem or 'telephony'}.json"
    if manifest_path.exists() and not manifest_path.is_file():
        return Path(STATE_DIR) / name  # a pipe (`-f /dev/stdin`): the working directory
    # A file not written yet (`init --import --sandbox`) too: the sandbox later runs will use.
    return manifest_path.parent / STATE_DIR / name


def sandbox_transport(manifest: Manifest, state_file: Path) -> httpx.AsyncBaseTransport:
    # Imported here: the emulator (FastAPI, the `sandbox` extra) is only needed when --sandbox is used.
    require_emulator()
    from provisioner.emulator import EmulatorTransport, build_app

    legacy = state_file.with_name(LEGACY_STATE)
    if legacy.is_file() and not state_file.exists():
        log.warning("the sandbox state is now %s (one per manifest); %s is no longer read", state_file, legacy)
    try:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        lock = lock_state(state_file)
        app = build_app(state_file=state_file)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise WorkspaceError(
            f"cannot open the sandbox state {state_file}: {reason} (delete it to start the sandbox over)"
        ) from exc
    store = app.state.store
    store.save_interval = 1.0  # batched writes: linear in the number of changes (flushed on close)
    for alias, agent in manifest.agents.items():
        store.ensure_agent(agent.id, name=alias)
    # Secrets named by `{secret: NAME}` headers exist elsewhere too: a sandbox gets dummy ones.
    hooks = [manifest.pre_call_webhook] + [a.pre_call_webhook for a in manifest.agents.values()]
    have = {s["name"] for s in store.secrets.values()}
    for hook in hooks:
        for value in hook.headers.values() if isinstance(hook, Webhook) else ():
            if isinstance(value, SecretName) and value.secret not in have:
                have.add(value.secret)
                store.create_secret(value.secret, "sandbox-dummy")

    class LockedTransport(EmulatorTransport):
        async def aclose(self) -> None:
            try:
                await super().aclose()  # flushes the state
            finally:
                os.close(lock)  # and only then lets the next run in

    return LockedTransport(app)


def sandbox_target(state_file: Path) -> Target:
    return Target(SANDBOX_SCHEME + str(state_file), SANDBOX_KEY)


class DummyEnviron(Mapping[str, str]):
    """Dummy values for every `${VAR}`: the sandbox never sees a real secret (nor a fingerprint of
    one), even when the variable is set in the shell. `base` exists for tests only."""

    def __init__(self, base: Mapping[str, str] | None = None) -> None:
        self._base = dict(base or {})
        self.dummied: set[str] = set()

    def __getitem__(self, key: str) -> str:
        if self._base.get(key):
            return self._base[key]
        self.dummied.add(key)
        return f"sandbox-dummy-{key.lower()}"

    def get(self, key: str, default: object = None) -> str:
        return self[key]

    def __contains__(self, key: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._base)

    def __len__(self) -> int:
        return len(self._base)
