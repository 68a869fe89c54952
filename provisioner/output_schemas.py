"""JSON Schemas of the two machine formats: `plan/drift --format json` and plan files.

Each has its own format version (`provisioner.plan.FORMAT_VERSION`,
`provisioner.planfile.PLAN_FILE_VERSION`); readers check the major version. The files under
`schemas/` are the output of `telephony schema --kind ...`; a test fails when they are stale and
validates real outputs against them.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter

from provisioner.changes import AnyChange
from provisioner.plan import FORMAT_VERSION
from provisioner.planfile import KIND, PLAN_FILE_VERSION

DRAFT = "https://json-schema.org/draft/2020-12/schema"
BASE_ID = "https://github.com/telephony-iac/telephony/schemas/"
_STRINGS = {"type": "array", "items": {"type": "string"}}
_NULLABLE_STRING = {"type": ["string", "null"]}
_ACTION = {"enum": ["create", "update", "delete", "no-op"]}


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
            "blocked": _STRINGS,
            "attention": _STRINGS,
            "notes": _STRINGS,
            "manifest_digest": {"type": "string"},
            "workspace": {"type": "object", "additionalProperties": {"type": "string"}},
            "checksum": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
        },
        "additionalProperties": False,
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
                    "checksum": {"type": "string"},
                },
            },
        },
        "$defs": definitions,
    }


SCHEMAS = {"plan-output": plan_output_schema, "plan-file": plan_file_schema}


def schema_text(kind: str) -> str:
    return json.dumps(SCHEMAS[kind](), indent=2, ensure_ascii=False) + "\n"
