"""Diff two views field by field (deepdiff inside).

Views are the plain-JSON pictures of canonical values (`provisioner.state`): the desired side
from the manifest, the observed side decoded from the API, normalised the same way, so an applied
manifest produces identical views and plans "No changes": never a perpetual diff.
"""

from __future__ import annotations

from typing import Any

from provisioner.changes import FieldChange

View = dict[str, Any]


def _format_path(parts: list[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _field_path(parts: list[Any], before: Any, after: Any) -> list[Any]:
    """Cut a deepdiff path at the first list of scalars, so a list shows as a whole value."""
    node_b, node_a = before, after
    for depth, part in enumerate(parts):
        if isinstance(part, int):
            sample = node_b if isinstance(node_b, list) and node_b else node_a
            if isinstance(sample, list) and all(not isinstance(x, dict | list) for x in sample):
                return parts[:depth]
        node_b = _step(node_b, part)
        node_a = _step(node_a, part)
    return parts


def _step(node: Any, part: Any) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and part < len(node):
        return node[part]
    return None


def _get(node: Any, parts: list[Any]) -> Any:
    for part in parts:
        node = _step(node, part)
    return node


def _has(node: Any, parts: list[Any]) -> bool:
    for part in parts:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if not (in_dict or in_list):
            return False
        node = node[part]
    return True


def _op(before: View, after: View, parts: list[Any]) -> str:
    if not _has(before, parts):
        return "add"
    return "change" if _has(after, parts) else "remove"


def diff_views(before: View | None, after: View | None) -> list[FieldChange]:
    """Per-field changes between two views, in a stable order."""
    if before == after:
        return []
    if before is None or after is None:
        return [FieldChange(path="", before=before, after=after)]
    from deepdiff import DeepDiff  # imported here: with numpy it is most of a cold start

    tree = DeepDiff(before, after, view="tree", verbose_level=2)
    paths: dict[str, list[Any]] = {}
    for changes in tree.values():
        for change in changes:
            parts = _field_path(list(change.path(output_format="list")), before, after)
            paths.setdefault(_format_path(parts), parts)
    return [
        FieldChange(path=p, before=_get(before, parts), after=_get(after, parts), op=_op(before, after, parts))
        for p, parts in sorted(paths.items())
    ]
