"""The client's agent request-field tree (what an agent PATCH may carry) comes from the spec.

The api package sends whole agent sections read from a GET (read-modify-write), so it drops
every key the request schemas do not know: a response-only key is never sent back. The tree is
generated from the request models only (`-Input`, `AgentPlatformSettingsRequestModel`); run
`PYTHONPATH=. python tests/test_agent_request_fields.py` to regenerate
`provisioner/api/agent_request_fields.json` after updating `tests/data/elevenlabs-openapi.json`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from provisioner.api.codec import request_fields
from tests.test_emulator_known_fields import SPEC, _tree

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "provisioner" / "api" / "agent_request_fields.json"
ROOTS = {
    "conversation_config": "ConversationalConfigAPIModel-Input",
    "platform_settings": "AgentPlatformSettingsRequestModel",
}


def generate() -> dict[str, Any]:
    schemas = json.loads(SPEC.read_text())["components"]["schemas"]
    return {top: _tree(schemas[name], schemas, frozenset({name}), 0) for top, name in ROOTS.items()}


def test_the_request_field_tree_is_current() -> None:
    assert json.loads(TARGET.read_text()) == generate(), f"stale; run: python {Path(__file__).relative_to(ROOT)}"


def test_the_owned_paths_are_request_fields() -> None:
    tree = request_fields()
    assert "transfer_to_number" in tree["conversation_config"]["agent"]["prompt"]["built_in_tools"]
    assert "dynamic_variable_placeholders" in tree["conversation_config"]["agent"]["dynamic_variables"]
    overrides = tree["platform_settings"]["overrides"]
    assert "enable_conversation_initiation_client_data_from_webhook" in overrides
    assert "conversation_config_override" in overrides
    assert "conversation_initiation_client_data_webhook" in tree["platform_settings"]["workspace_overrides"]


if __name__ == "__main__":
    TARGET.write_text(json.dumps(generate(), sort_keys=True, separators=(",", ":")) + "\n")
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes)")
