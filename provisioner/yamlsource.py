"""YAML that remembers where every value came from, and refuses to blow up.

`parse` builds plain dicts and lists (subclasses carrying marks), so the result can go straight
into pydantic while every key and value keeps its line and column for error messages.

Guards, because a manifest may come from an untrusted pull request:
- aliases are counted as they would expand: a "billion laughs" document fails with a located
  error instead of exhausting memory when something walks it;
- deep nesting fails instead of raising RecursionError;
- duplicate keys are reported (PyYAML silently keeps the last one, which hides mistakes).
The caller limits the file size before parsing.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import GeneratorType
from typing import Any, NamedTuple

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from provisioner import gcpause
from provisioner.errors import ManifestError

MAX_NODES = 100_000  # values after alias expansion; a large real manifest has a few thousand
MAX_DEPTH = 32  # a manifest nests about 8 deep; deeper input would only exhaust recursion later
# Digits of an integer literal (any base, sexagesimal `1:2:3` included): a manifest's integers are
# small, and a long one would otherwise fail in int() (over 4,300 decimal digits), pass here and
# fail later (hex), or take quadratic time (sexagesimal).
MAX_INT_DIGITS = 64
_MERGE_TAG = "tag:yaml.org,2002:merge"
_BRACKET = re.compile(r"[\[\]{}]")
_ALIAS = re.compile(r"(?:^|[\s\[{,:])(\*[^\s,\]}]+)")


class Mark(NamedTuple):
    """0-based position in the parsed text (a tuple: a manifest of 10,000 numbers has 130,000)."""

    line: int
    column: int

    @classmethod
    def of(cls, mark: yaml.Mark) -> Mark:
        return cls(mark.line, mark.column)


class MarkedDict(dict[Any, Any]):
    """A mapping with the position of its start, of each key and of each value."""

    start: Mark
    key_marks: dict[Any, Mark]
    value_marks: dict[Any, Mark]
    plain: dict[Any, str]  # unquoted scalar text per key, to explain YAML's own type guesses


class MarkedList(list[Any]):
    start: Mark
    item_marks: list[Mark]
    plain: dict[int, str]


@dataclass(frozen=True)
class YamlProblem:
    message: str
    mark: Mark
    code: str


class YamlError(ManifestError):
    """Parsing failed. `problems` has at least one entry."""

    def __init__(self, problems: Sequence[YamlProblem]) -> None:
        super().__init__(problems[0].message)
        self.problems = list(problems)


@dataclass
class ParseResult:
    data: Any
    problems: list[YamlProblem] = field(default_factory=list)  # non-fatal (duplicate keys)


def parse(text: str) -> ParseResult:
    """Parse one YAML document. Raises `YamlError` for anything that prevents a result."""
    _check_flow_depth(text)
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        with gcpause.paused():
            node = loader.get_single_node()
            if node is None:
                return ParseResult(None)
            data = loader.construct_fast(node)
    except _NumberTooLong as exc:
        raise YamlError([YamlProblem(exc.message, Mark.of(exc.mark), "yaml-number")]) from None
    except yaml.MarkedYAMLError as exc:
        raise YamlError([_from_marked(exc, text)]) from None
    except yaml.reader.ReaderError as exc:
        raise YamlError([_from_reader(text, exc)]) from None
    except RecursionError:
        raise YamlError([YamlProblem("nesting is too deep", Mark(0, 0), "yaml-depth")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    _check_depth(data)
    _check_expansion(data, text)
    return ParseResult(data, loader.problems)


# libyaml parses several times faster than pure Python (a 1 MB manifest in about a second).
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    """SafeLoader that records marks and duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.problems: list[YamlProblem] = []
        self._plain_tags: dict[str, str] = {}
        self._anchors = "&" in stream  # without an anchor there is no alias: no node is met twice

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        """The implicit tag of a plain scalar depends on its text alone (SafeLoader has no path
        resolvers): remembered per text, as keys and values such as `provider: sip_trunk` repeat
        thousands of times and each would otherwise run the resolver's regular expressions."""
        if kind is not ScalarNode or not implicit[0] or self.yaml_path_resolvers:
            return str(super().resolve(kind, value, implicit))
        tag = self._plain_tags.get(value)
        if tag is None:
            tag = self._plain_tags[value] = str(super().resolve(kind, value, implicit))
        return tag

    def construct_fast(self, root: Node) -> Any:
        """`construct_document` for documents of plain maps, lists and scalars, in a loop instead
        of PyYAML's generator per value (several times faster on a large manifest).

        Same result, marks and duplicate-key problems in the same order: containers are filled
        level by level as PyYAML's `state_generators` do. Anything else (an alias, a `<<` merge,
        a non-scalar key, a tag with no fast path) falls back to `construct_document`."""
        try:
            return self._construct_fast(root)
        except _Unusual:
            self.problems.clear()
            return self.construct_document(root)

    def _construct_fast(self, root: Node) -> Any:
        made: set[int] = set()  # a node met twice is an alias
        pending: deque[tuple[Node, Any]] = deque()
        scalars = self.yaml_constructors
        anchors = self._anchors

        def make(node: Node) -> Any:
            if anchors:
                if id(node) in made:
                    raise _Unusual
                made.add(id(node))
            if node.__class__ is ScalarNode:
                if node.tag == _STR_TAG:
                    return node.value
                constructor = scalars.get(node.tag)
                if constructor is None or node.tag in (_MAP_TAG, _SEQ_TAG):
                    raise _Unusual
                value = constructor(self, node)
                if isinstance(value, GeneratorType):  # a collection tag on a scalar: an error there
                    raise _Unusual
                return value
            if node.__class__ is MappingNode and node.tag == _MAP_TAG:
                data: Any = MarkedDict()
                data.start, data.key_marks, data.value_marks, data.plain = Mark.of(node.start_mark), {}, {}, {}
            elif node.__class__ is SequenceNode and node.tag == _SEQ_TAG:
                data = MarkedList()
                data.start, data.item_marks, data.plain = Mark.of(node.start_mark), [], {}
            else:
                raise _Unusual
            pending.append((node, data))
            return data

        document = make(root)
        while pending:
            node, data = pending.popleft()
            if isinstance(data, MarkedList):
                self._fill_list(node, data, make)
            else:
                self._fill_map(node, data, make)
        return document

    def _fill_map(self, node: Node, data: MarkedDict, make: Any) -> None:
        entries = node.value
        keys: list[Any] = []
        seen: dict[Any, Node] = {}
        for key_node, _ in entries:  # duplicates first, as `_report_duplicates` does
            if key_node.tag == _MERGE_TAG or key_node.__class__ is not ScalarNode:
                raise _Unusual
            key = make(key_node)
            keys.append(key)
            if key in seen:
                first = seen[key].start_mark
                message = f"duplicate key '{key}' (first defined at line {first.line + 1})"
                self.problems.append(YamlProblem(message, Mark.of(key_node.start_mark), "duplicate-key"))
            else:
                seen[key] = key_node
        key_marks, value_marks, plain = data.key_marks, data.value_marks, data.plain
        for key, (key_node, value_node) in zip(keys, entries, strict=True):
            data[key] = make(value_node)
            mark = key_node.start_mark
            key_marks[key] = Mark(mark.line, mark.column)
            mark = value_node.start_mark
            value_marks[key] = Mark(mark.line, mark.column)
            if value_node.__class__ is ScalarNode and not value_node.style:
                plain[key] = value_node.value

    def _fill_list(self, node: Node, data: MarkedList, make: Any) -> None:
        for index, child in enumerate(node.value):
            data.append(make(child))
            data.item_marks.append(Mark.of(child.start_mark))
            if child.__class__ is ScalarNode and not child.style:
                data.plain[index] = child.value

    def construct_marked_map(self, node: MappingNode) -> Iterator[MarkedDict]:
        data = MarkedDict()
        data.start, data.key_marks, data.value_marks, data.plain = Mark.of(node.start_mark), {}, {}, {}
        yield data
        self._report_duplicates(node)
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=False)
            if not _hashable(key):
                raise ConstructorError(None, None, "a mapping key must be a plain value", key_node.start_mark)
            data[key] = self.construct_object(value_node, deep=False)
            data.key_marks[key] = Mark.of(key_node.start_mark)
            data.value_marks[key] = Mark.of(value_node.start_mark)
            if _is_plain(value_node):
                data.plain[key] = value_node.value

    def construct_marked_seq(self, node: SequenceNode) -> Iterator[MarkedList]:
        data = MarkedList()
        data.start, data.item_marks, data.plain = Mark.of(node.start_mark), [], {}
        yield data
        for index, child in enumerate(node.value):
            data.append(self.construct_object(child, deep=False))
            data.item_marks.append(Mark.of(child.start_mark))
            if _is_plain(child):
                data.plain[index] = child.value

    def construct_bounded_int(self, node: ScalarNode) -> int:
        text = str(node.value)
        digits = sum(char.isalnum() for char in text)  # 0x/0b prefixes count: a small overestimate
        if digits > MAX_INT_DIGITS:
            message = (
                f"an integer of {digits} digits is too long (at most {MAX_INT_DIGITS}); quote it if it is meant as text"
            )
            raise _NumberTooLong(message, node.start_mark)
        try:
            return int(super().construct_yaml_int(node))
        except ValueError:
            raise _NumberTooLong(f"'{text}' is not a valid integer", node.start_mark) from None

    def _report_duplicates(self, node: MappingNode) -> None:
        # Merged (`<<`) keys may be overridden on purpose; only keys written in this mapping count.
        seen: dict[Any, Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, ScalarNode):
                continue
            key = self.construct_object(key_node, deep=False)
            if key in seen:
                first = seen[key].start_mark
                message = f"duplicate key '{key}' (first defined at line {first.line + 1})"
                self.problems.append(YamlProblem(message, Mark.of(key_node.start_mark), "duplicate-key"))
            else:
                seen[key] = key_node


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_marked_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_marked_seq)
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_bounded_int)


_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


class _Unusual(Exception):
    """The fast construction met something only `construct_document` handles."""


class _NumberTooLong(Exception):
    def __init__(self, message: str, mark: yaml.Mark) -> None:
        super().__init__(message)
        self.message, self.mark = message, mark


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _is_plain(node: Node) -> bool:
    return isinstance(node, ScalarNode) and not node.style  # None (pure Python) or "" (libyaml)


def _check_flow_depth(text: str) -> None:
    """Refuse deep `[[[...` / `{{{...` before libyaml sees it: its parser recurses in C and a
    deep enough document crashes the process instead of raising. Brackets inside quotes count
    too; no real manifest has dozens of unbalanced ones."""
    depth = 0
    for match in _BRACKET.finditer(text):
        depth = depth + 1 if match.group() in "[{" else max(depth - 1, 0)
        if depth > MAX_DEPTH:
            before = text[: match.start()]
            mark = Mark(before.count("\n"), match.start() - (before.rfind("\n") + 1))
            raise YamlError([YamlProblem(f"nesting is deeper than {MAX_DEPTH} levels", mark, "yaml-depth")])


def _check_depth(data: Any) -> None:
    """Fail on nesting deeper than MAX_DEPTH (iteratively: the check itself must not recurse)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    seen: set[int] = set()
    while stack:
        value, depth = stack.pop()
        if not isinstance(value, MarkedDict | MarkedList) or id(value) in seen:
            continue
        seen.add(id(value))
        if depth >= MAX_DEPTH:
            raise YamlError([YamlProblem(f"nesting is deeper than {MAX_DEPTH} levels", value.start, "yaml-depth")])
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children)


def _first_alias(text: str) -> Mark | None:
    """Where the first `*alias` is written (only used to locate an alias error)."""
    for number, line in enumerate(text.split("\n")):
        found = _ALIAS.search(line)
        if found:
            return Mark(number, found.start(1))
    return None


def _check_expansion(data: Any, text: str) -> None:
    """Fail when aliases would expand past MAX_NODES (memoised, so the check itself stays cheap)."""
    alias = _first_alias(text)
    if alias is None:
        return
    sizes: dict[int, int] = {}

    def size(value: Any) -> int:
        if not isinstance(value, dict | list):
            return 1
        key = id(value)
        if key not in sizes:
            sizes[key] = 0  # a recursive alias counts once instead of looping
            children = value.values() if isinstance(value, dict) else value
            sizes[key] = min(1 + sum(size(child) for child in children), MAX_NODES + 1)
        return sizes[key]

    if size(data) > MAX_NODES:
        message = (
            f"aliases expand to more than {MAX_NODES} values (a 'billion laughs' document?); "
            "write the values out or use fewer nested aliases"
        )
        raise YamlError([YamlProblem(message, alias, "yaml-aliases")])
    if _is_recursive(data):
        raise YamlError([YamlProblem("an alias refers to a value that contains it", alias, "yaml-aliases")])


def _is_recursive(data: Any) -> bool:
    stack: set[int] = set()

    def visit(value: Any) -> bool:
        if not isinstance(value, dict | list):
            return False
        if id(value) in stack:
            return True
        stack.add(id(value))
        children = value.values() if isinstance(value, dict) else value
        found = any(visit(child) for child in children)
        stack.discard(id(value))
        return found

    return visit(data)


def _from_marked(exc: yaml.MarkedYAMLError, text: str) -> YamlProblem:
    mark = exc.problem_mark or exc.context_mark
    position = Mark.of(mark) if mark is not None else Mark(0, 0)
    problem = exc.problem or exc.context or "malformed YAML"
    lines = text.split("\n")
    line = lines[position.line] if position.line < len(lines) else ""
    if "\t" in line[: position.column + 1] and not line[: position.column].strip(" \t"):
        return YamlProblem("tab character in indentation; YAML indents with spaces", position, "yaml-tab")
    if exc.context == "expected a single document in the stream":
        return YamlProblem("a manifest is a single YAML document; remove the second '---'", position, "yaml-syntax")
    context = f" ({exc.context})" if exc.context and exc.problem else ""
    return YamlProblem(f"invalid YAML: {problem}{context}", position, "yaml-syntax")


def _from_reader(text: str, exc: yaml.reader.ReaderError) -> YamlProblem:
    before = text[: exc.position]
    line = before.count("\n")
    column = exc.position - (before.rfind("\n") + 1)
    code_point = exc.character if isinstance(exc.character, int) else ord(exc.character)
    return YamlProblem(f"invalid YAML: unacceptable character U+{code_point:04X}", Mark(line, column), "yaml-syntax")
