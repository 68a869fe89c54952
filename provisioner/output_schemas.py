"""JSON Schemas of the machine formats: `plan/drift --format json`, plan files, `apply --format json`.

Each has its own format version (`provisioner.plan.FORMAT_VERSION`,
`provisioner.planfile.PLAN_FILE_VERSION`, `provisioner.apply_report.APPLY_FORMAT_VERSION`);
readers check the major version. The files under
`schemas/` are the output of `telephony schema --kind ...`; a test fails when they are stale and
validates real outputs against them.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter

from provisioner.apply_report import APPLY_FORMAT_VERSION, OUTCOMES
from provisioner.changes import AnyChange
from provisioner.plan import FORMAT_VERSION
from provisioner.planfile import KIND, PLAN_FILE_VERSION

DRAFT = "https://json-schema.org/draft/2020-12/schema"
BASE_ID = "https://github.com/telephony-iac/telephony/schemas/"
_STRINGS = {"type": "array", "items": {"type": "string"}}
_NULLABLE_STRING = {"type": ["string", "null"]}
_ACTION = {"enum": ["create", "update", "delete", "no-op"]}
_NAMES = {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}, "uniqueItems": True}
SECRETS = {
    "type": "object",
    "description": "${VAR} names (never values), sorted: those apply needs for the changes shown, and those of "
    "them unset where the plan ran (always empty with --sandbox: it sends dummy values).",
    "required": ["needed", "unset"],
    "properties": {"needed": _NAMES, "unset": _NAMES},
    "additionalProperties": False,
}


def plan_output_schema() -> dict[str, Any]:
    field = {
        "type": "object",
        "required": ["path", "op", "before", "after", "sensitive", "note"],
        "properties": {
            "path": {"type": "string", "description": "Dotted path in the resource's view ('' for the whole)."},
            "op": {"enum": ["add", "remove", "change", None]},
            "before": {},
            "after": {},
            "sensitive": {"type": "boolean", "description": "The values are masks; the real value is write-only."},
            "note": _NULLABLE_STRING,
        },
        "additionalProperties": False,
    }
    change = {
        "type": "object",
        "required": [
            "address",
            "type",
            "name",
            "change",
            "fields",
            "reason",
            "reason_code",
            "depends_on",
            "trunk",
            "notes",
            "attention",
        ],
        "properties": {
            "address": {"type": "string", "examples": ["phone_number.support-line", "agent.support"]},
            "type": {"enum": ["secret", "workspace_webhook", "phone_number", "agent"]},
            "name": {"type": "string"},
            "change": {
                "type": "object",
                "required": ["actions", "before", "after", "before_sensitive", "after_sensitive"],
                "properties": {
                    "actions": {"type": "array", "items": _ACTION, "minItems": 1, "maxItems": 2},
                    "before": {"type": ["object", "null"]},
                    "after": {"type": ["object", "null"]},
                    "before_sensitive": {"type": ["object", "boolean"]},
                    "after_sensitive": {"type": ["object", "boolean"]},
                },
                "additionalProperties": False,
            },
            "fields": {"type": "array", "items": field},
            "reason": {**_NULLABLE_STRING, "description": "Why a replace or delete is planned, in words."},
            "reason_code": {"type": "string", "description": "The same, machine-readable (e.g. delete_pruned)."},
            "depends_on": _STRINGS,
            "trunk": {
                **_NULLABLE_STRING,
                "description": "A SIP-trunk number's sip_trunks name: changes sharing it and their trunk.* "
                "fields are one trunk change (text and markdown show it once).",
            },
            "notes": _STRINGS,
            "attention": {**_STRINGS, "description": "What a reviewer must not miss (e.g. a new webhook host)."},
        },
        "additionalProperties": False,
    }
    unmanaged = {
        "type": "object",
        "required": ["number", "label", "provider", "phone_number_id", "agent_id"],
        "properties": {
            "number": {"type": "string"},
            "label": {"type": "string"},
            "provider": {"type": "string"},
            "phone_number_id": {"type": "string"},
            "agent_id": _NULLABLE_STRING,
        },
        "additionalProperties": False,
    }
    counts = {a: {"type": "integer", "minimum": 0} for a in ("create", "update", "replace", "delete", "no-op")}
    blocked = {
        "type": "object",
        "required": ["address", "rule", "message"],
        "properties": {
            "address": {**_NULLABLE_STRING, "description": "The change refused; null for max_deletes (several)."},
            "rule": {"enum": ["max_deletes", "replace"]},
            "message": {"type": "string", "description": "What is refused and the flag that allows it."},
        },
        "additionalProperties": False,
    }
    return {
        "$schema": DRAFT,
        "$id": BASE_ID + "plan-output.schema.json",
        "title": f"telephony plan/drift --format json (format_version {FORMAT_VERSION})",
        "description": "Readers check the major version of format_version; minor versions only add keys.",
        "type": "object",
        "required": [
            "format_version",
            "mode",
            "resource_changes",
            "unmanaged",
            "summary",
            "has_changes",
            "blocked",
            "attention",
            "notes",
            "manifest_digest",
            "workspace",
            "checksum",
        ],
        "properties": {
            "format_version": {"type": "string", "pattern": r"^1\.\d+$"},
            "mode": {"enum": ["plan", "drift"]},
            "resource_changes": {"type": "array", "items": change},
            "unmanaged": {"type": "array", "items": unmanaged},
            "summary": {
                "type": "object",
                "properties": counts,
                "required": list(counts),
                "additionalProperties": False,
            },
            "has_changes": {"type": "boolean"},
            "secrets": SECRETS,
            "blocked": {"type": "array", "items": blocked},
            "attention": _STRINGS,
            "notes": _STRINGS,
            "manifest_digest": {"type": "string"},
            "workspace": {"type": "object", "additionalProperties": {"type": "string"}},
            "checksum": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
        },
        "additionalProperties": False,
        # drift applies nothing, so only a plan lists the secrets apply needs
        "if": {"properties": {"mode": {"const": "plan"}}},
        "then": {"required": ["secrets"]},
        "else": {"not": {"required": ["secrets"]}},
    }


def plan_file_schema() -> dict[str, Any]:
    changes = TypeAdapter(list[AnyChange]).json_schema(mode="validation")
    definitions = changes.pop("$defs", {})
    return {
        "$schema": DRAFT,
        "$id": BASE_ID + "plan-file.schema.json",
        "title": f"telephony plan file (plan_file_version {PLAN_FILE_VERSION})",
        "description": (
            "Written by `telephony plan --out`, read by `telephony apply PLANFILE` and `telephony show`. "
            'Values shown as markers (e.g. masked secrets) are stored as {"$marker": text}. Secrets appear '
            "only as ${VAR} references."
        ),
        "type": "object",
        "required": ["kind", "plan_file_version", "manifest", "options", "plan"],
        "properties": {
            "kind": {"const": KIND},
            "plan_file_version": {"type": "string", "pattern": r"^2\.\d+$"},
            "manifest": {
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Informational: apply uses its own -f."},
                    "env": _NULLABLE_STRING,
                    "vars": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
            "options": {"type": "object", "properties": {"rotate_secrets": {"type": "boolean"}}},
            "plan": {
                "type": "object",
                "required": ["changes", "manifest_digest", "workspace", "checksum"],
                "properties": {
                    "changes": changes,
                    "unmanaged": {"type": "array", "items": {"type": "object"}},
                    "manifest_digest": {"type": "string"},
                    "workspace": {"type": "object", "additionalProperties": {"type": "string"}},
                    "max_deletes": {"type": "integer", "minimum": 0},
                    "prune": {"type": "boolean"},
                    "notes": _STRINGS,
                    "targets": _STRINGS,
                    "agent_aliases": {"type": "object", "additionalProperties": {"type": "string"}},
                    "number_trunks": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "description": "Number address -> the sip_trunks name it uses.",
                    },
                    "secrets": SECRETS,
                    "checksum": {"type": "string"},
                },
            },
        },
        "$defs": definitions,
    }


def apply_output_schema() -> dict[str, Any]:
    step = {
        "type": "object",
        "required": ["address", "action", "outcome", "error", "resource_id", "warnings"],
        "properties": {
            "address": {"type": "string", "examples": ["phone_number.support-line"]},
            "action": {"enum": ["create", "update", "replace", "delete"]},
            "outcome": {
                "enum": list(OUTCOMES),
                "description": "mismatch: sent, but the read-back differs (exit 6); skipped: not started.",
            },
            "error": {
                **_NULLABLE_STRING,
                "description": "Why it failed, was skipped or mismatched; null when applied.",
            },
            "resource_id": _NULLABLE_STRING,
            "warnings": _STRINGS,
        },
        "additionalProperties": False,
    }
    counts = {o: {"type": "integer", "minimum": 0} for o in OUTCOMES}
    return {
        "$schema": DRAFT,
        "$id": BASE_ID + "apply-output.schema.json",
        "title": f"telephony apply --format json (format_version {APPLY_FORMAT_VERSION})",
        "description": (
            "Every step of an apply, in the order they finished. Printed on stdout also when apply refuses "
            "before any write (steps empty, error set). Readers check the major version of format_version."
        ),
        "type": "object",
        "required": [
            "format_version",
            "workspace",
            "steps",
            "summary",
            "changed_anything",
            "stopped",
            "error",
            "api_requests",
            "exit_code",
        ],
        "properties": {
            "format_version": {"type": "string", "pattern": r"^1\.\d+$"},
            "workspace": {"type": "object", "additionalProperties": {"type": "string"}},
            "steps": {"type": "array", "items": step},
            "summary": {
                "type": "object",
                "properties": counts,
                "required": list(counts),
                "additionalProperties": False,
            },
            "changed_anything": {"type": "boolean"},
            "stopped": {**_NULLABLE_STRING, "description": "Why steps were skipped (a signal, the deadline)."},
            "error": {**_NULLABLE_STRING, "description": "The refusal before any write (stale, blocked, ...)."},
            "api_requests": {
                "type": ["object", "null"],
                "required": ["requests", "retries"],
                "properties": {"requests": {"type": "integer"}, "retries": {"type": "integer"}},
                "additionalProperties": False,
            },
            "exit_code": {"enum": [0, 1, 2, 3, 4, 5, 6, 130, 143]},
        },
        "additionalProperties": False,
    }


SCHEMAS = {"plan-output": plan_output_schema, "plan-file": plan_file_schema, "apply-output": apply_output_schema}


def schema_text(kind: str) -> str:
    return json.dumps(SCHEMAS[kind](), indent=2, ensure_ascii=False) + "\n"
