"""Canonical formatting of manifest text, comments kept (`telephony fmt`).

Canonical means: mapping keys in the manifest models' field order (unknown keys kept, after the
known ones, in their written order), E.164 strings double-quoted, 2-space indentation with
sequence items indented under their key, one blank line at most between entries, one final
newline. Everything else is kept as written: scalar styles and quotes, flow collections
(`[a, b]`), anchors, `${VAR}`, `{{var}}`, `${{ value templates }}`.

How comments survive reordering. ruamel.yaml's round trip attaches a comment to the key *before*
it, so moving keys would move comments to the wrong place. Instead, comments are read from the
text with PyYAML's scanner (anything outside a token is whitespace or a comment) and attached by
position: a full-line comment (and a blank line) to the next entry, an end-of-line comment to the
entry on its line. ruamel.yaml then writes the reordered data without comments, and the comments
are put back before, or at the end of, the lines where their entries now are. Comments above the
first entry are the file's header and stay at the top (the `yaml-language-server` modeline).

Safety: the result must parse (PyYAML, the tool's parser) to exactly the same data, keep every
comment, and format to itself; otherwise `FormatError` and the file is left alone.

ruamel.yaml is imported here only, and this module only by `telephony fmt`, so the CLI's start
time does not grow.
"""

from __future__ import annotations

import bisect
import functools
import io
import re
import types
import typing
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import BaseModel

from provisioner.errors import ManifestError
from provisioner.manifest import Manifest
from provisioner.templating import comment_start
from provisioner.yamlsource import MarkedDict, MarkedList, YamlError
from provisioner.yamlsource import parse as parse_checked

_MERGE_TAG = "tag:yaml.org,2002:merge"
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_JINJA_BLOCK = re.compile(r"\{%")
Path_ = tuple[Any, ...]  # keys and sequence indexes from the document root
# An entry as (id of its mapping or sequence, key or index): unlike a path, it stays the same when
# an anchored collection is written somewhere else (its first use after reordering).
Slot = tuple[int, Any]


class FormatError(ManifestError):
    """The text cannot be formatted: one located problem (1-based line and column)."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def has_jinja_blocks(text: str) -> bool:
    """`{% %}` blocks make the file a template, not YAML: fmt leaves such files alone.

    One in a YAML comment does not count: the renderer leaves comments alone too.
    """
    for line in text.split("\n"):
        start = comment_start(line)
        if _JINJA_BLOCK.search(line if start is None else line[:start]):
            return True
    return False


def format_text(text: str) -> str:
    """The canonical form of a manifest's text. Raises `FormatError`."""
    text = text.replace("\r\n", "\n").lstrip("\ufeff")
    original, source = _checked_data(text)
    first, fixed = _format_once(text, source)
    if first == text:  # already canonical (a fixed point by definition): the common case
        return text
    # The canonical form must be a fixed point. Placement of a comment next to a reordered entry
    # can settle one pass later (a comment above the first key of a list item); a third pass that
    # still changes is a bug, reported rather than written.
    result, _ = _format_once(first, _checked_data(first)[1])
    if result != first and _format_once(result, _checked_data(result)[1])[0] != result:
        raise FormatError("formatting does not settle (a bug in telephony fmt); the file was left unchanged")
    for path, number in fixed.items():
        _set(original, path, number)
    if _checked_data(result)[0] != original:
        raise FormatError(
            "formatting would change the parsed data (a bug in telephony fmt); the file was left unchanged"
        )
    lost = Counter(c.text for c in _scan_comments(text)) - Counter(c.text for c in _scan_comments(result))
    if lost:
        raise FormatError(f"fmt cannot keep the comment {next(iter(lost))!r} in place; the file was left unchanged")
    return result


def _set(data: Any, path: Path_, value: Any) -> None:
    for step in path[:-1]:
        data = data[step]
    data[path[-1]] = value


# -- parsing ----------------------------------------------------------------------------------


def _checked_data(text: str) -> tuple[Any, Any]:
    """The data as the tool's loader reads it, plain and marked; a YAML problem is a `FormatError`."""
    try:
        parsed = parse_checked(text)
    except YamlError as exc:
        problem = exc.problems[0]
        raise FormatError(problem.message, problem.mark.line + 1, problem.mark.column + 1) from None
    if parsed.problems:  # duplicate keys: which one would fmt keep?
        problem = parsed.problems[0]
        raise FormatError(problem.message, problem.mark.line + 1, problem.mark.column + 1)
    return _plain(parsed.data), parsed.data


def _plain(value: Any) -> Any:
    # The loader's marked subclasses compare equal to plain ones, but be explicit about it.
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _yaml() -> Any:
    from ruamel.yaml import YAML

    handler = YAML(typ="rt")
    handler.indent(mapping=2, sequence=4, offset=2)
    handler.width = 1_000_000  # never fold a long line: the author chose where lines break
    handler.preserve_quotes = True
    # The round trip writes null as nothing (`agent:`); `null` says "clear it" out loud.
    handler.representer.add_representer(type(None), _represent_null)
    return handler


def _represent_null(representer: Any, _: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def _load(text: str) -> Any:
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise FormatError(f"invalid YAML: {exc.problem or exc.context}", line, column) from None
    except YAMLError as exc:
        raise FormatError(f"invalid YAML: {exc}") from None


# -- comments, by position ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Comment:
    line: int  # 0-based
    column: int
    text: str  # from '#' to the end of the line, trailing spaces removed
    end_of_line: bool  # after a value on the same line


# libyaml's scanner: about ten times faster than PyYAML's own, same tokens and marks.
_Scanner: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=16)
def _token_spans(text: str) -> tuple[tuple[int, int, int, int], ...]:
    """(start line, start column, end line, end column) of every YAML token in `text`."""
    return tuple(
        (t.start_mark.line, t.start_mark.column, t.end_mark.line, t.end_mark.column)
        for t in yaml.scan(text, Loader=_Scanner)
    )


def _scan_comments(text: str) -> list[_Comment]:
    """Every comment in `text`: the '#'s that lie outside every YAML token."""
    lines = text.split("\n")
    covered: dict[int, list[tuple[int, int]]] = {}
    for start_line, start_column, end_line, end_column in _token_spans(text):
        for line in range(start_line, end_line + 1):
            first = start_column if line == start_line else 0
            last = end_column if line == end_line else len(lines[line]) if line < len(lines) else 0
            covered.setdefault(line, []).append((first, last))
    found = []
    for number, line_text in enumerate(lines):
        spans = covered.get(number, [])
        for column, char in enumerate(line_text):
            if char == "#" and not any(a <= column < b for a, b in spans):
                code_before = bool(line_text[:column].strip())
                found.append(_Comment(number, column, line_text[column:].rstrip(), code_before))
                break
    return found


def _blank_lines(text: str, comments: list[_Comment]) -> set[int]:
    """Lines with nothing on them outside a token (a blank line inside a block scalar is data)."""
    lines = text.split("\n")
    in_token: set[int] = set()
    for start_line, _, end_line, _ in _token_spans(text):
        # A multi-line token (block scalar, quoted string) owns its inner lines.
        in_token.update(range(start_line, end_line))
    commented = {c.line for c in comments}
    return {n for n, t in enumerate(lines) if not t.strip() and n not in in_token and n not in commented}


# -- entries: the keys and list items of block collections, in document order ------------------


@dataclass
class _Entry:
    """A key of a block mapping or an item of a block sequence."""

    slot: Slot
    line: int  # 0-based
    column: int
    value: Any


def _entries(node: Any, written: yaml.Node | None = None) -> Iterator[_Entry]:
    """The entries of `node` (ruamel data) in document order, with their positions.

    Positions come from ruamel's own marks, or, for data that was just dumped, from `written`:
    the dump composed by libyaml (much faster than a second ruamel load), walked in step.
    """
    yield from _walk(node, written, set())


def _walk(node: Any, written: yaml.Node | None, seen: set[int]) -> Iterator[_Entry]:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if not _is_block(node) or id(node) in seen:
        return  # an alias repeats its anchor's entries; they are listed where the anchor is
    seen.add(id(node))
    if isinstance(node, CommentedMap):
        pairs = [p for p in written.value if p[0].tag != _MERGE_TAG] if written is not None else None
        for index, (key, value) in enumerate(_own_items(node)):
            child = None
            if pairs is not None:
                key_node, child = pairs[index]
                line, column = key_node.start_mark.line, key_node.start_mark.column
            else:
                line, column = node.lc.key(key)
            yield _Entry((id(node), key), line, column, value)
            yield from _walk(value, child, seen)
    elif isinstance(node, CommentedSeq):
        for index, value in enumerate(node):
            child = written.value[index] if written is not None else None
            if child is not None:
                line, column = child.start_mark.line, child.start_mark.column
            else:
                line, column = node.lc.item(index)
            # Both give the item's content; its '-' is two columns left (indent offset 2).
            yield _Entry((id(node), index), line, max(column - 2, 0), value)
            yield from _walk(value, child, seen)


def _is_block(node: Any) -> bool:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    return isinstance(node, CommentedMap | CommentedSeq) and len(node) > 0 and not node.fa.flow_style()


def _own_items(node: Any) -> list[tuple[Any, Any]]:
    # A map with `<<: *anchor` also lists the merged keys; only the written ones are its entries.
    return list(node.non_merged_items()) if node.merge else list(node.items())


@dataclass
class _Placed:
    header: list[str] = field(default_factory=list)  # comment lines and "" (blank) above the first entry
    before: dict[Slot, list[str]] = field(default_factory=dict)
    end_of_line: dict[Slot, tuple[str, int]] = field(default_factory=dict)  # text, original column
    trailer: list[str] = field(default_factory=list)


def _place(text: str, entries: list[_Entry]) -> _Placed:
    """Attach every comment and blank line to an entry (or to the header or trailer)."""
    comments = _scan_comments(text)
    items: list[tuple[int, str | _Comment]] = [(c.line, c) for c in comments]
    items += [(n, "") for n in _blank_lines(text, comments)]
    items.sort(key=lambda item: item[0])
    placed = _Placed()
    leading: list[str] = []
    lines = [e.line for e in entries]
    for line, item in items:
        if isinstance(item, _Comment) and item.end_of_line:
            at_or_before = bisect.bisect_right(lines, line)
            owner = entries[at_or_before - 1] if at_or_before else None
            if owner is None:  # on a `---` line
                leading.append(item.text)
                continue
            old = placed.end_of_line.get(owner.slot)
            joined = f"{old[0]} {item.text}" if old else item.text
            placed.end_of_line[owner.slot] = (joined, old[1] if old else item.column)
            continue
        content = item.text if isinstance(item, _Comment) else ""
        after = bisect.bisect_right(lines, line)
        following = entries[after] if after < len(entries) else None
        if following is None:
            placed.trailer.append(content)
        elif following is entries[0]:
            leading.append(content)
        else:
            placed.before.setdefault(following.slot, []).append(content)
    # Above the first entry: the file's header stays at the top, whichever key comes first; the
    # comments after its last blank line are about the first entry and move with it.
    split = max((i for i, content in enumerate(leading) if not content), default=len(leading))
    placed.header = leading[:split]
    if leading[split:]:
        placed.before[entries[0].slot] = leading[split:]
    return placed


# -- canonical order and quoting ------------------------------------------------------------------


def _canonicalise(node: Any, annotation: Any, source: Any, path: Path_, fixed: dict[Path_, str]) -> None:
    """Reorder mapping keys as the model that `annotation` names; quote E.164 strings.

    `source` is the same node as the tool's loader reads it (`yamlsource`), which knows how each
    plain scalar was written; `fixed` collects the unquoted numbers that became strings.
    """
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap):
        model = _model_for(annotation, node)
        value_type = _dict_value_type(annotation)
        if model is not None and not node.merge:
            known = [name for name in model.model_fields if name in node]
            for key in known + [k for k in node if k not in model.model_fields]:
                node.move_to_end(key)
        for key, value in _own_items(node):
            if model is not None and isinstance(key, str) and key in model.model_fields:
                child = model.model_fields[key].annotation
            else:
                child = value_type
            inner = source.get(key) if isinstance(source, MarkedDict) else None
            plain = source.plain.get(key) if isinstance(source, MarkedDict) else None
            if (quoted := _quoted(value, child, plain)) is not value:
                node[key] = quoted
                if isinstance(value, int):
                    fixed[(*path, key)] = str(quoted)
            _canonicalise(value, child, inner, (*path, key), fixed)
    elif isinstance(node, CommentedSeq):
        item_type = _list_item_type(annotation)
        for index, value in enumerate(node):
            listed = isinstance(source, MarkedList) and index < len(source)
            inner = source[index] if listed else None
            plain = source.plain.get(index) if listed else None
            if (quoted := _quoted(value, item_type, plain)) is not value:
                node[index] = quoted
                if isinstance(value, int):
                    fixed[(*path, index)] = str(quoted)
            _canonicalise(value, item_type, inner, (*path, index), fixed)


def _quoted(value: Any, annotation: Any, plain: str | None) -> Any:
    """`value` double-quoted when it is an E.164 number, else `value` itself.

    An unquoted +14155550100 is a YAML integer, which a field that takes only strings (`number`,
    `to`, `allowed_numbers`) rejects: there it becomes the string, as written. Where an integer is
    valid too (a dynamic variable) it stays one.
    """
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    if isinstance(value, str) and E164.fullmatch(value) and type(value) is not DoubleQuotedScalarString:
        if getattr(value, "anchor", None) is not None and value.anchor.value:  # type: ignore[attr-defined]
            return value  # an anchored string keeps its node
        return DoubleQuotedScalarString(value)
    members = _members(annotation)
    takes_only_strings = str in members and int not in members
    if type(value) is not bool and isinstance(value, int) and plain and E164.fullmatch(plain) and takes_only_strings:
        return DoubleQuotedScalarString(plain)
    return value


def _members(annotation: Any) -> list[Any]:
    """The alternatives of a type: `A | B | None`, Annotated and all, flattened."""
    if annotation is None:
        return []
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _model_for(annotation: Any, node: Any) -> type[BaseModel] | None:
    models = [m for m in _members(annotation) if isinstance(m, type) and issubclass(m, BaseModel)]
    for model in models:  # a discriminated union: the member whose Literal fields match
        literals = {
            name: typing.get_args(info.annotation)
            for name, info in model.model_fields.items()
            if typing.get_origin(info.annotation) is typing.Literal
        }
        if literals and all(node.get(name) in allowed for name, allowed in literals.items()):
            return model
    return models[0] if models else None


def _dict_value_type(annotation: Any) -> Any:
    for member in _members(annotation):
        if typing.get_origin(member) is dict:
            return typing.get_args(member)[1]
    return None


def _list_item_type(annotation: Any) -> Any:
    for member in _members(annotation):
        if typing.get_origin(member) is list:
            return typing.get_args(member)[0]
    return None


# -- one pass -----------------------------------------------------------------------------------


def _format_once(text: str, source: Any) -> tuple[str, dict[Path_, str]]:
    """One pass, and the paths of the unquoted numbers it quoted."""
    data = _load(text)
    entries = list(_entries(data))
    if not entries:
        # No block collection: nothing to reorder or re-indent (empty, a scalar, a flow mapping).
        return (text.rstrip("\n") + "\n" if text.strip() else ""), {}
    placed = _place(text, entries)
    fixed: dict[Path_, str] = {}
    _canonicalise(data, Manifest, source, (), fixed)
    _strip_comments(data)
    stream = io.StringIO()
    _yaml().dump(data, stream)
    dense = stream.getvalue()
    return _with_comments(dense, list(_entries(data, yaml.compose(dense, Loader=_Scanner))), placed), fixed


def _strip_comments(node: Any) -> None:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap | CommentedSeq):
        comments = node.ca
        comments.comment = None
        comments.items.clear()
        comments.end = None
        for value in node.values() if isinstance(node, CommentedMap) else node:
            _strip_comments(value)


def _with_comments(dense: str, entries: list[_Entry], placed: _Placed) -> str:
    """Put the comments and blank lines back into `dense` (the dump, which has none)."""
    from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

    lines = dense.rstrip("\n").split("\n")
    before: dict[int, list[str]] = {}
    first_column: dict[int, int] = {}
    end_of_line: dict[int, tuple[str, int]] = {}
    for index, entry in enumerate(entries):
        first_column.setdefault(entry.line, entry.column)
        # Above an entry, at the column of the line's first entry ("- to:" is one line, two entries).
        indent = " " * first_column[entry.line]
        for content in placed.before.get(entry.slot, []):
            before.setdefault(entry.line, []).append(indent + content if content else "")
        if entry.slot in placed.end_of_line:
            header_line = _is_block(entry.value) or isinstance(entry.value, LiteralScalarString | FoldedScalarString)
            if header_line:
                target = entry.line
            else:  # the last line of the value: just above the next entry
                target = (entries[index + 1].line if index + 1 < len(entries) else len(lines)) - 1
            comment, column = placed.end_of_line[entry.slot]
            if target in end_of_line:  # two entries end on one line: keep both comments
                comment = f"{end_of_line[target][0]} {comment}"
                column = end_of_line[target][1]
            end_of_line[target] = (comment, column)
    out = _blocks(placed.header)
    for number, line in enumerate(lines):
        out += _blocks(before.get(number, []))
        if number in end_of_line:
            comment, column = end_of_line[number]
            line = line + " " * max(2, column - len(line)) + comment
        out.append(line)
    out += _blocks(placed.trailer)
    while out and not out[0]:
        out.pop(0)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


def _blocks(lines: list[str]) -> list[str]:
    """`lines` with runs of blank lines collapsed to one."""
    result: list[str] = []
    for line in lines:
        if line or (result and result[-1]) or not result:
            result.append(line)
    return result
