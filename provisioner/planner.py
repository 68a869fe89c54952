"""Build a Plan from the manifest and the observed live state.

Ownership: only declared numbers are managed (identity = E.164; there is no state file); other
live numbers are listed as unmanaged and planned for deletion only under `workspace.prune`. On
agents, only the telephony keys the manifest declares are compared. Replaces (provider change,
caller-ID-only change, Twilio credential rotation) are planned explicitly, with their reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from provisioner.diff import FieldChange, agent_view, diff_views, e164, number_view, webhook_view
from provisioner.manifest import Manifest, PhoneNumber, SipTrunk, SipTrunkNumber, TwilioNumber, Webhook
from provisioner.mapping import (
    SECRET_NAME_PREFIX,
    WORKSPACE_SCOPE,
    agent_from_api,
    number_from_api,
    webhook_from_api,
    webhook_secrets,
)
from provisioner.observe import LiveState
from provisioner.plan import (
    PHASE_AGENTS,
    PHASE_ASSIGNMENTS,
    PHASE_DELETES,
    PHASE_IMPORTS,
    PHASE_SECRETS,
    PHASE_SETTINGS,
    PHASE_UPDATES,
    Plan,
    ResourceChange,
    Unmanaged,
    digest,
)

SENSITIVE = "(sensitive)"
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


@dataclass(frozen=True)
class Options:
    rotate_secrets: bool = False
    targets: tuple[str, ...] = ()
    manifest_digest: str = ""
    workspace: tuple[tuple[str, str], ...] = ()


def number_address(alias: str) -> str:
    return f"phone_number.{alias}"


def undeclared_address(number: str, duplicate_id: str | None = None) -> str:
    # A second live entry for one E.164 (a duplicate) needs its own address: add its id.
    return f'phone_number["{number}"]' if duplicate_id is None else f'phone_number["{number}", "{duplicate_id}"]'


def agent_address(alias: str) -> str:
    return f"agent.{alias}"


def secret_address(name: str) -> str:
    return f"secret.{name}"


def alias_map(manifest: Manifest) -> dict[str, str]:
    """Agent id → the first alias naming it (so two aliases of one agent compare equal)."""
    aliases: dict[str, str] = {}
    for alias, agent in manifest.agents.items():
        aliases.setdefault(agent.id, alias)
    return aliases


def desired_agent(manifest: Manifest, number: PhoneNumber) -> str | None:
    if number.agent is None:
        return None
    declared = manifest.agents.get(number.agent)
    return alias_map(manifest).get(declared.id, number.agent) if declared else number.agent


def trunk_of(manifest: Manifest, number: PhoneNumber) -> SipTrunk | None:
    return manifest.sip_trunks.get(number.sip_trunk) if isinstance(number, SipTrunkNumber) else None


def manages_agent(number: PhoneNumber) -> bool:
    # `agent:` left out is not managed; `agent: null` unassigns.
    return "agent" in number.model_fields_set


def live_number_view(raw: dict[str, Any], manifest: Manifest, manage_agent: bool = True) -> dict[str, Any]:
    model, trunk = number_from_api(raw, alias_map(manifest))
    return number_view(model, trunk, model.agent, manage_agent=manage_agent)


def _replace_reason(live: dict[str, Any], want: dict[str, Any], number: PhoneNumber, rotate: bool) -> str | None:
    if live["provider"] != want["provider"]:
        return f"provider cannot change in place ({live['provider']} → {want['provider']})"
    if isinstance(number, TwilioNumber):
        if live.get("caller_id_only") != want.get("caller_id_only"):
            return "caller_id_only (supports_inbound) is set only at import"
        if rotate:
            return "Twilio credentials cannot be changed in place (--rotate-secrets)"
    return None


def _password_rotations(trunk: SipTrunk | None) -> list[FieldChange]:
    changes = []
    for side in ("outbound", "inbound"):
        part = getattr(trunk, side) if trunk else None
        if part is not None and part.credentials is not None and part.credentials.password is not None:
            changes.append(
                FieldChange(
                    f"trunk.{side}.credentials.password", SENSITIVE, SENSITIVE, True, "re-sent (--rotate-secrets)"
                )
            )
    return changes


def _write_only(number: PhoneNumber, trunk: SipTrunk | None) -> list[FieldChange]:
    """What an import sends that can never be read back, named so the plan can say so."""
    if isinstance(number, TwilioNumber):
        return [FieldChange("twilio.credentials", None, SENSITIVE, True, "write-only")]
    return [FieldChange(f.path, None, SENSITIVE, True, "write-only") for f in _password_rotations(trunk)]


def _number_change(
    manifest: Manifest, alias: str, number: PhoneNumber, live: dict[str, Any] | None, opts: Options
) -> ResourceChange:
    trunk = trunk_of(manifest, number)
    want = number_view(number, trunk, desired_agent(manifest, number), manage_agent=manages_agent(number))
    address = number_address(alias)
    if live is None:
        return ResourceChange(
            address,
            "phone_number",
            alias,
            "create",
            None,
            want,
            fields=tuple(diff_views({}, want) + _write_only(number, trunk)),
            live_digest=digest(None),
            phase=PHASE_IMPORTS,
        )
    have = live_number_view(live, manifest, manages_agent(number))
    common: dict[str, Any] = {"live_id": live.get("phone_number_id"), "live_digest": digest(have)}
    reason = _replace_reason(have, want, number, opts.rotate_secrets)
    fields = diff_views(have, want)
    if reason:
        return ResourceChange(
            address,
            "phone_number",
            alias,
            "replace",
            have,
            want,
            fields=tuple(fields),
            reason=reason,
            phase=PHASE_IMPORTS,
            **common,
        )
    if opts.rotate_secrets:
        fields += _password_rotations(trunk)
    else:
        # New or changed credentials carry their password (a missing one would keep the old).
        changed = {f.path.split(".credentials")[0] for f in fields if ".credentials" in f.path}
        changed |= {f.path for f in fields if f.path in ("trunk.outbound", "trunk.inbound", "trunk")}
        fields += [
            FieldChange(f.path, f.before, f.after, True, "sent (credentials changed)")
            for f in _password_rotations(trunk)
            if any(f.path.startswith(side + ".") or side == "trunk" for side in changed)
        ]
    if not fields:
        return ResourceChange(address, "phone_number", alias, "no-op", have, want, **common)
    only_agent = all(f.path == "agent" for f in fields)
    return ResourceChange(
        address,
        "phone_number",
        alias,
        "update",
        have,
        want,
        fields=tuple(fields),
        phase=PHASE_ASSIGNMENTS if only_agent else PHASE_UPDATES,
        **common,
    )


def _numbers(manifest: Manifest, live: LiveState, opts: Options) -> tuple[list[ResourceChange], list[Unmanaged]]:
    by_number: dict[str, dict[str, Any]] = {}
    extra: list[dict[str, Any]] = []
    for raw in live.numbers:
        key = e164(str(raw.get("phone_number", "")))
        if key in by_number:
            extra.append(raw)  # a duplicate of a number already seen: listed, never managed
        else:
            by_number[key] = raw
    declared = {e164(n.number) for n in manifest.phone_numbers.values()}
    changes = [
        _number_change(manifest, alias, n, by_number.get(e164(n.number)), opts)
        for alias, n in manifest.phone_numbers.items()
    ]
    unmanaged = []
    for raw in [r for k, r in by_number.items() if k not in declared] + extra:
        duplicate = any(raw is r for r in extra)
        assigned = raw.get("assigned_agent") or {}
        item = Unmanaged(
            str(raw.get("phone_number")),
            str(raw.get("label", "")),
            str(raw.get("provider", "")),
            str(raw.get("phone_number_id")),
            assigned.get("agent_id") if assigned else None,
        )
        unmanaged.append(item)
        if manifest.workspace.prune:
            have = live_number_view(raw, manifest)
            changes.append(
                ResourceChange(
                    undeclared_address(item.number, item.phone_number_id if duplicate else None),
                    "phone_number",
                    item.number,
                    "delete",
                    have,
                    None,
                    fields=(FieldChange("", have, None),),
                    live_id=item.phone_number_id,
                    reason=(
                        "a duplicate of a number already in the workspace (workspace.prune: true)"
                        if duplicate
                        else "not declared in the manifest (workspace.prune: true)"
                    ),
                    live_digest=digest(have),
                    phase=PHASE_DELETES,
                )
            )
    return changes, unmanaged


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
        scope = name[len(SECRET_NAME_PREFIX) :].rsplit(":", 1)[0]
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


def _notes(manifest: Manifest) -> list[str]:
    numbers = manifest.phone_numbers.values()
    notes = []
    if any(isinstance(n, TwilioNumber) for n in numbers):
        notes.append(NOTE_TWILIO)
    if any(
        (t.outbound and t.outbound.credentials) or (t.inbound and t.inbound.credentials)
        for t in manifest.sip_trunks.values()
    ):
        notes.append(NOTE_SIP)
    if _desired_secrets(manifest):
        notes.append(NOTE_SECRETS)
    return notes


def _targeted(changes: list[ResourceChange], targets: tuple[str, ...]) -> list[ResourceChange]:
    """Keep the targeted addresses (exact, or a prefix such as `phone_number`) and what they depend on."""
    if not targets:
        return changes

    def hit(address: str) -> bool:
        return any(address == t or address.startswith(t + ".") or address.startswith(t + "[") for t in targets)

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
    numbers, unmanaged = _numbers(manifest, live, opts)
    secrets = _secrets(manifest, live, opts)
    webhook = _webhook(manifest, live, secrets)
    agents = _agents(manifest, live, secrets + webhook)
    return Plan(
        changes=_targeted(secrets + webhook + numbers + agents, opts.targets),
        unmanaged=unmanaged,
        manifest_digest=opts.manifest_digest,
        workspace=dict(opts.workspace),
        max_deletes=manifest.workspace.max_deletes,
        prune=manifest.workspace.prune,
        notes=_notes(manifest),
        targets=list(opts.targets),
    )
