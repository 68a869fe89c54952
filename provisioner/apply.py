"""Apply a plan: dependency-ordered, concurrent where independent, verified by reading back.

Each actionable change is one step. A step waits for the steps it depends on (secrets before the
webhook that references them, the workspace webhook before agents that switch it on) and for all
earlier phases when it is a delete (deletes always run last). A failed step stops only the steps
that depend on it. After each write the resource is read back and compared with the manifest's
view: a value the API silently dropped is a read-back mismatch, not a success.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from provisioner.client import ApiError, ElevenLabsClient
from provisioner.diff import agent_view, diff_views, webhook_view
from provisioner.manifest import Manifest, PhoneNumber, SipTrunk
from provisioner.mapping import (
    WORKSPACE_SCOPE,
    Resolve,
    agent_from_api,
    agent_patch,
    import_body,
    inbound_to_api,
    outbound_to_api,
    trunk_settings_patch,
    webhook_from_api,
    webhook_secrets,
    webhook_to_api,
)
from provisioner.observe import LiveState
from provisioner.plan import PHASE_DELETES, Plan, ResourceChange
from provisioner.plan_numbers import live_number_view, manages_agent, trunk_of

log = logging.getLogger(__name__)
Status = Literal["applied", "failed", "skipped", "mismatch"]


@dataclass
class StepResult:
    address: str
    action: str
    status: Status
    message: str = ""
    resource_id: str | None = None


@dataclass
class ApplyReport:
    results: list[StepResult] = field(default_factory=list)

    def by_status(self, status: Status) -> list[StepResult]:
        return [r for r in self.results if r.status == status]

    @property
    def changed_anything(self) -> bool:
        return any(r.status in ("applied", "mismatch") for r in self.results)


class ReadBackMismatch(Exception):
    pass


class Applier:
    def __init__(
        self,
        client: ElevenLabsClient,
        manifest: Manifest,
        live: LiveState,
        resolve: Resolve,
        *,
        rotate_secrets: bool = False,
        progress: Callable[[StepResult, int, int], None] | None = None,
    ) -> None:
        self.client = client
        self.manifest = manifest
        self.live = live
        self.resolve = resolve
        self.rotate = rotate_secrets
        self.progress = progress
        self.secret_ids = dict(live.secret_ids())
        self.secret_values = self._secret_values()

    def _secret_values(self) -> dict[str, str]:
        values: dict[str, str] = {}
        if self.manifest.declares("pre_call_webhook"):
            values.update(webhook_secrets(self.manifest.pre_call_webhook, WORKSPACE_SCOPE))
        for agent in self.manifest.agents.values():
            hook = agent.pre_call_webhook
            if hook is not None and not isinstance(hook, bool):
                values.update(webhook_secrets(hook, agent.id))
        return values

    async def run(self, plan: Plan) -> ApplyReport:
        steps = plan.actionable
        done: dict[str, asyncio.Event] = {c.address: asyncio.Event() for c in steps}
        ok: dict[str, bool] = {}
        report = ApplyReport()
        total = len(steps)

        async def run_step(change: ResourceChange) -> None:
            waits = [a for a in change.depends_on if a in done]
            if change.phase == PHASE_DELETES:
                waits += [c.address for c in steps if c.phase < PHASE_DELETES]
            for address in waits:
                await done[address].wait()
            failed = [a for a in change.depends_on if a in ok and not ok[a]]
            if failed:
                result = StepResult(change.address, change.action, "skipped", f"depends on failed {', '.join(failed)}")
            else:
                result = await self._guarded(change)
            ok[change.address] = result.status in ("applied", "mismatch")
            report.results.append(result)
            done[change.address].set()
            if self.progress:
                self.progress(result, len(report.results), total)

        await asyncio.gather(*(run_step(c) for c in steps))
        order = {c.address: i for i, c in enumerate(steps)}
        report.results.sort(key=lambda r: order[r.address])
        return report

    async def _guarded(self, change: ResourceChange) -> StepResult:
        try:
            resource_id = await self._execute(change)
        except ApiError as exc:
            return StepResult(change.address, change.action, "failed", str(exc))
        except ReadBackMismatch as exc:
            return StepResult(change.address, change.action, "mismatch", str(exc))
        except KeyError as exc:  # e.g. a secret reference that cannot be resolved
            return StepResult(change.address, change.action, "failed", str(exc))
        except Exception as exc:  # anything else still fails only this step, never the whole apply
            log.debug("step failed: address=%s", change.address, exc_info=True)
            return StepResult(change.address, change.action, "failed", f"{type(exc).__name__}: {exc}")
        return StepResult(change.address, change.action, "applied", resource_id=resource_id)

    async def _execute(self, change: ResourceChange) -> str | None:
        if change.kind == "secret":
            return await self._secret(change)
        if change.kind == "workspace_webhook":
            await self._webhook(change)
            return None
        if change.kind == "agent":
            await self._agent(change)
            return change.live_id
        return await self._number(change)

    # -- secrets and the workspace webhook --------------------------------------------------

    async def _secret(self, change: ResourceChange) -> str | None:
        if change.action == "delete":
            assert change.live_id is not None
            await self.client.delete_secret(change.live_id)
            return change.live_id
        value = self.resolve(self.secret_values[change.name])
        if change.action == "update" and change.live_id:
            await self.client.update_secret(change.live_id, change.name, value)
            secret_id = change.live_id
        else:
            secret_id = await self.client.create_secret(change.name, value)
        self.secret_ids[change.name] = secret_id
        return secret_id

    def _names(self) -> dict[str, str]:
        return {i: n for n, i in self.secret_ids.items()}

    async def _webhook(self, change: ResourceChange) -> None:
        hook = self.manifest.pre_call_webhook
        body = webhook_to_api(hook, self.secret_ids, WORKSPACE_SCOPE, self.resolve)
        await self.client.update_settings({"conversation_initiation_client_data_webhook": body})
        settings = await self.client.get_settings()
        live = webhook_from_api(settings.get("conversation_initiation_client_data_webhook"), self._names())
        self._verify(change, {"webhook": webhook_view(live, WORKSPACE_SCOPE)})

    # -- agents -----------------------------------------------------------------------------

    async def _agent(self, change: ResourceChange) -> None:
        declared = self.manifest.agents[change.name]
        parts = {f.path.split(".")[0].split("[")[0] for f in change.fields}
        raw = self.live.agents.get(declared.id) or await self.client.get_agent(declared.id)
        body = agent_patch(declared, parts, raw, self.secret_ids, self.resolve)
        if body:
            await self.client.update_agent(declared.id, body)
        after = await self.client.get_agent(declared.id)
        self._verify(change, agent_view(agent_from_api(after, declared, self._names()), declared))

    # -- phone numbers ------------------------------------------------------------------------

    def _declared(self, change: ResourceChange) -> tuple[PhoneNumber, SipTrunk | None, str | None]:
        number = self.manifest.phone_numbers[change.name]
        agent = self.manifest.agents.get(number.agent) if number.agent else None
        return number, trunk_of(self.manifest, number), agent.id if agent else None

    async def _number(self, change: ResourceChange) -> str | None:
        if change.action == "delete":
            assert change.live_id is not None
            await self.client.delete_phone_number(change.live_id)
            return change.live_id
        number, trunk, agent_id = self._declared(change)
        if change.action == "update":
            assert change.live_id is not None
            body = self._update_body(change, number, trunk, agent_id)
            await self.client.update_phone_number(change.live_id, body)
            number_id = change.live_id
        else:
            if change.action == "replace" and change.live_id:
                await self.client.delete_phone_number(change.live_id)
            number_id = await self.client.import_phone_number(import_body(number, trunk, agent_id, self.resolve))
            if trunk is not None:
                # livekit_stack and store_sip_messages are not in the import body: same step, a PATCH.
                settings = trunk_settings_patch(trunk)
                if settings != {"livekit_stack": "standard", "store_sip_messages": True}:
                    await self.client.update_phone_number(number_id, settings)
        after = await self.client.get_phone_number(number_id)
        self._verify(change, live_number_view(after, self.manifest, manages_agent(number)))
        return number_id

    def _update_body(
        self, change: ResourceChange, number: PhoneNumber, trunk: SipTrunk | None, agent_id: str | None
    ) -> dict[str, Any]:
        paths = [f.path for f in change.fields]
        body: dict[str, Any] = {}
        if "label" in paths:
            body["label"] = number.label
        if "agent" in paths:
            body["agent_id"] = agent_id
        if trunk is None:
            return body
        settings = trunk_settings_patch(trunk)
        if "trunk.static_ip" in paths or "trunk" in paths:
            body["livekit_stack"] = settings["livekit_stack"]
        if "trunk.store_sip_messages" in paths or "trunk" in paths:
            body["store_sip_messages"] = settings["store_sip_messages"]
        for side, key, build in (
            ("outbound", "outbound_trunk_config", outbound_to_api),
            ("inbound", "inbound_trunk_config", inbound_to_api),
        ):
            prefix = f"trunk.{side}"
            touched = [p for p in paths if p == prefix or p.startswith(prefix + ".") or p == "trunk"]
            if touched:
                # The PATCH replaces the trunk object; a password is re-sent only when rotating or
                # when credentials change (a missing password keeps the stored one).
                send = self.rotate or any(".credentials" in p or p in (prefix, "trunk") for p in touched)
                body[key] = build(getattr(trunk, side), self.resolve, send_password=send)
        return body

    def _verify(self, change: ResourceChange, observed: dict[str, Any] | None) -> None:
        fields = diff_views(observed, change.after)
        if fields:
            shown = "; ".join(
                f"{f.path or 'value'}: sent {_short(f.after)}, read back {_short(f.before)}" for f in fields[:5]
            )
            raise ReadBackMismatch(f"the API did not keep what was sent: {shown}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
