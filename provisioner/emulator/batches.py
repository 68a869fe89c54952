"""Batch-call lifecycle, computed from the clock so tests can step through it deterministically.

Each recipient gets a slot start: `concurrency` recipients start together, the next group one
call length later. From its start a recipient is `dispatched`, then `initiated` (+2 s), then
`in_progress` (+5 s), and ends at +60 s. The outcome is decided by the number so tests can
plan for it: a first attempt to a number ending in 9 `failed`, ending in 8 reached `voicemail`,
anything else `completed`; retried calls complete. Batch status follows the recipients.
"""

from __future__ import annotations

from typing import Any

from provisioner.emulator.ids import new_id

DISPATCHED_S = 0.0
INITIATED_S = 2.0
IN_PROGRESS_S = 5.0
CALL_S = 60.0
DEFAULT_CONCURRENCY = 10
TERMINAL = frozenset({"completed", "failed", "voicemail", "cancelled"})
FINISHED = frozenset({"completed", "failed", "voicemail"})
RETRYABLE = frozenset({"failed", "voicemail"})


def first_outcome(phone_number: str | None) -> str:
    last = (phone_number or "")[-1:]
    return {"9": "failed", "8": "voicemail"}.get(last, "completed")


def schedule(recipients: list[dict[str, Any]], t0: float, concurrency: int) -> None:
    for i, r in enumerate(recipients):
        r["start"] = t0 + (i // concurrency) * CALL_S


def recipient_status(r: dict[str, Any], now: float) -> tuple[str, float]:
    """(status, time it was entered)."""
    if r.get("fixed"):
        return r["fixed"], r["fixed_at"]
    elapsed = now - r["start"]
    if elapsed < DISPATCHED_S:
        return "pending", r["queued_at"]
    for status, at in (("in_progress", IN_PROGRESS_S), ("initiated", INITIATED_S)):
        if CALL_S > elapsed >= at:
            return status, r["start"] + at
    if elapsed < CALL_S:
        return "dispatched", r["start"]
    return r["outcome"], r["start"] + CALL_S


def new_recipient(body: dict[str, Any], now: float) -> dict[str, Any]:
    return {
        "id": body.get("id") or new_id("rcpt"),
        "phone_number": body.get("phone_number"),
        "whatsapp_user_id": body.get("whatsapp_user_id"),
        "conversation_initiation_client_data": body.get("conversation_initiation_client_data"),
        "created_at": now,
        "queued_at": now,
        "start": now,
        "outcome": first_outcome(body.get("phone_number")),
        "fixed": None,
        "fixed_at": None,
        "conversation_id": new_id("conv"),
    }


def new_batch(data: dict[str, Any], provider: str | None, now: float) -> dict[str, Any]:
    """A batch record from a validated submit body; calls start at `scheduled_time_unix` or now."""
    t0 = max(now, float(data["scheduled_time_unix"] or now))
    recipients = [new_recipient(r, now) for r in data["recipients"]]
    concurrency = data["target_concurrency_limit"] or DEFAULT_CONCURRENCY
    schedule(recipients, t0, concurrency)
    return {
        "id": new_id("btcal"),
        "phone_number_id": data.get("agent_phone_number_id"),
        "phone_provider": provider,
        "whatsapp_params": data.get("whatsapp_params"),
        "name": data["call_name"],
        "agent_id": data["agent_id"],
        "branch_id": data.get("branch_id"),
        "environment": data.get("environment"),
        "created_at": now,
        "updated_at": now,
        "scheduled_time": t0,
        "timezone": data.get("timezone"),
        "retry_count": 0,
        "telephony_call_config": data["telephony_call_config"],
        "target_concurrency_limit": data.get("target_concurrency_limit"),
        "concurrency": concurrency,
        "cancelled": False,
        "recipients": recipients,
    }


def batch_status(batch: dict[str, Any], statuses: list[str], now: float) -> str:
    if batch.get("cancelled"):
        return "cancelled"
    if not statuses or all(s in TERMINAL for s in statuses):
        return "failed" if statuses and all(s == "failed" for s in statuses) else "completed"
    if all(s == "pending" for s in statuses):
        return "pending"
    return "in_progress"


def cancel(batch: dict[str, Any], now: float) -> None:
    batch["cancelled"] = True
    batch["updated_at"] = now
    for r in batch["recipients"]:
        status, _ = recipient_status(r, now)
        if status not in TERMINAL:
            r["fixed"], r["fixed_at"] = "cancelled", now


def retry(batch: dict[str, Any], now: float) -> None:
    batch["retry_count"] += 1
    batch["updated_at"] = now
    again = [r for r in batch["recipients"] if recipient_status(r, now)[0] in RETRYABLE]
    for r in again:
        r.update(fixed=None, fixed_at=None, queued_at=now, outcome="completed", conversation_id=new_id("conv"))
    schedule(again, now, batch["concurrency"])


def render_recipient(r: dict[str, Any], now: float) -> dict[str, Any]:
    status, at = recipient_status(r, now)
    talked = status not in ("pending", "dispatched") and not (status == "cancelled" and r["fixed_at"] <= r["start"])
    return {
        "id": r["id"],
        "phone_number": r["phone_number"],
        "whatsapp_user_id": r["whatsapp_user_id"],
        "status": status,
        "created_at_unix": int(r["created_at"]),
        "updated_at_unix": int(at),
        "conversation_id": r["conversation_id"] if talked else None,
        "conversation_initiation_client_data": r["conversation_initiation_client_data"],
    }


def render(batch: dict[str, Any], agent_name: str, now: float, *, detailed: bool) -> dict[str, Any]:
    rendered = [render_recipient(r, now) for r in batch["recipients"]]
    statuses = [r["status"] for r in rendered]
    out: dict[str, Any] = {
        "id": batch["id"],
        "phone_number_id": batch["phone_number_id"],
        "phone_provider": batch["phone_provider"],
        "whatsapp_params": batch["whatsapp_params"],
        "name": batch["name"],
        "agent_id": batch["agent_id"],
        "branch_id": batch["branch_id"],
        "environment": batch["environment"],
        "created_at_unix": int(batch["created_at"]),
        "scheduled_time_unix": int(batch["scheduled_time"]),
        "timezone": batch["timezone"],
        "total_calls_dispatched": sum(s not in ("pending",) and s != "cancelled" for s in statuses)
        + sum(1 for r in rendered if r["status"] == "cancelled" and r["conversation_id"]),
        "total_calls_scheduled": len(statuses),
        "total_calls_finished": sum(s in FINISHED for s in statuses),
        "last_updated_at_unix": int(max([batch["updated_at"], *(r["updated_at_unix"] for r in rendered)])),
        "status": batch_status(batch, statuses, now),
        "retry_count": batch["retry_count"],
        "telephony_call_config": batch["telephony_call_config"],
        "target_concurrency_limit": batch["target_concurrency_limit"],
        "agent_name": agent_name,
        "branch_name": None,
    }
    if detailed:
        out["recipients"] = rendered
    return out
