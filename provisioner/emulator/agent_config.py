"""Agent configuration: the defaults a new agent gets, and the PATCH merge rules.

The real API merges a PATCH body into the stored config (nested objects merged, lists and
scalars replaced, `null` stored as given) and silently drops keys its schema does not know.
Readings the sources leave open (a section replaced whole, a null placeholder) are semantics
switches: see `provisioner.emulator.semantics` and `Store.patch_agent`.
The known keys come from the OpenAPI spec, pre-computed into `known_fields.json` (regenerate
with `python tests/test_emulator_known_fields.py`).
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

Tree = dict[str, Any] | int

DEFAULT_VOICE_ID = "cjVigY5qzO86Huf0OWal"


def default_conversation_config() -> dict[str, Any]:
    """A realistic config as the API materialises it for `{"conversation_config": {}}`."""
    return {
        "asr": {"quality": "high", "provider": "elevenlabs", "user_input_audio_format": "pcm_16000", "keywords": []},
        "turn": {"turn_timeout": 7.0, "silence_end_call_timeout": -1.0, "turn_eagerness": "normal"},
        "tts": {
            "model_id": "eleven_flash_v2",
            "voice_id": DEFAULT_VOICE_ID,
            "supported_voices": [],
            "agent_output_audio_format": "pcm_16000",
            "optimize_streaming_latency": 3,
            "stability": 0.5,
            "speed": 1.0,
            "similarity_boost": 0.8,
            "pronunciation_dictionary_locators": [],
        },
        "conversation": {"text_only": False, "max_duration_seconds": 600, "client_events": ["audio", "interruption"]},
        "language_presets": {},
        "agent": {
            "first_message": "",
            "language": "en",
            "dynamic_variables": {"dynamic_variable_placeholders": {}},
            "disable_first_message_interruptions": False,
            "max_conversation_duration_message": "",
            "prompt": {
                "prompt": "",
                "llm": "gemini-2.5-flash",
                "temperature": 0.0,
                "max_tokens": -1,
                "tool_ids": [],
                "built_in_tools": {
                    "end_call": None,
                    "language_detection": None,
                    "transfer_to_agent": None,
                    "transfer_to_number": None,
                    "skip_turn": None,
                    "play_keypad_touch_tone": None,
                    "voicemail_detection": None,
                },
                "mcp_server_ids": [],
                "native_mcp_server_ids": [],
                "knowledge_base": [],
                "custom_llm": None,
                "ignore_default_personality": True,
                "timezone": None,
                "tools": [],
            },
        },
    }


def default_platform_settings() -> dict[str, Any]:
    override_flags = {
        "agent": {"first_message": False, "language": False, "prompt": {"prompt": False, "llm": False}},
        "tts": {"voice_id": False},
        "conversation": {"text_only": False},
    }
    return {
        "overrides": {
            "conversation_config_override": override_flags,
            "custom_llm_extra_body": False,
            "enable_conversation_initiation_client_data_from_webhook": False,
        },
        "workspace_overrides": {
            "conversation_initiation_client_data_webhook": None,
            "webhooks": {"post_call_webhook_id": None, "events": [], "transcript_format": "json"},
        },
        "call_limits": {"agent_concurrency_limit": -1, "daily_limit": 100000, "bursting_enabled": True},
        "data_collection": {},
        "archived": False,
        "summary_language": None,
    }


@lru_cache(maxsize=1)
def known_fields() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((Path(__file__).with_name("known_fields.json")).read_text())
    return data


def merge(stored: dict[str, Any], patch: dict[str, Any], tree: Tree) -> None:
    """Merge `patch` into `stored` in place, dropping keys that `tree` does not know."""
    for key, value in patch.items():
        sub = _child(tree, key)
        if sub is None:
            continue  # unknown key: silently dropped, as the real API does
        current = stored.get(key)
        if isinstance(value, dict) and isinstance(current, dict) and isinstance(sub, dict):
            merge(current, value, sub)
        elif isinstance(value, dict) and isinstance(sub, dict):
            fresh: dict[str, Any] = {}
            merge(fresh, value, sub)
            stored[key] = fresh
        else:
            stored[key] = copy.deepcopy(value)


def _child(tree: Tree, key: str) -> Tree | None:
    if not isinstance(tree, dict):
        return 1  # a leaf holding an object: keep what is sent
    if key in tree:
        sub: Tree = tree[key]
        return sub
    if "*" in tree:
        star: Tree = tree["*"]
        return star
    return None


def drop_path(data: dict[str, Any], dotted: str) -> None:
    """Remove one dotted path (the drop-fields switch); missing parents are fine."""
    *parents, last = dotted.split(".")
    node: Any = data
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(last, None)


# `property_kind` ("array" | "object") is in the request schemas of tool parameter schemas only
# (ObjectJsonSchemaProperty-Input, ArrayJsonSchemaProperty-Input): their response schemas forbid
# it (additionalProperties: false), so the API answers without it. Free JSON values are not
# schemas and keep whatever they hold.
_INPUT_ONLY_KINDS = frozenset({"array", "object"})
_FREE_JSON = frozenset({"constant_value", "dynamic_variables"})


def drop_input_only_kinds(record: dict[str, Any]) -> None:
    """Remove `property_kind` from the parameter schemas of the stored agent's tools."""
    prompt = record.get("conversation_config", {}).get("agent", {}).get("prompt")
    tools = prompt.get("tools") if isinstance(prompt, dict) else None
    if isinstance(tools, list):
        _drop_kinds(tools)


def _drop_kinds(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _drop_kinds(item)
    elif isinstance(node, dict):
        # A string value only: a parameter *named* property_kind maps to a schema (a dict).
        kind = node.get("property_kind")
        if isinstance(kind, str) and kind in _INPUT_ONLY_KINDS:
            del node["property_kind"]
        for key, value in node.items():
            if key not in _FREE_JSON:
                _drop_kinds(value)
