"""Build a Plan from the manifest and the observed live state.

Numbers are planned in `plan_numbers` (identity, ownership, replaces). Here: the workspace
webhook and the tool-owned secrets it references, agents (only the telephony keys the manifest
declares are compared), plan-level notes, `--target` filtering, and assembly into a Plan.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from provisioner.diff import FieldChange, agent_view, diff_views, webhook_view
from provisioner.manifest import Manifest, SipTrunkNumber, TwilioNumber, Webhook
from provisioner.mapping import (
    SECRET_NAME_PREFIX,
    WORKSPACE_SCOPE,
    agent_from_api,
    webhook_from_api,
    webhook_secrets,
)
from provisioner.observe import LiveState
from provisioner.plan import PHASE_AGENTS, PHASE_DELETES, PHASE_SECRETS, PHASE_SETTINGS, Plan, ResourceChange, digest
from provisioner.plan_numbers import SENSITIVE, plan_numbers

WEBHOOK_ADDRESS = "workspace.pre_call_webhook"
NOTE_TWILIO = (
    "Twilio credentials are write-only: the API never returns them, so a changed SID or token is not "
    "detected. Rotating them is a replace (delete and re-import): apply --rotate-secrets --allow-replace."
)
NOTE_SIP = "SIP trunk passwords are write-only: sent on import, re-sent only with --rotate-secrets."
NOTE_SECRETS = (
    "Webhook header values from ${VAR} are stored as workspace secrets; their values are write-only "
    "and re-sent only with --rotate-secrets."
)


def agent_address(alias: str) -> str:
    return f"agent.{alias}"


def secret_address(name: str) -> str:
    return f"secret.{name}"


KINDS = ("agent", "phone_number", "secret", "workspace")


class UnknownTarget(Exception):
    """A `--target` address that names nothing in the manifest or the workspace."""


@dataclass(frozen=True)
class Options:
    rotate_secrets: bool = False
    targets: tuple[str, ...] = ()
    check_targets: bool = True  # False for a saved plan's targets: staleness reports what moved
    manifest_digest: str = ""
    workspace: tuple[tuple[str, str], ...] = ()


def _desired_secrets(manifest: Manifest) -> dict[str, str]:
    names: dict[str, str] = {}
    if manifest.declares("pre_call_webhook"):
        names.update(webhook_secrets(manifest.pre_call_webhook, WORKSPACE_SCOPE))
    for agent in manifest.agents.values():
        if isinstance(agent.pre_call_webhook, Webhook):
            names.update(webhook_secrets(agent.pre_call_webhook, agent.id))
    return names


def _scope_address(manifest: Manifest) -> dict[str, str]:
    """Secret scope → the address of the change that uses it (only scopes this manifest manages)."""
    scopes = {WORKSPACE_SCOPE: WEBHOOK_ADDRESS} if manifest.declares("pre_call_webhook") else {}
    for alias, agent in manifest.agents.items():
        if agent.pre_call_webhook is not None:
            scopes.setdefault(agent.id, agent_address(alias))
    return scopes


def _secrets(manifest: Manifest, live: LiveState, opts: Options) -> list[ResourceChange]:
    live_ids = {n: i for n, i in live.secret_ids().items() if n.startswith(SECRET_NAME_PREFIX)}
    changes = []
    for name in sorted(_desired_secrets(manifest)):
        view = {"name": name}
        if name not in live_ids:
            changes.append(
                ResourceChange(
                    secret_address(name),
                    "secret",
                    name,
                    "create",
                    None,
                    view,
                    fields=(FieldChange("value", None, SENSITIVE, True),),
                    live_digest=digest(None),
                    phase=PHASE_SECRETS,
                )
            )
        else:
            rotate = opts.rotate_secrets
            changes.append(
                ResourceChange(
                    secret_address(name),
                    "secret",
                    name,
                    "update" if rotate else "no-op",
                    view,
                    view,
                    fields=(FieldChange("value", SENSITIVE, SENSITIVE, True, "re-sent (--rotate-secrets)"),)
                    if rotate
                    else (),
                    live_id=live_ids[name],
                    live_digest=digest(view),
                    phase=PHASE_SECRETS,
                    notes=("value is write-only: not compared",),
                )
            )
    scopes = _scope_address(manifest)
    for name, secret_id in sorted(live_ids.items()):
        scope = _secret_scope(name)
        if name not in _desired_secrets(manifest) and scope in scopes:
            view = {"name": name}
            changes.append(
                ResourceChange(
                    secret_address(name),
                    "secret",
                    name,
                    "delete",
                    view,
                    None,
                    fields=(FieldChange("", view, None),),
                    live_id=secret_id,
                    reason="no longer used by a managed webhook",
                    live_digest=digest(view),
                    depends_on=(scopes[scope],),
                    phase=PHASE_DELETES,
                )
            )
    return changes


def _secret_deps(changes: Iterable[ResourceChange], scope: str) -> tuple[str, ...]:
    return tuple(
        c.address
        for c in changes
        if c.kind == "secret"
        and c.action in ("create", "update")
        and c.name.startswith(f"{SECRET_NAME_PREFIX}{scope}:")
    )


def _webhook(manifest: Manifest, live: LiveState, secrets: list[ResourceChange]) -> list[ResourceChange]:
    if not manifest.declares("pre_call_webhook"):
        return []
    want = {"webhook": webhook_view(manifest.pre_call_webhook, WORKSPACE_SCOPE)}
    current = (live.settings or {}).get("conversation_initiation_client_data_webhook")
    have = {"webhook": webhook_view(webhook_from_api(current, live.secret_names()), WORKSPACE_SCOPE)}
    fields = diff_views(have, want)
    return [
        ResourceChange(
            WEBHOOK_ADDRESS,
            "workspace_webhook",
            "pre_call_webhook",
            "update" if fields else "no-op",
            have,
            want,
            fields=tuple(fields),
            live_digest=digest(have),
            phase=PHASE_SETTINGS,
            depends_on=_secret_deps(secrets, WORKSPACE_SCOPE),
        )
    ]


def _agents(manifest: Manifest, live: LiveState, earlier: list[ResourceChange]) -> list[ResourceChange]:
    changes, seen = [], set()
    webhook_changes = any(c.address == WEBHOOK_ADDRESS and c.action != "no-op" for c in earlier)
    for alias, declared in manifest.agents.items():
        if declared.id in seen:
            continue
        seen.add(declared.id)
        raw = live.agents.get(declared.id, {})
        have = agent_view(agent_from_api(raw, declared, live.secret_names()), declared)
        want = agent_view(declared, declared)
        fields = diff_views(have, want)
        deps = _secret_deps(earlier, declared.id)
        if declared.pre_call_webhook is True and webhook_changes:
            deps += (WEBHOOK_ADDRESS,)
        changes.append(
            ResourceChange(
                agent_address(alias),
                "agent",
                alias,
                "update" if fields else "no-op",
                have,
                want,
                fields=tuple(fields),
                live_id=declared.id,
                live_digest=digest(have),
                depends_on=deps,
                phase=PHASE_AGENTS,
            )
        )
    return changes


def _touches(change: ResourceChange, *words: str) -> bool:
    """A create or replace (everything is sent), or an update with a field path containing a word."""
    if change.action in ("create", "replace"):
        return True
    return any(f.sensitive or any(w in f.path for w in words) for f in change.fields)


def _notes(manifest: Manifest, changes: list[ResourceChange]) -> list[str]:
    """The write-only notes that concern what this plan changes, each only when it applies."""
    twilio = sip = webhook_secret = False
    secret_scopes = {_secret_scope(name) for name in _desired_secrets(manifest)}
    users = {address for scope, address in _scope_address(manifest).items() if scope in secret_scopes}
    for change in changes:
        if change.action in ("no-op", "delete"):
            continue
        number = manifest.phone_numbers.get(change.name) if change.kind == "phone_number" else None
        if isinstance(number, TwilioNumber):
            twilio = twilio or _touches(change, "twilio", "provider")
        elif isinstance(number, SipTrunkNumber):
            trunk = manifest.sip_trunks.get(number.sip_trunk)
            sides = (trunk.outbound, trunk.inbound) if trunk else ()
            if any(side and side.credentials for side in sides):
                sip = sip or _touches(change, "credentials", "provider")
        elif change.kind == "secret" or change.address in users:
            webhook_secret = webhook_secret or _touches(change, "webhook", "value")
    flags = ((twilio, NOTE_TWILIO), (sip, NOTE_SIP), (webhook_secret, NOTE_SECRETS))
    return [note for wanted, note in flags if wanted]


def _secret_scope(name: str) -> str:
    return name[len(SECRET_NAME_PREFIX) :].rsplit(":", 1)[0]


def _hits(address: str, target: str) -> bool:
    return address == target or address.startswith(target + ".") or address.startswith(target + "[")


def check_targets(changes: list[ResourceChange], targets: tuple[str, ...]) -> None:
    """Raise `UnknownTarget` for a target that matches no address and is not a kind."""
    known = sorted(c.address for c in changes)
    for target in targets:
        if target in KINDS or any(_hits(a, target) for a in known):
            continue
        close = difflib.get_close_matches(target, known + list(KINDS), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        listed = ", ".join(known[:10]) + (f", ... ({len(known) - 10} more)" if len(known) > 10 else "")
        raise UnknownTarget(
            f"--target {target!r} matches no resource{hint}. Known addresses: {listed or '(none)'}; "
            f"or a kind: {', '.join(KINDS)}."
        )


def _targeted(changes: list[ResourceChange], targets: tuple[str, ...]) -> list[ResourceChange]:
    """Keep the targeted addresses (exact, or a prefix such as `phone_number`) and what they depend on."""
    if not targets:
        return changes

    def hit(address: str) -> bool:
        return any(_hits(address, t) for t in targets)

    keep = {c.address for c in changes if hit(c.address)}
    by_address = {c.address: c for c in changes}
    pending = list(keep)
    while pending:
        for dep in by_address[pending.pop()].depends_on:
            if dep not in keep and dep in by_address:
                keep.add(dep)
                pending.append(dep)
    return [c for c in changes if c.address in keep]


def build_plan(manifest: Manifest, live: LiveState, opts: Options | None = None) -> Plan:
    opts = opts or Options()
    numbers, unmanaged = plan_numbers(manifest, live, opts.rotate_secrets)
    secrets = _secrets(manifest, live, opts)
    webhook = _webhook(manifest, live, secrets)
    agents = _agents(manifest, live, secrets + webhook)
    changes = secrets + webhook + numbers + agents
    if opts.check_targets:
        check_targets(changes, opts.targets)
    changes = _targeted(changes, opts.targets)
    return Plan(
        changes=changes,
        unmanaged=unmanaged,
        manifest_digest=opts.manifest_digest,
        workspace=dict(opts.workspace),
        max_deletes=manifest.workspace.max_deletes,
        prune=manifest.workspace.prune,
        notes=_notes(manifest, changes),
        targets=list(opts.targets),
    )
