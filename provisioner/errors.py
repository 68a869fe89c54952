"""Every error the tool raises on purpose derives from one base class, `TelephonyError`.

The CLI maps the base class to its exit codes and prints `str(exc)` as one line; anything else
that escapes is a bug and is printed as one `internal error` line (the traceback with `-v`).
Library users catch `TelephonyError` (or a branch of it) the same way.

    TelephonyError                        exit 1 unless noted
    ├── ManifestError                     the manifest cannot be used
    │   ├── ManifestInvalid               located diagnostics (provisioner.diagnostics)
    │   └── MissingSecret                 a `${VAR}` is not set (also a KeyError)
    ├── ConfigError                       bad option, URL, target or local file
    │   ├── WorkspaceError                API URL / key problems (provisioner.workspace)
    │   ├── UnknownTarget                 a --target that names nothing
    │   ├── PlanFileError                 a plan file that cannot be read or written
    │   └── SandboxUnavailable            --sandbox without the `sandbox` extra
    ├── ApiError                          an API call failed for good (provisioner.api.client)
    │   ├── ResponseShapeError            a 2xx whose body is not the expected JSON
    │   └── AgentMissing                  a declared agent does not exist
    ├── DeadlineExceeded                  the run deadline (--deadline) passed during a request
    ├── ReadBackMismatch                  exit 6: the API did not keep what was sent
    ├── StalePlan                         exit 5: the saved plan no longer matches
    └── BlockedBySafetyRule               exit 3: deletes over max_deletes, or a replace

Messages name the thing to fix and never hold a secret value: every class here is built from
names, paths and API messages only.
"""

from __future__ import annotations


class TelephonyError(Exception):
    """Base of every error the tool raises on purpose."""


class ManifestError(TelephonyError):
    """The manifest (or the values it needs) cannot be used."""


class ConfigError(TelephonyError):
    """A bad option, URL, target or local file."""


class DeadlineExceeded(TelephonyError):
    """The run deadline (`--deadline`, TELEPHONY_DEADLINE) passed during a request (the CLI lifts it
    before apply's first write: from then on it only stops new steps from starting)."""

    def __init__(self, seconds: float, call: str) -> None:
        self.seconds = seconds
        self.call = call
        super().__init__(
            f"{call}: the run deadline of {seconds:g} s passed; nothing was changed. The API is slow or not "
            "answering: try again later, or raise the limit with --deadline SECONDS or TELEPHONY_DEADLINE (0: none)"
        )


class ReadBackMismatch(TelephonyError):
    """The API answered 2xx but did not keep what was sent, or changed what it was not asked to."""


class StalePlan(TelephonyError):
    """`apply PLANFILE`: the manifest, workspace or live state moved since the plan was made."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        listed = "\n".join(f"  - {r}" for r in reasons)
        super().__init__(f"the saved plan is stale; nothing was changed:\n{listed}\nMake a new plan.")


class BlockedBySafetyRule(TelephonyError):
    """A safety rule refuses the plan; nothing was changed."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("apply refused by a safety rule; nothing was changed.")
