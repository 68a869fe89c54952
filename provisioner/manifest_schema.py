"""The manifest's JSON Schema, generated from the pydantic models (never edited by hand).

`schemas/telephony.schema.json` holds the output of `telephony schema`; a test fails when the
two differ. Editors use it through the `# yaml-language-server: $schema=...` first line.
"""

from __future__ import annotations

import json
from typing import Any

from provisioner.manifest import Manifest

REGENERATE = "telephony schema > schemas/telephony.schema.json"


def schema() -> dict[str, Any]:
    document = Manifest.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "telephony.yaml (manifest version 1)",
        **{k: v for k, v in document.items() if k != "title"},
    }


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
