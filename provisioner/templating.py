"""Jinja2 over the manifest text: `${{ expr }}` and `{% block %}`, in a sandbox.

Delimiters are chosen so the three kinds of braces never collide:
- `${{ vars.NAME }}` and `{% for ... %}` are Jinja (comments are `${# ... #}`);
- `${VAR}` is left for `provisioner.grammar`'s references (no `{` follows the `${`);
- `{{ name }}` is an ElevenLabs dynamic variable and passes through untouched.

Line mapping: before rendering, every template line gets an invisible marker with its number at
its end. After rendering, each output line's first marker names the template line it came from
(lines repeated by a loop keep their origin); markers are then stripped. Errors found later in
the rendered YAML are reported at the template's line.
"""

from __future__ import annotations

import functools
import inspect
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any

import jinja2
import markupsafe
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter

from provisioner.errors import ManifestError

MAX_RENDERED_CHARS = 2_000_000
MAX_RENDER_SECONDS = 5.0
# Values a template builds (strings, lists, macro output) are bounded one by one and in total, and
# checked before they are built: a single C-level operation (`'%0900000000d' % 1`,
# `'a'|center(2000000000)`) cannot be interrupted by the timer, so it must never start.
MAX_VALUE_CHARS = MAX_RENDERED_CHARS  # one string or list
MAX_BUILT_CHARS = 10 * MAX_RENDERED_CHARS  # everything built during one render, garbage included
MAX_FORMAT_WIDTH = 10_000  # a width or precision in %-formatting, str.format or a padding filter
MAX_INT_BITS = 20_000  # about 6,000 decimal digits
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"  # private-use code points: never in a real manifest
_MARKER = re.compile(f"{_MARK_OPEN}(\\d+){_MARK_CLOSE}")
_SYNTAX = re.compile(r"\$\{\{|\{%|\$\{#")
_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
_MISSING_ATTRIBUTE = re.compile(r"has no attribute '([^']+)'")


@dataclass(frozen=True)
class Rendered:
    text: str
    origin: tuple[int, ...]  # origin[i] = 1-based template line of rendered line i (0-based)
    template: str = ""  # the source, when lines map one to one (for columns)

    def template_line(self, rendered_line: int) -> int:
        """1-based template line for a 0-based rendered line."""
        if not self.origin:
            return rendered_line + 1
        return self.origin[min(rendered_line, len(self.origin) - 1)]

    def template_position(self, rendered_line: int, column: int) -> tuple[int, int]:
        """1-based (line, column) in the template for a 0-based rendered position.

        Text before and after a `${{ }}` on the same line keeps its column; a position inside
        what an expression produced points at the expression.
        """
        line = self.template_line(rendered_line)
        if not self.template:
            return line, column + 1
        source = _line_at(self.template, line - 1)
        output = _line_at(self.text, rendered_line)
        return line, _map_column(source, output, column) + 1


def _line_at(text: str, index: int) -> str:
    lines = text.split("\n")
    return lines[index] if 0 <= index < len(lines) else ""


def _map_column(source: str, output: str, column: int) -> int:
    """0-based template column for a 0-based column of the rendered line.

    Walks the literal text between `${{ }}` expressions, which rendering copies unchanged: a
    column in literal text maps exactly, a column in an expression's output maps to the `${{`.
    """
    if source == output:
        return column
    src = out = 0
    expressions = list(_EXPRESSION.finditer(source))
    for index, expression in enumerate(expressions):
        literal = source[src : expression.start()]
        if not output.startswith(literal, out):
            return min(column, len(source))  # a {% %} on the line: no reliable map
        if column < out + len(literal):
            return src + column - out
        out += len(literal)
        last = index + 1 == len(expressions)
        following = source[expression.end() : len(source) if last else expressions[index + 1].start()]
        # With no literal after it, the expression runs to the end of the line (or yields nothing
        # when another expression follows at once).
        bound = len(output) if last else out
        produced_end = output.find(following, out) if following else bound
        if produced_end < 0 or column < produced_end:
            return expression.start()
        src, out = expression.end(), produced_end
    return min(src + column - out, len(source))


class TemplateProblem(ManifestError):
    def __init__(self, message: str, line: int, column: int, code: str) -> None:
        super().__init__(message)
        self.message, self.line, self.column, self.code = message, line, column, code


def uses_templates(text: str) -> bool:
    return bool(_SYNTAX.search(text))


def render(
    text: str,
    *,
    variables: Mapping[str, Any],
    environment: str | None,
    hint: str,
    seconds: float | None = None,
) -> Rendered:
    """Render `text` within `seconds` (default `MAX_RENDER_SECONDS`). `hint` is appended to
    undefined-variable errors (how to supply a value)."""
    seconds = MAX_RENDER_SECONDS if seconds is None else min(seconds, MAX_RENDER_SECONDS)
    if not uses_templates(text):
        return Rendered(text, ())
    context = {"vars": dict(variables), "environment": environment}
    source = text
    text = protect_comments(text)
    marked = _mark_lines(text) if _MARK_OPEN not in text else None
    if marked is not None:
        try:
            rendered = _unmark(_render(marked, context, hint, seconds))
            return Rendered(rendered.text, rendered.origin, source)
        except _MarkersBrokeSyntax:
            pass  # a tag spans lines; render without markers (line numbers then best effort)
    return Rendered(_render(text, context, hint, seconds), ())


class _MarkersBrokeSyntax(Exception):
    pass


class _TooLarge(SecurityError):
    """A value the template would build is over a size limit (checked before building it)."""


class _CodeGenerator(CodeGenerator):
    """Jinja's compiler, minus compile-time evaluation.

    Jinja folds constant expressions while compiling (`from_string`), outside the sandbox's
    operator hooks, the timer and the output cap: `${{ '%0900000000d' % 1 }}` would run there.
    Here nothing is evaluated before rendering (the environment also sets `optimized=False`), and
    `~` goes through `_Sandbox.bounded_concat`, which checks the size before joining.
    """

    def _output_child_to_const(self, node: nodes.Expr, frame: Frame, finalize: Any) -> str:
        raise nodes.Impossible()

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")
_DIGITS = re.compile(r"\d+")


def _check_width(width: Any, what: str) -> None:
    if isinstance(width, str) and (len(width) > 6 or (width.isdigit() and int(width) > MAX_FORMAT_WIDTH)):
        shown = width if len(width) <= 12 else f"{width[:12]}..."
        raise _TooLarge(f"{what} {shown} is larger than {MAX_FORMAT_WIDTH}")
    if isinstance(width, int) and width > MAX_FORMAT_WIDTH:
        raise _TooLarge(f"{what} {width} is larger than {MAX_FORMAT_WIDTH}")


def _check_percent(template: str) -> None:
    """`template % args`: no width or precision over MAX_FORMAT_WIDTH, none taken from the arguments."""
    for spec in _PERCENT_SPEC.finditer(template):
        for part in spec.groups():
            if part == "*":
                raise _TooLarge("a width or precision taken from the arguments ('*') is not allowed")
            _check_width(part, "a width or precision of")


def _check_format_spec(spec: str) -> None:
    for digits in _DIGITS.findall(spec):
        _check_width(digits, "a width or precision of")


class _BoundedFormatter(SandboxedFormatter):
    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_format_spec(format_spec)
        return super().format_field(value, format_spec)


class _BoundedEscapeFormatter(SandboxedEscapeFormatter):
    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_format_spec(format_spec)
        return super().format_field(value, format_spec)


def _size(value: Any) -> int:
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        return len(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value.bit_length() // 8
    return 0


def _text_size(items: Iterable[Any]) -> int:
    return sum(len(str(item)) for item in items)


class _Sandbox(SandboxedEnvironment):
    """A sandbox that also bounds what a template builds: time and memory.

    Operators that can build large values (`*`, `**`, `%`, `+`, `~`), method calls and filters
    are checked before they run; every value built is added to a per-render total.
    """

    intercepted_binops = frozenset({"*", "**", "%", "+"})
    code_generator_class = _CodeGenerator

    def __init__(self, **options: Any) -> None:
        super().__init__(optimized=False, **options)
        self.built = 0
        self.globals.pop("lipsum", None)  # lorem ipsum of any length: nothing a manifest needs
        self.filters = {name: self._bounded_filter(name, f) for name, f in self.filters.items()}

    # -- accounting ---------------------------------------------------------------------------

    def _expect(self, size: int, what: str = "the value") -> None:
        if size > MAX_VALUE_CHARS:
            raise _TooLarge(f"{what} would be larger than {MAX_VALUE_CHARS} characters")
        if self.built + size > MAX_BUILT_CHARS:
            raise _TooLarge(f"the template builds more than {MAX_BUILT_CHARS} characters of values in total")

    def _built(self, value: Any) -> Any:
        size = _size(value)
        self._expect(size)
        self.built += size
        return value

    # -- operators ----------------------------------------------------------------------------

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > 64:
            raise SecurityError("exponent too large")
        both_ints = isinstance(left, int) and isinstance(right, int)
        if both_ints and operator == "**" and right > 0 and left.bit_length() * right > MAX_INT_BITS:
            raise _TooLarge(f"the result would be larger than {MAX_INT_BITS} bits")
        if operator == "*" and _too_big(left, right):
            raise SecurityError("the result would be too large")
        if both_ints and operator == "*" and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise _TooLarge(f"the result would be larger than {MAX_INT_BITS} bits")
        if operator == "%" and isinstance(left, str):
            _check_percent(left)
        if operator == "+" and all(isinstance(v, str | list | tuple) for v in (left, right)):
            self._expect(len(left) + len(right))
        return self._built(super().call_binop(context, operator, left, right))

    def bounded_concat(self, parts: tuple[Any, ...]) -> str:
        texts = [str(part) for part in parts]
        self._expect(sum(map(len, texts)))
        return str(self._built("".join(texts)))

    # -- calls and str.format -------------------------------------------------------------------

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, str | bytes):
            __self._check_str_method(owner, name, args, kwargs)
        elif isinstance(owner, list) and name in ("extend", "append", "insert"):
            added = len(args[0]) if name == "extend" and args and hasattr(args[0], "__len__") else 1
            if len(owner) + added > MAX_VALUE_CHARS:
                raise _TooLarge(f"a list would hold more than {MAX_VALUE_CHARS} items")
            __self.built += added
        return __self._built(super().call(__context, __obj, *args, **kwargs))

    def _check_str_method(self, owner: str | bytes, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        first = args[0] if args else next(iter(kwargs.values()), None)
        if name in ("center", "ljust", "rjust", "zfill"):
            _check_width(first, f"{name}() width")
        elif name == "expandtabs":
            tabsize = first if isinstance(first, int) else 8
            tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t")
            self._expect(len(owner) + tabs * tabsize)
        elif name == "replace" and len(args) >= 2:
            self._expect(_replaced_size(owner, args[0], args[1]))
        elif name == "join" and args:
            items = list(args[0]) if not isinstance(args[0], list | tuple) else args[0]
            self._expect(_text_size(items) + len(owner) * len(items))
        elif name == "translate" and isinstance(first, dict):
            longest = max((len(str(v)) for v in first.values() if v is not None), default=1)
            self._expect(len(owner) * max(longest, 1))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        owner = value.__self__
        is_map = value.__name__ == "format_map"
        formatter: SandboxedFormatter
        if isinstance(owner, markupsafe.Markup):
            formatter = _BoundedEscapeFormatter(self, escape=owner.escape)
        else:
            formatter = _BoundedFormatter(self)

        def bounded(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                mapping: Mapping[str, Any] = args[0]
                return str(self._built(type(owner)(formatter.vformat(owner, (), mapping))))
            return str(self._built(type(owner)(formatter.vformat(owner, args, kwargs))))

        return functools.update_wrapper(bounded, value)

    # -- filters ------------------------------------------------------------------------------

    def _bounded_filter(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def bounded(*args: Any, **kwargs: Any) -> Any:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                return func(*args, **kwargs)  # let the filter report its own usage error
            bound.apply_defaults()
            checked = self._check_filter(name, dict(bound.arguments))
            if checked is not None:  # the filter's input, materialised to be measured
                bound.arguments.update(checked)
            return self._built(func(*bound.args, **bound.kwargs))

        return bounded

    def _check_filter(self, name: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
        subject = next((arguments[k] for k in ("s", "value") if k in arguments), "")
        measured = ("indent", "wordwrap", "format", "replace", "truncate")
        text = "" if name not in measured or isinstance(subject, jinja2.Undefined) else str(subject)
        if name == "center":
            _check_width(arguments.get("width"), "center width")
        elif name == "indent":
            width = arguments.get("width")
            _check_width(width, "indent width")
            pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
            self._expect(len(text) + (text.count("\n") + 1) * max(pad, 0))
        elif name == "wordwrap":
            width = arguments.get("width")
            lines = len(text) // max(width, 1) + 1 if isinstance(width, int) else len(text)
            self._expect(len(text) + lines * len(str(arguments.get("wrapstring") or "\n")))
        elif name == "format":
            _check_percent(text)
        elif name == "replace":
            self._expect(_replaced_size(text, arguments.get("old", ""), arguments.get("new", "")))
        elif name == "join" and arguments.get("attribute") is None:
            value = arguments.get("value")
            items = list(value) if value is not None and not isinstance(value, list | tuple | str) else value
            if isinstance(items, list | tuple):
                self._expect(_text_size(items) + len(str(arguments.get("d", ""))) * len(items))
                return {"value": items}
        elif name in ("batch", "slice"):
            count = arguments.get("linecount" if name == "batch" else "slices")
            if isinstance(count, int) and count > MAX_VALUE_CHARS // 100:
                raise _TooLarge(f"{name} count {count} is larger than {MAX_VALUE_CHARS // 100}")
        elif name == "tojson":
            indent = arguments.get("indent")
            if isinstance(indent, int | str) and (len(indent) if isinstance(indent, str) else indent) > 16:
                raise _TooLarge("tojson indent is larger than 16")
        elif name == "sum":
            items = list(arguments.get("iterable") or ())
            total, count = _size(arguments.get("start")), 1
            for item in items:  # adding sequences copies the running total each time: quadratic
                if isinstance(item, str | list | tuple):
                    total, count = total + len(item), count + 1
                    self._expect(total * count)
            return {"iterable": items}
        elif name == "truncate":
            self._expect(len(text) + len(str(arguments.get("end", ""))))
        return None


def _replaced_size(text: Any, old: Any, new: Any) -> int:
    if not isinstance(text, str | bytes) or not isinstance(old, str | bytes) or not isinstance(new, str | bytes):
        return 0
    try:
        if not (isinstance(text, str) and isinstance(old, str)) and not (
            isinstance(text, bytes) and isinstance(old, bytes)
        ):
            return 0
        count = text.count(old) if old else len(text) + 1  # type: ignore[arg-type]
    except TypeError:
        return 0
    return len(text) + count * max(len(new) - len(old), 0)


def _too_big(left: Any, right: Any) -> bool:
    for value, times in ((left, right), (right, left)):
        if isinstance(value, str | list | tuple) and isinstance(times, int):
            return len(value) * times > MAX_RENDERED_CHARS
    return False


def _environment() -> _Sandbox:
    return _Sandbox(
        variable_start_string="${{",
        variable_end_string="}}",
        block_start_string="{%",
        block_end_string="%}",
        comment_start_string="${#",
        comment_end_string="#}",
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def _render(source: str, context: dict[str, Any], hint: str, seconds: float) -> str:
    """Compile and render `source` within `seconds` (compiling counts: it parses the whole file)."""
    marked = _MARK_OPEN in source
    chunks: list[str] = []
    size = 0
    try:
        with _time_limit(seconds):
            template = _environment().from_string(source)
            for chunk in template.generate(context):
                size += len(chunk)
                if size > MAX_RENDERED_CHARS:
                    message = f"the rendered manifest is larger than {MAX_RENDERED_CHARS} characters"
                    raise TemplateProblem(message, 1, 1, "template-size")
                chunks.append(chunk)
    except jinja2.TemplateSyntaxError as exc:
        if marked:
            raise _MarkersBrokeSyntax from None
        line = exc.lineno or 1
        message = f"template syntax: {exc.message}"
        raise TemplateProblem(message, line, _column(source, line), "template-syntax") from None
    except TemplateProblem:
        raise
    except Exception as exc:  # anything a template can raise: undefined, sandbox, filters, arithmetic
        line = _failing_line(sys.exc_info()[2])
        raise _problem(exc, line, _column(source, line), hint) from None
    return "".join(chunks)


class _TooSlow(Exception):
    pass


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Stop a template that loops for too long (nested loops can spin without any output).

    Uses a timer signal, so only in the main thread of a Unix process (the CLI); elsewhere
    the output-size limit is the only guard.
    """
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise _TooSlow(f"rendering took longer than {seconds:g} seconds")

    previous = signal.signal(signal.SIGALRM, expire)
    started = time.monotonic()
    outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay > 0:  # someone else's timer (e.g. pytest-timeout) keeps running
            remaining = max(outer_delay - (time.monotonic() - started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, remaining, outer_interval)


def _problem(exc: Exception, line: int, column: int, hint: str) -> TemplateProblem:
    if isinstance(exc, jinja2.UndefinedError):
        missing = _MISSING_ATTRIBUTE.search(str(exc))
        name = missing.group(1) if missing else str(exc).strip("'").split("'")[0]
        message = f"undefined template variable '{name}'; {hint.replace('{name}', name)}"
        return TemplateProblem(message, line, column, "template-undefined")
    if isinstance(exc, _TooSlow):
        return TemplateProblem(f"template: {exc}", line, column, "template-timeout")
    if isinstance(exc, _TooLarge):
        return TemplateProblem(f"template: {exc}", line, column, "template-size")
    if isinstance(exc, SecurityError):
        return TemplateProblem(f"not allowed in a template: {exc}", line, column, "template-sandbox")
    return TemplateProblem(f"template error: {exc}", line, column, "template-error")


def _failing_line(tb: TracebackType | None) -> int:
    # Jinja rewrites tracebacks so template frames carry the template's own line numbers.
    line = 1
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _column(source: str, line: int) -> int:
    lines = source.split("\n")
    if not 1 <= line <= len(lines):
        return 1
    found = _SYNTAX.search(lines[line - 1])
    return found.start() + 1 if found else 1


def protect_comments(text: str) -> str:
    """YAML comments are not templates: wrap those that contain Jinja syntax in {% raw %}.

    So a comment can mention `${{ vars.NAME }}`, and commenting out a `{% for %}` line disables it.
    """
    lines = text.split("\n")
    for index, line in enumerate(lines):
        start = comment_start(line)
        if start is not None and _SYNTAX.search(line, start):
            lines[index] = f"{line[:start]}{{% raw %}}{line[start:]}{{% endraw %}}"
    return "\n".join(lines)


def comment_start(line: str) -> int | None:
    """Where a YAML comment starts on `line`, or None (quotes are tracked on this line only)."""
    quote: str | None = None
    previous = " "
    for index, char in enumerate(line):
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "'\"" and previous in " \t:[{,-":
            quote = char
        elif char == "#" and previous in " \t":
            return index
        previous = char
    return None


def _mark_lines(text: str) -> str:
    lines = text.split("\n")
    return "\n".join(f"{line}{_MARK_OPEN}{n}{_MARK_CLOSE}" for n, line in enumerate(lines, start=1))


def _unmark(rendered: str) -> Rendered:
    origin: list[int] = []
    clean: list[str] = []
    previous = 1
    for line in rendered.split("\n"):
        found = _MARKER.search(line)
        # A line without a marker came from a value with a newline: it belongs to the line before.
        previous = int(found.group(1)) if found else previous
        origin.append(previous)
        clean.append(_MARKER.sub("", line))
    return Rendered("\n".join(clean), tuple(origin))
