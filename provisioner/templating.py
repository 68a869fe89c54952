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

import re
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from provisioner.errors import ManifestError

MAX_RENDERED_CHARS = 2_000_000
MAX_RENDER_SECONDS = 5.0
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


def render(text: str, *, variables: Mapping[str, Any], environment: str | None, hint: str) -> Rendered:
    """Render `text`. `hint` is appended to undefined-variable errors (how to supply a value)."""
    if not uses_templates(text):
        return Rendered(text, ())
    context = {"vars": dict(variables), "environment": environment}
    source = text
    text = protect_comments(text)
    marked = _mark_lines(text) if _MARK_OPEN not in text else None
    if marked is not None:
        try:
            rendered = _unmark(_render(marked, context, hint))
            return Rendered(rendered.text, rendered.origin, source)
        except _MarkersBrokeSyntax:
            pass  # a tag spans lines; render without markers (line numbers then best effort)
    return Rendered(_render(text, context, hint), ())


class _MarkersBrokeSyntax(Exception):
    pass


class _Sandbox(SandboxedEnvironment):
    """Refuses arithmetic that would build huge values (`"x" * 10**9`)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > 64:
            raise SecurityError("exponent too large")
        if operator == "*" and _too_big(left, right):
            raise SecurityError("the result would be too large")
        return super().call_binop(context, operator, left, right)


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


def _render(source: str, context: dict[str, Any], hint: str) -> str:
    marked = _MARK_OPEN in source
    try:
        template = _environment().from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        if marked:
            raise _MarkersBrokeSyntax from None
        line = exc.lineno or 1
        message = f"template syntax: {exc.message}"
        raise TemplateProblem(message, line, _column(source, line), "template-syntax") from None
    chunks: list[str] = []
    size = 0
    try:
        with _time_limit():
            for chunk in template.generate(context):
                size += len(chunk)
                if size > MAX_RENDERED_CHARS:
                    message = f"the rendered manifest is larger than {MAX_RENDERED_CHARS} characters"
                    raise TemplateProblem(message, 1, 1, "template-size")
                chunks.append(chunk)
    except TemplateProblem:
        raise
    except Exception as exc:  # anything a template can raise: undefined, sandbox, filters, arithmetic
        line = _failing_line(sys.exc_info()[2])
        raise _problem(exc, line, _column(source, line), hint) from None
    return "".join(chunks)


class _TooSlow(Exception):
    pass


@contextmanager
def _time_limit() -> Iterator[None]:
    """Stop a template that loops for too long (nested loops can spin without any output).

    Uses a timer signal, so only in the main thread of a Unix process (the CLI); elsewhere
    the output-size limit is the only guard.
    """
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise _TooSlow(f"rendering took longer than {MAX_RENDER_SECONDS:g} seconds")

    previous = signal.signal(signal.SIGALRM, expire)
    started = time.monotonic()
    outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, MAX_RENDER_SECONDS)
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
