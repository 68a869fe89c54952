"""Which resources use a workspace secret (`used_by` and the dependencies endpoint)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def _references(values: Iterable[Any], secret_id: str) -> bool:
    return any(isinstance(v, dict) and v.get("secret_id") == secret_id for v in values)


def secret_used_by(secret_id: str, settings: Mapping[str, Any], agents: Iterable[dict[str, Any]]) -> dict[str, Any]:
    others = []
    hook = settings.get("conversation_initiation_client_data_webhook")
    if hook and _references(hook.get("request_headers", {}).values(), secret_id):
        others.append("conversation_initiation_webhook")
    users = []
    for agent in agents:
        overrides = agent["platform_settings"].get("workspace_overrides") or {}
        agent_hook = overrides.get("conversation_initiation_client_data_webhook") or {}
        if _references((agent_hook.get("request_headers") or {}).values(), secret_id):
            users.append(
                {
                    "type": "available",
                    "id": agent["agent_id"],
                    "name": agent["name"],
                    "created_at_unix_secs": agent["created_at_unix_secs"],
                    "access_level": "admin",
                    "referenced_resource_ids": [],
                }
            )
    return {
        "tools": [],
        "tools_has_more": False,
        "agents": users,
        "agents_has_more": False,
        "phone_numbers": [],
        "phone_numbers_has_more": False,
        "mcp_servers": [],
        "others": others,
    }
