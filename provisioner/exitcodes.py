"""Exit codes: part of the command-line interface, documented in docs/exit-codes.md (a test compares).

Terraform-compatible at the core (0 ok, 1 error, 2 changes) and extended for what CI needs to
tell apart: a plan blocked by a safety rule, a partial apply, a stale plan file, and a value the
API silently dropped.
"""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1  # invalid manifest, bad input, or an error before any change was made
    CHANGES = 2  # plan --detailed-exitcode: changes pending; drift: the workspace drifted
    BLOCKED = 3  # changes blocked by a safety rule (deletes over max_deletes, a replace)
    PARTIAL = 4  # apply: some steps applied, some failed or were skipped
    STALE_PLAN = 5  # apply PLANFILE: manifest, workspace or live state changed since the plan
    READBACK_MISMATCH = 6  # apply: the API did not keep a value it was sent


# One line per code, as `telephony --help` lists them (the docs' tables are compared by a test).
MEANING: dict[ExitCode, str] = {
    ExitCode.OK: "ok: valid, no changes, applied",
    ExitCode.ERROR: "error: invalid manifest, bad input, or a failure before any change",
    ExitCode.CHANGES: "changes pending (plan --detailed-exitcode) or drift found (drift)",
    ExitCode.BLOCKED: "blocked by a safety rule (max_deletes, a replace)",
    ExitCode.PARTIAL: "partial: apply made some changes, others failed or were skipped",
    ExitCode.STALE_PLAN: "stale plan file: the manifest, workspace or live state changed since the plan",
    ExitCode.READBACK_MISMATCH: "read-back mismatch: the API did not keep a value it was sent",
}
