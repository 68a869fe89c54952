"""Public response shapes, built from the store's records.

Secrets never reach these functions' output: trunk passwords and Twilio credentials are kept
only as fingerprints, and only `username` / `has_auth_credentials` are exposed.
"""

from __future__ import annotations

from typing import Any

_INBOUND_KEYS = ("allowed_numbers", "media_encryption", "remote_domains", "attributes_to_headers")
_OUTBOUND_KEYS = ("address", "transport", "media_encryption", "headers", "attributes_to_headers")


def default_settings() -> dict[str, Any]:
    return {
        "conversation_initiation_client_data_webhook": None,
        "webhooks": {"post_call_webhook_id": None, "events": [], "transcript_format": "json"},
        "can_use_mcp_servers": False,
        "rag_retention_period_days": 10,
        "conversation_embedding_retention_days": None,
        "default_livekit_stack": "standard",
    }


def assigned_agent(record: dict[str, Any], agent: dict[str, Any] | None) -> dict[str, Any] | None:
    if agent is None:
        return None
    return {
        "agent_id": agent["agent_id"],
        "agent_name": agent["name"],  # derived: always the agent's current name
        "environment": record.get("environment"),
        "branch_id": record.get("branch_id"),
    }


def inbound_trunk(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    if stored is None:
        return None
    out = {k: stored.get(k) for k in _INBOUND_KEYS}
    out["allowed_addresses"] = stored.get("allowed_addresses") or []
    out["attributes_to_headers"] = out["attributes_to_headers"] or {}
    out["has_auth_credentials"] = stored.get("username") is not None
    out["username"] = stored.get("username")
    return out


def outbound_trunk(stored: dict[str, Any] | None, *, sort_codecs: bool = False) -> dict[str, Any] | None:
    if stored is None:
        return None
    out = {k: stored.get(k) for k in _OUTBOUND_KEYS}
    out["headers"] = out["headers"] or {}
    out["attributes_to_headers"] = out["attributes_to_headers"] or {}
    out["has_auth_credentials"] = stored.get("username") is not None
    out["username"] = stored.get("username")
    out["has_outbound_trunk"] = False  # no LiveKit trunk is ever provisioned here
    codecs = list(stored.get("enabled_codecs") or [])
    out["enabled_codecs"] = sorted(codecs) if sort_codecs else codecs  # `codec_order=sorted`: alphabetical
    return out


def phone_number(record: dict[str, Any], agent: dict[str, Any] | None, *, sort_codecs: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "phone_number": record["phone_number"],
        "label": record["label"],
        "supports_inbound": record["supports_inbound"],
        "supports_outbound": record["supports_outbound"],
        "phone_number_id": record["phone_number_id"],
        "assigned_agent": assigned_agent(record, agent),
        "provider": record["provider"],
    }
    if record["provider"] == "sip_trunk":
        outbound = outbound_trunk(record.get("outbound_trunk"), sort_codecs=sort_codecs)
        out["provider_config"] = outbound  # deprecated mirror of outbound_trunk
        out["outbound_trunk"] = outbound
        out["inbound_trunk"] = inbound_trunk(record.get("inbound_trunk"))
        out["livekit_stack"] = record["livekit_stack"]
        out["store_sip_messages"] = record["store_sip_messages"]
    return out


_ACCESS_INFO = {
    "is_creator": True,
    "creator_name": "Emulator",
    "creator_email": "emulator@localhost",
    "role": "admin",
}


def agent(record: dict[str, Any], numbers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "agent_id": record["agent_id"],
        "name": record["name"],
        "conversation_config": record["conversation_config"],
        "metadata": {
            "created_at_unix_secs": record["created_at_unix_secs"],
            "updated_at_unix_secs": record["updated_at_unix_secs"],
        },
        "platform_settings": record["platform_settings"],
        "phone_numbers": numbers,
        "whatsapp_accounts": [],
        "access_info": dict(_ACCESS_INFO),
        "tags": record["tags"],
        "version_id": None,
        "branch_id": None,
        "main_branch_id": None,
    }


def agent_summary(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "agent_id": record["agent_id"],
        "name": record["name"],
        "voice_id": record["conversation_config"].get("tts", {}).get("voice_id", ""),
        "tags": record["tags"],
        "created_at_unix_secs": record["created_at_unix_secs"],
        "updated_at_unix_secs": record["updated_at_unix_secs"],
        "access_info": dict(_ACCESS_INFO),
        "last_call_time_unix_secs": None,
        "archived": bool(record["platform_settings"].get("archived", False)),
    }


def secret_stored(record: dict[str, Any]) -> dict[str, Any]:
    return {"type": "stored", "secret_id": record["secret_id"], "name": record["name"]}
