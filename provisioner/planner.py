"""Build a Plan from the manifest and the observed live state.

Numbers are planned in `plan_numbers` (identity, ownership, replaces). Here: the workspace
webhook and the tool-owned secrets it references, agents (only the telephony keys the manifest
declares are compared), plan-level notes, `--target` filtering, and assembly into a Plan.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from provisioner import desired
from provisioner.api import codec
from provisioner.api.codec import AgentEdit
from provisioner.api.live import LiveState
from provisioner.changes import (
    PHASE_AGENTS,
    PHASE_DELETES,
    PHASE_SECRETS,
    PHASE_SETTINGS,
    AgentUpdate,
    Change,
    FieldChange,
    Reason,
    SecretCreate,
    SecretDelete,
    SecretRotate,
    Unchanged,
    WebhookUpdate,
)
from provisioner.diff import diff_views
from provisioner.errors import ConfigError
from provisioner.manifest import Manifest, SipTrunkNumber, TwilioNumber
from provisioner.plan import Plan, digest
from provisioner.plan_numbers import number_address, plan_numbers
from provisioner.state import (
    SECRET_NAME_PREFIX,
    SENSITIVE,
    WORKSPACE_SCOPE,
    SecretRef,
    WebhookState,
    is_tool_secret,
    secret_scope,
    webhook_view,
)

WEBHOOK_ADDRESS = "workspace.pre_call_webhook"
NOTE_CLEAR_FIRST = (
    "sent in two requests: the webhook is cleared, then written whole (the API may merge its header map, "
    "which would keep a removed header)"
)
NOTE_PLACEHOLDER_REMOVAL = (
    "removes placeholder(s) {keys}: the whole map is sent without them; an API that merges this map keeps "
    "them (null is not allowed), and apply then says how to remove them by hand"
)
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


class UnknownTarget(ConfigError):
    """A `--target` address that names nothing in the manifest or the workspace."""


class MissingWorkspaceSecret(ConfigError):
    """A webhook header names (`{secret: NAME}`) a workspace secret that does not exist."""

    def __init__(self, missing: list[tuple[str, str, str]]) -> None:
        self.missing = missing
        named = "; ".join(f"{where}.headers.{header} uses secret {name!r}" for where, header, name in missing)
        super().__init__(
            f"{named}, which does not exist in the workspace: create it there (the tool never creates, "
            "rotates or deletes a secret it did not create), or change the header; nothing was planned"
        )


def check_named_secrets(manifest: Manifest, live: LiveState) -> None:
    """Raise `MissingWorkspaceSecret` when a `{secret: NAME}` header names no live secret."""
    known = live.secret_ids()
    missing = [item for item in desired.named_secrets(manifest) if item[2] not in known]
    if missing:
        raise MissingWorkspaceSecret(missing)


@dataclass(frozen=True)
class Options:
    rotate_secrets: bool = False
    targets: tuple[str, ...] = ()
    check_targets: bool = True  # False for a saved plan's targets: staleness reports what moved
    manifest_digest: str = ""
    workspace: tuple[tuple[str, str], ...] = ()


def _scope_address(manifest: Manifest) -> dict[str, str]:
    """Secret scope → the address of the change that uses it (only scopes this manifest manages)."""
    scopes = {WORKSPACE_SCOPE: WEBHOOK_ADDRESS} if manifest.declares("pre_call_webhook") else {}
    for alias, agent in manifest.agents.items():
        if agent.pre_call_webhook is not None:
            scopes.setdefault(agent.id, agent_address(alias))
    return scopes


def _secrets(manifest: Manifest, live: LiveState, opts: Options) -> list[Change]:
    live_ids = {n: i for n, i in live.secret_ids().items() if is_tool_secret(n)}
    wanted = desired.secrets(manifest)
    changes: list[Change] = []
    for name, ref in sorted(wanted.items()):
        view = {"name": name}
        common: dict[str, Any] = {
            "address": secret_address(name),
            "kind": "secret",
            "name": name,
            "phase": PHASE_SECRETS,
        }
        if name not in live_ids:
            changes.append(
                SecretCreate(
                    **common,
                    action="create",
                    reason=Reason.CREATE_MISSING,
                    after=view,
                    fields=(FieldChange(path="value", after=SENSITIVE, sensitive=True),),
                    live_digest=digest(None),
                    secret_name=name,
                    value_ref=ref,
                )
            )
            continue
        common.update(
            before=view,
            after=view,
            live_id=live_ids[name],
            live_digest=digest(view),
            notes=("value is write-only: not compared",),
        )
        if opts.rotate_secrets:
            rotated = FieldChange(
                path="value", before=SENSITIVE, after=SENSITIVE, sensitive=True, note="re-sent (--rotate-secrets)"
            )
            changes.append(
                SecretRotate(
                    **common,
                    action="update",
                    reason=Reason.UPDATE_ROTATE,
                    fields=(rotated,),
                    secret_id=live_ids[name],
                    secret_name=name,
                    value_ref=ref,
                )
            )
        else:
            changes.append(Unchanged(**common))
    scopes = _scope_address(manifest)
    for extra in live.duplicate_secrets():
        if not is_tool_secret(extra.name):
            continue  # a secret the tool did not create is never touched
        view = {"name": extra.name}
        changes.append(
            SecretDelete(
                address=f'secret["{extra.name}", "{extra.secret_id}"]',
                kind="secret",
                name=extra.name,
                action="delete",
                reason=Reason.DELETE_DUPLICATE,
                reason_text=f"a duplicate of secret.{extra.name}, which keeps {live_ids.get(extra.name)}",
                before=view,
                fields=(FieldChange(path="", before=view, after=None),),
                live_id=extra.secret_id,
                live_digest=digest(view),
                depends_on=tuple(a for s, a in scopes.items() if secret_scope(extra.name) == s),
                phase=PHASE_DELETES,
                secret_id=extra.secret_id,
            )
        )
    for name, secret_id in sorted(live_ids.items()):
        scope = secret_scope(name)
        if name not in wanted and scope in scopes:
            view = {"name": name}
            changes.append(
                SecretDelete(
                    address=secret_address(name),
                    kind="secret",
                    name=name,
                    action="delete",
                    reason=Reason.DELETE_UNUSED_SECRET,
                    reason_text="no longer used by a managed webhook",
                    before=view,
                    fields=(FieldChange(path="", before=view, after=None),),
                    live_id=secret_id,
                    live_digest=digest(view),
                    depends_on=(scopes[scope],),
                    phase=PHASE_DELETES,
                    secret_id=secret_id,
                )
            )
    return changes


def webhook_host_attention(before: WebhookState | None, after: WebhookState | None, where: str) -> tuple[str, ...]:
    """A new or changed webhook host stands out: ElevenLabs will send its headers (secrets included) there."""
    if after is None:
        return ()
    new_host = urlsplit(after.url.strip()).hostname or after.url
    old_host = urlsplit(before.url.strip()).hostname if before is not None else None
    if old_host == new_host:
        return ()
    secrets = [h for h, v in after.headers if isinstance(v, SecretRef)]
    carried = f"; its headers {', '.join(secrets)} carry stored secrets" if secrets else ""
    was = f" (was {old_host})" if old_host else ""
    return (f"{where} sends to a new host: {new_host}{was}{carried}. Check it is yours.",)


def _secret_deps(changes: Iterable[Change], scope: str) -> tuple[str, ...]:
    return tuple(
        c.address
        for c in changes
        if c.kind == "secret"
        and c.action in ("create", "update")
        and c.name.startswith(f"{SECRET_NAME_PREFIX}{scope}:")
    )


def _webhook(manifest: Manifest, live: LiveState, secrets: list[Change]) -> list[Change]:
    if not manifest.declares("pre_call_webhook"):
        return []
    wanted = desired.workspace_webhook(manifest)
    want, have = webhook_view(wanted), webhook_view(live.webhook)
    fields = diff_views(have, want)
    common: dict[str, Any] = {
        "address": WEBHOOK_ADDRESS,
        "kind": "workspace_webhook",
        "name": "pre_call_webhook",
        "before": have,
        "after": want,
        "live_digest": digest(have),
        "phase": PHASE_SETTINGS,
        "depends_on": _secret_deps(secrets, WORKSPACE_SCOPE),
    }
    if not fields:
        return [Unchanged(**common)]
    clear = codec.removes_headers(live.webhook, wanted)
    common["attention"] = webhook_host_attention(live.webhook, wanted, "the workspace pre-call webhook")
    return [
        WebhookUpdate(
            **common,
            action="update",
            reason=Reason.UPDATE_DIFFERS,
            fields=tuple(fields),
            webhook=wanted,
            clear_first=clear,
            notes=(NOTE_CLEAR_FIRST,) if clear else (),
        )
    ]


def _agents(manifest: Manifest, live: LiveState, earlier: list[Change]) -> list[Change]:
    changes: list[Change] = []
    seen: set[str] = set()
    webhook_changes = any(c.address == WEBHOOK_ADDRESS and c.action != "no-op" for c in earlier)
    for alias, declared in manifest.agents.items():
        if declared.id in seen:
            continue
        seen.add(declared.id)
        scope = desired.agent_scope(declared)
        want_state, have_state = desired.agent(declared), live.agent(declared.id, scope)
        have, want = have_state.view(), want_state.view()
        fields = diff_views(have, want)
        deps = _secret_deps(earlier, declared.id)
        if declared.pre_call_webhook is True and webhook_changes:
            deps += (WEBHOOK_ADDRESS,)
        common: dict[str, Any] = {
            "address": agent_address(alias),
            "kind": "agent",
            "name": alias,
            "before": have,
            "after": want,
            "live_id": declared.id,
            "live_digest": digest(have),
            "depends_on": deps,
            "phase": PHASE_AGENTS,
        }
        if not fields:
            changes.append(Unchanged(**common))
            continue
        differs = {key for key in want if have.get(key) != want.get(key)}
        live_hook, want_hook = have_state.pre_call_webhook, want_state.pre_call_webhook
        clear = "pre_call_webhook" in differs and codec.removes_headers(
            live_hook if isinstance(live_hook, WebhookState) else None,
            want_hook if isinstance(want_hook, WebhookState) else None,
        )
        removed = [k for k in desired.removed_placeholders(declared) if k in (have.get("dynamic_variables") or {})]
        edit = AgentEdit(
            pre_call_webhook=want_hook if "pre_call_webhook" in differs else None,
            set_placeholders=(want_state.placeholders or ()) if "dynamic_variables" in differs else (),
            remove_placeholders=tuple(removed) if "dynamic_variables" in differs else (),
            transfers=want_state.transfers if "transfers" in differs else None,
            overrides=want_state.overrides if "overrides" in differs else None,
            clear_webhook_first=clear,
        )
        if "pre_call_webhook" in differs and isinstance(want_hook, WebhookState):
            before_hook = live_hook if isinstance(live_hook, WebhookState) else None
            common["attention"] = webhook_host_attention(before_hook, want_hook, f"agent {alias}'s pre-call webhook")
        notes: tuple[str, ...] = (NOTE_CLEAR_FIRST,) if clear else ()
        notes += (NOTE_PLACEHOLDER_REMOVAL.format(keys=", ".join(removed)),) if removed else ()
        common["notes"] = notes
        changes.append(
            AgentUpdate(
                **common,
                action="update",
                reason=Reason.UPDATE_DIFFERS,
                fields=tuple(fields),
                agent_id=declared.id,
                edit=edit,
                scope=scope,
            )
        )
    return changes


def _touches(change: Change, *words: str) -> bool:
    """A create or replace (everything is sent), or an update with a field path containing a word."""
    if change.action in ("create", "replace"):
        return True
    return any(f.sensitive or any(w in f.path for w in words) for f in change.fields)


def _notes(manifest: Manifest, changes: list[Change]) -> list[str]:
    """The write-only notes that concern what this plan changes, each only when it applies."""
    twilio = sip = webhook_secret = False
    secret_scopes = {secret_scope(name) for name in desired.secrets(manifest)}
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


def _hits(address: str, target: str) -> bool:
    return address == target or address.startswith(target + ".") or address.startswith(target + "[")


def check_targets(changes: list[Change], targets: tuple[str, ...]) -> None:
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


def _targeted(changes: list[Change], targets: tuple[str, ...]) -> list[Change]:
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


def _number_trunks(manifest: Manifest, changes: list[Change]) -> dict[str, str]:
    """The trunk name of each planned SIP-trunk number (renderers group a shared trunk change by it)."""
    planned = {c.address for c in changes}
    found: dict[str, str] = {}
    for alias, number in manifest.phone_numbers.items():
        if isinstance(number, SipTrunkNumber) and number_address(alias) in planned:
            found[number_address(alias)] = number.sip_trunk
    return found


def build_plan(manifest: Manifest, live: LiveState, opts: Options | None = None) -> Plan:
    opts = opts or Options()
    check_named_secrets(manifest, live)
    aliases = desired.aliases(manifest)
    numbers, unmanaged = plan_numbers(manifest, live, opts.rotate_secrets, aliases)
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
        agent_aliases=aliases,
        number_trunks=_number_trunks(manifest, changes),
    )
