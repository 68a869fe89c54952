"""Apply a plan: dependency-ordered, concurrent where independent, verified by reading back.

Each actionable change is one step, executed from the payload it carries (`provisioner.changes`):
apply reads neither the manifest nor live JSON. A step waits for the steps it depends on (secrets before the
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

from provisioner.api import send
from provisioner.api.client import ApiError, ElevenLabsClient
from provisioner.changes import (
    PHASE_DELETES,
    AgentUpdate,
    Change,
    NumberDelete,
    NumberImport,
    NumberReplace,
    NumberUpdate,
    SecretCreate,
    SecretDelete,
    SecretRotate,
    WebhookUpdate,
)
from provisioner.errors import ReadBackMismatch, TelephonyError
from provisioner.plan import Plan
from provisioner.state import differences, reordered_only, webhook_view

Resolve = Callable[[str], str]
log = logging.getLogger(__name__)
Status = Literal["applied", "failed", "skipped", "mismatch"]


@dataclass
class StepResult:
    address: str
    action: str
    status: Status
    message: str = ""
    resource_id: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass
class ApplyReport:
    results: list[StepResult] = field(default_factory=list)

    def by_status(self, status: Status) -> list[StepResult]:
        return [r for r in self.results if r.status == status]

    @property
    def changed_anything(self) -> bool:
        return any(r.status in ("applied", "mismatch") for r in self.results)


class Applier:
    """Executes the actionable changes of a plan; each change class has one way to be sent."""

    def __init__(
        self,
        client: ElevenLabsClient,
        resolve: Resolve,
        *,
        secret_ids: dict[str, str],
        agent_aliases: dict[str, str],
        progress: Callable[[StepResult, int, int], None] | None = None,
        stop: Callable[[], str | None] | None = None,
    ) -> None:
        self.client = client
        self.stop = stop  # the reason once a signal or the run deadline asks to start no more steps
        # Steps in flight at once: the client's parallelism, so a stop leaves at most that many running.
        self._slots = asyncio.Semaphore(client.parallelism)
        self.resolve = resolve
        self.progress = progress
        self.secret_ids = dict(secret_ids)  # grows as secrets are created
        self.aliases = agent_aliases
        self._warnings: dict[str, list[str]] = {}  # address -> read-back warnings (not mismatches)

    async def run(self, plan: Plan) -> ApplyReport:
        steps = plan.actionable
        done: dict[str, asyncio.Event] = {c.address: asyncio.Event() for c in steps}
        ok: dict[str, bool] = {}
        report = ApplyReport()
        total = len(steps)

        async def run_step(change: Change) -> None:
            waits = [a for a in change.depends_on if a in done]
            if change.phase == PHASE_DELETES:
                waits += [c.address for c in steps if c.phase < PHASE_DELETES]
            for address in waits:
                await done[address].wait()
            failed = [a for a in change.depends_on if a in ok and not ok[a]]
            async with self._slots:
                if failed:
                    message = f"depends on failed {', '.join(failed)}"
                    result = StepResult(change.address, change.action, "skipped", message)
                elif self.stop is not None and (reason := self.stop()):
                    result = StepResult(change.address, change.action, "skipped", f"not started: {reason}")
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

    async def _guarded(self, change: Change) -> StepResult:
        try:
            resource_id = await self._execute(change)
        except ReadBackMismatch as exc:
            return StepResult(change.address, change.action, "mismatch", str(exc))
        except (ApiError, TelephonyError, KeyError) as exc:  # KeyError: e.g. a secret reference not resolved
            return StepResult(change.address, change.action, "failed", str(exc))
        except Exception as exc:  # anything else still fails only this step, never the whole apply
            log.debug("step failed: address=%s", change.address, exc_info=True)
            return StepResult(change.address, change.action, "failed", f"{type(exc).__name__}: {exc}")
        warnings = tuple(self._warnings.pop(change.address, []))
        return StepResult(change.address, change.action, "applied", resource_id=resource_id, warnings=warnings)

    async def _execute(self, change: Change) -> str | None:
        client, resolve = self.client, self.resolve
        if isinstance(change, SecretCreate):
            secret_id = await send.create_secret(client, change.secret_name, change.value_ref, resolve)
            self.secret_ids[change.secret_name] = secret_id
            return secret_id
        if isinstance(change, SecretRotate):
            await send.rotate_secret(client, change.secret_id, change.secret_name, change.value_ref, resolve)
            return change.secret_id
        if isinstance(change, SecretDelete):
            await send.delete_secret(client, change.secret_id)
            return change.secret_id
        if isinstance(change, WebhookUpdate):
            hook = await send.update_webhook(client, change.webhook, self.secret_ids, clear_first=change.clear_first)
            self._verify(change, webhook_view(hook))
            return None
        if isinstance(change, AgentUpdate):
            state = await send.update_agent(client, change.agent_id, change.edit, change.scope, self.secret_ids)
            self._verify(change, state.view())
            return change.agent_id
        if isinstance(change, NumberReplace):
            await send.delete_number(client, change.delete_id)
        if isinstance(change, NumberImport):  # and NumberReplace, after its delete
            number_id, number = await send.import_number(client, change.e164, change.request, change.settings, resolve)
            self._verify(change, number.view(self.aliases, manage_agent=change.manages_agent))
            return number_id
        if isinstance(change, NumberUpdate):
            number = await send.update_number(client, change.number_id, change.request, resolve)
            self._verify(change, number.view(self.aliases, manage_agent=change.manages_agent))
            return change.number_id
        if isinstance(change, NumberDelete):
            await send.delete_number(client, change.number_id)
            return change.number_id
        raise TypeError(f"no way to apply {type(change).__name__}")

    def _verify(self, change: Change, observed: dict[str, Any] | None) -> None:
        found = []
        for path, sent, got in differences(change.after, observed):
            if path.endswith("codecs") and reordered_only(sent, got):
                # Not lost, only reordered: an API that does not keep codec order (see plan_numbers).
                self._warnings.setdefault(change.address, []).append(
                    f"{path}: the API does not keep codec order (sent {sent}, read back {got})"
                )
            else:
                found.append((path, sent, got))
        if found:
            shown = "; ".join(
                f"{path or 'value'}: sent {_short(sent)}, read back {_short(got)}" for path, sent, got in found[:5]
            )
            raise ReadBackMismatch(f"the API did not keep what was sent: {shown}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
