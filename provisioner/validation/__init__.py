"""Semantic rules: what the schema cannot say, checked across the whole manifest.

`check` runs every rule and returns every finding (errors and warnings), each located in the
file. Rules are grouped by subject, one module each: `references` (where a `${VAR}` may
appear), `numbers`, `trunks`, `agents`, `webhooks` (including secrets). The code of each finding
(`Diagnostic.code`) names its rule; `provisioner.diagnostic_codes` lists them all.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from provisioner.diagnostics import Diagnostic
from provisioner.locate import SourceMap
from provisioner.manifest import Manifest
from provisioner.validation import agents, numbers, references, trunks, webhooks
from provisioner.validation.context import Context


def check(
    manifest: Manifest,
    source: SourceMap,
    *,
    environ: Mapping[str, str],
    cut: Collection[tuple[Any, ...]] = (),
) -> list[Diagnostic]:
    """Every finding. `cut`: document paths the schema rejected and `manifest` lacks (see
    `provisioner.salvage`); rules do not conclude anything from their absence."""
    context = Context(manifest, source, environ, frozenset(cut))
    for rules in (references, numbers, trunks, agents, webhooks):
        rules.check(context)
    return context.found
