"""Where the manifest's JSON Schema is published: its `$id`, and what `telephony init` points editors at.

The URL names the release tag, so a manifest's modeline keeps matching the version of the tool it
was written for; the file at that tag is `schemas/telephony.schema.json`, generated from the models.
Kept apart from `manifest_schema` so commands can name it without loading pydantic.
"""

from __future__ import annotations

from provisioner import __version__

REPOSITORY_RAW = "https://raw.githubusercontent.com/telephony-iac/telephony"
MANIFEST_SCHEMA_URL = f"{REPOSITORY_RAW}/v{__version__}/schemas/telephony.schema.json"
MODELINE = f"# yaml-language-server: $schema={MANIFEST_SCHEMA_URL}"
