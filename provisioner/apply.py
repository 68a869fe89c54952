"""Apply a plan: dependency-ordered, concurrent where independent, verified by reading back.

Each actionable change is one step, executed from the payload it carries (`provisioner.changes`):
apply reads neither the manifest nor live JSON. A step waits for the steps it depends on (secrets before the
webhook that references them, the workspace webhook before agents that switch it on) and for all
earlier phases when it is a delete (deletes always run last). A failed step stops only the steps
that depend on it. After each write the resource is read back and compared with the manifest's
view: a value the API silently dropped is a read-back mismatch, not a success.

Phone numbers are read back together (`_NumberReadBack`): each number step writes, frees its slot
and waits for a sweep that reads every number written so far (the list pages, or one GET each when
that is fewer requests); each step then compares its own number. A number the list does not hold
is a mismatch. Deletes still start only after every number step is verified.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from provisioner.api import codec, send
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
from provisioner.state import NumberState, differences, reordered_only, webhook_view

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


class _NumberReadBack:
    """The read-back of the number steps of a run, in sweeps (see the module docstring).

    A sweep reads every number written and not yet verified: the list pages once, or one GET each
    when that is fewer requests (`send.read_numbers`). A sweep starts when enough numbers wait for
    it to make the list worth its pages (`sweep_at`), or when no number step is left to write; so
    a long apply still reports progress as it goes, and a short one reads once at the end.
    """

    def __init__(self, client: ElevenLabsClient, addresses: set[str], listed: int, *, batched: bool = True) -> None:
        self.client = client
        self.batched = batched  # False: each number is read back on its own, right after its write
        self.waiting = set(addresses)  # number steps that have not yet written, failed or been skipped
        self.listed = listed
        pages = max(1, math.ceil(listed / client.number_page_size))
        # At least 8 numbers verified per list page read: the sweeps cost at most 1/8 more requests.
        self.sweep_at = max(client.parallelism, 8 * pages)
        self.pending: dict[str, str] = {}  # address -> number id, written and not yet in a sweep
        self.verdicts: dict[str, asyncio.Future[NumberState | None]] = {}
        self._sweeping: asyncio.Task[None] | None = None

    def settle(self, address: str, number_id: str | None) -> None:
        """Step `address` is done writing (`number_id`: the number it wrote, None: nothing to read)."""
        if not self.batched or address not in self.waiting:
            return
        self.waiting.discard(address)
        if number_id is not None:
            self.pending[address] = number_id
            self.verdicts[address] = asyncio.get_running_loop().create_future()
        self._maybe_sweep()

    def _maybe_sweep(self) -> None:
        busy = self._sweeping is not None and not self._sweeping.done()
        if not busy and self.pending and (len(self.pending) >= self.sweep_at or not self.waiting):
            self._sweeping = asyncio.get_running_loop().create_task(self._sweep())

    async def _sweep(self) -> None:
        batch, self.pending = self.pending, {}
        try:
            read = await send.read_numbers(self.client, set(batch.values()), self.listed)
        except Exception as exc:  # each step of the sweep reports it
            for address in batch:
                self.verdicts[address].set_exception(exc)
        else:
            for address, number_id in batch.items():
                self.verdicts[address].set_result(read.get(number_id))
        finally:
            self._sweeping = None
            self._maybe_sweep()

    async def state(self, address: str, number_id: str) -> NumberState:
        if not self.batched:
            return codec.decode_number(await self.client.get_phone_number(number_id))
        found = await self.verdicts[address]
        if found is None:
            raise ReadBackMismatch(f"number {number_id} was written but is not in the list read back")
        return found


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
        listed_numbers: int = 0,
    ) -> None:
        self.client = client
        self.listed_numbers = listed_numbers  # numbers in the workspace before the run (read-back cost)
        self._numbers = _NumberReadBack(client, set(), 0)
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
        writes = {c.address for c in steps if isinstance(c, NumberImport | NumberUpdate)}
        imports = sum(1 for c in steps if isinstance(c, NumberImport) and not isinstance(c, NumberReplace))
        # A number step that waits for another one would wait for its own read-back: none does in
        # plans made today, but then each number is read back on its own.
        batched = not any(set(c.depends_on) & writes for c in steps if c.address in writes)
        self._numbers = _NumberReadBack(self.client, writes, self.listed_numbers + imports, batched=batched)

        async def run_step(change: Change) -> None:
            waits = [a for a in change.depends_on if a in done]
            if change.phase == PHASE_DELETES:
                waits += [c.address for c in steps if c.phase < PHASE_DELETES]
            for address in waits:
                await done[address].wait()
            failed = [a for a in change.depends_on if a in ok and not ok[a]]
            result: StepResult | _Written
            try:
                async with self._slots:
                    if failed:
                        message = f"depends on failed {', '.join(failed)}"
                        result = StepResult(change.address, change.action, "skipped", message)
                    elif self.stop is not None and (reason := self.stop()):
                        result = StepResult(change.address, change.action, "skipped", f"not started: {reason}")
                    else:
                        result = await self._guarded(change)
                if isinstance(result, _Written):  # the read-back, outside the slot: it waits for the others
                    result = await self._guarded_read_back(change, result)
            finally:
                self._numbers.settle(change.address, None)  # no-op once the step has written
            assert isinstance(result, StepResult)
            ok[change.address] = result.status in ("applied", "mismatch")
            report.results.append(result)
            done[change.address].set()
            if self.progress:
                self.progress(result, len(report.results), total)

        await asyncio.gather(*(run_step(c) for c in steps))
        order = {c.address: i for i, c in enumerate(steps)}
        report.results.sort(key=lambda r: order[r.address])
        return report

    async def _guarded(self, change: Change) -> StepResult | _Written:
        return await self._outcome(change, lambda: self._execute(change))

    async def _guarded_read_back(self, change: Change, written: _Written) -> StepResult:
        async def verify() -> str:
            number = await self._numbers.state(change.address, written.number_id)
            assert isinstance(change, NumberImport | NumberUpdate)
            self._verify(change, number.view(self.aliases, manage_agent=change.manages_agent))
            return written.number_id

        result = await self._outcome(change, verify)
        assert isinstance(result, StepResult)
        return result

    async def _outcome(
        self, change: Change, work: Callable[[], Awaitable[str | _Written | None]]
    ) -> StepResult | _Written:
        try:
            resource_id = await work()
        except ReadBackMismatch as exc:
            return StepResult(change.address, change.action, "mismatch", str(exc))
        except (ApiError, TelephonyError, KeyError) as exc:  # KeyError: e.g. a secret reference not resolved
            return StepResult(change.address, change.action, "failed", str(exc))
        except Exception as exc:  # anything else still fails only this step, never the whole apply
            log.debug("step failed: address=%s", change.address, exc_info=True)
            return StepResult(change.address, change.action, "failed", f"{type(exc).__name__}: {exc}")
        if isinstance(resource_id, _Written):
            return resource_id
        warnings = tuple(self._warnings.pop(change.address, []))
        return StepResult(change.address, change.action, "applied", resource_id=resource_id, warnings=warnings)

    async def _execute(self, change: Change) -> str | _Written | None:
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
            number_id = await send.write_import(client, change.e164, change.request, change.settings, resolve)
            self._numbers.settle(change.address, number_id)
            return _Written(number_id)
        if isinstance(change, NumberUpdate):
            await send.write_update(client, change.number_id, change.request, resolve)
            self._numbers.settle(change.address, change.number_id)
            return _Written(change.number_id)
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


@dataclass(frozen=True)
class _Written:
    """A number step has written; its read-back comes from `_NumberReadBack`."""

    number_id: str


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
