"""`telephony.yaml` → `Manifest`, or every problem in it, located.

Stages (each one's problems become `Diagnostic`s; errors are raised together as `ManifestInvalid`):

1. read: size limit (a huge file fails at once), UTF-8, newlines normalised;
2. environments: the top-level `environments:` block is read on its own, as plain YAML, before
   anything is rendered (so it can supply the values the template needs);
3. render: Jinja2 in a sandbox (`provisioner.templating`), with `vars` from `--env NAME` overlaid
   by `--var K=V`, and a line map back to the template;
4. parse: YAML with marks and guards (`provisioner.yamlsource`);
5. schema: the pydantic models (`provisioner.manifest`), errors mapped to lines;
6. rules: semantic checks across the whole manifest (`provisioner.validation`). When the schema
   fails, they run on what is valid on its own (`provisioner.salvage`), so one run shows both.

`${VAR}` references are not resolved here: the model keeps them as written.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from provisioner import gcpause, requires, schema_errors, templating, validation
from provisioner.diagnostics import Diagnostic, ManifestInvalid, did_you_mean, has_errors, sort
from provisioner.locate import SourceMap
from provisioner.manifest import Environment, Manifest
from provisioner.salvage import salvage
from provisioner.templating import Rendered
from provisioner.yamlsource import MarkedDict, YamlError, parse

__all__ = [
    "MAX_FILE_BYTES",
    "LoadResult",
    "ManifestInvalid",
    "Prepared",
    "check",
    "declared_environments",
    "load",
    "prepare",
    "read",
    "render_for",
]

# As large as the rendered text may be (templating.MAX_RENDERED_CHARS): room for 10,000 numbers written one
# a line (about 1.1 MB), still refusing a file that is only meant to exhaust memory.
MAX_FILE_BYTES = 2_000_000
_ENVIRONMENTS = re.compile(r"^environments\s*:(?=\s|$)")


@dataclass(frozen=True)
class LoadResult:
    manifest: Manifest
    diagnostics: list[Diagnostic]  # warnings only (errors raise)
    source_digest: str  # sha256 hex of the rendered manifest text (for plan files)
    path: Path


@dataclass(frozen=True)
class Prepared:
    """A file read and its `environments:` block parsed: what every environment's load shares."""

    path: Path
    text: str
    environments: dict[str, Environment]
    line: int  # of the environments block (1 when there is none), where environment errors point

    @property
    def file(self) -> str:
        return str(self.path)


def load(
    path: Path,
    *,
    env: str | None = None,
    variables: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    strict: bool = False,
    text: str | None = None,
) -> LoadResult:
    """Load and validate a manifest. Raises `ManifestInvalid` listing every problem found.

    `text`: the file's content from `read` (a pipe such as /dev/stdin can be read only once).
    """
    prepared = prepare(path, text)
    return check(prepared, render_for(prepared, env, variables), environ=environ, strict=strict)


def prepare(path: Path, text: str | None = None) -> Prepared:
    """Stages 1 and 2: read (unless `text` is given) and parse the environments block."""
    text = read(path) if text is None else text
    requires.check(text, str(path))  # a file pinned to other versions is refused before anything else
    environments, line = _read_environments(text, str(path))
    return Prepared(path, text, environments, line)


def render_for(
    prepared: Prepared,
    env: str | None,
    variables: Mapping[str, str] | None = None,
    *,
    seconds: float | None = None,
) -> Rendered:
    """Stage 3 for one environment, within `seconds` of rendering. Raises `ManifestInvalid`."""
    file = prepared.file
    context, hint = _variables(prepared.environments, env, dict(variables or {}), file, prepared.line)
    return _render(prepared.text, context, env, hint, file, seconds)


def check(
    prepared: Prepared, rendered: Rendered, *, environ: Mapping[str, str] | None = None, strict: bool = False
) -> LoadResult:
    """Stages 4 to 6 on a rendered text. Raises `ManifestInvalid` listing every problem found."""
    with gcpause.paused(keep=True):  # a large manifest is a few hundred thousand objects
        return _check(prepared, rendered, os.environ if environ is None else environ, strict)


def _check(prepared: Prepared, rendered: Rendered, environ: Mapping[str, str], strict: bool) -> LoadResult:
    source, diagnostics = _parse(rendered, prepared.file)
    _looks_like_a_manifest(source)
    found, manifest, cut = _build(source)
    diagnostics += found
    if manifest is not None:
        diagnostics += validation.check(manifest, source, environ=environ, cut=cut)
    if strict:
        diagnostics = [d.as_error() for d in diagnostics]
    if manifest is None or has_errors(diagnostics):
        raise ManifestInvalid(diagnostics)
    digest = hashlib.sha256(rendered.text.encode()).hexdigest()
    return LoadResult(manifest, sort(diagnostics), digest, prepared.path)


def declared_environments(path: Path, text: str | None = None) -> list[str]:
    """Names under `environments:` (read without rendering); [] when unreadable or none."""
    try:
        return list(_read_environments(read(path) if text is None else text, str(path))[0])
    except ManifestInvalid:
        return []


def read(path: Path) -> str:
    """The manifest's text: size-limited, UTF-8, newlines normalised. Raises `ManifestInvalid`."""
    return _read(path, str(path))


def _fail(file: str, message: str, code: str, line: int = 1, column: int = 1) -> ManifestInvalid:
    return ManifestInvalid([Diagnostic("error", message, file, line, column, code)])


def _read(path: Path, file: str) -> str:
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:  # read at most one byte past the limit: pipes have no size
            raw = handle.read(MAX_FILE_BYTES + 1)
        if size > MAX_FILE_BYTES or len(raw) > MAX_FILE_BYTES:
            shown = f"{size} bytes" if size > MAX_FILE_BYTES else f"over {MAX_FILE_BYTES} bytes"
            raise _fail(file, f"file is too large ({shown}; the limit is {MAX_FILE_BYTES})", "too-large")
    except FileNotFoundError:
        raise _fail(file, "file not found", "file") from None
    except IsADirectoryError:
        raise _fail(file, "is a directory, not a manifest file", "file") from None
    except OSError as exc:
        raise _fail(file, f"cannot read the file: {exc.strerror}", "file") from None
    _not_text(raw, file)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _fail(file, "not UTF-8 text", "encoding", line, column) from None
    text = text.replace("\r\n", "\n")
    if not text.strip() or all(not line.strip() or line.lstrip().startswith("#") for line in text.split("\n")):
        raise _fail(file, "the file is empty; a manifest starts with 'version: 1'", "empty")
    return text


# Byte-order marks of encodings an editor may save in ("Unicode" in Windows Notepad is UTF-16 LE).
# UTF-32 first: its little-endian mark starts with UTF-16's.
_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def _not_text(raw: bytes, file: str) -> None:
    """A clear error for UTF-16/32 text and binary files, which would only read as "not UTF-8"."""
    encoding = next((name for bom, name in _BOMS if raw.startswith(bom)), None)
    if encoding is None and _utf16_without_mark(raw[:64]):
        encoding = "UTF-16"
    if encoding is not None:
        raise _fail(file, f"the file is {encoding} text; save it as UTF-8", "encoding")
    if b"\x00" in raw:
        at = raw.index(b"\x00")
        line, column = raw[:at].count(b"\n") + 1, at - (raw.rfind(b"\n", 0, at) + 1) + 1
        raise _fail(file, "a binary file (it contains NUL bytes), not a YAML manifest", "encoding", line, column)


def _utf16_without_mark(head: bytes) -> bool:
    """ASCII text in UTF-16 without a byte-order mark: every other byte is zero, the rest not."""
    head = head[: len(head) // 2 * 2]
    even, odd = head[0::2], head[1::2]
    return len(head) >= 4 and any(
        zeros == bytes(len(zeros)) and b"\x00" not in text for zeros, text in ((even, odd), (odd, even))
    )


def _read_environments(text: str, file: str) -> tuple[dict[str, Environment], int]:
    """The `environments:` block, parsed alone: it must be plain YAML (no templates).

    Also returns the block's 1-based line (1 when there is none), where environment errors point.
    """
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if _ENVIRONMENTS.match(line)), None)
    if start is None:
        return {}, 1
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t#"):
        end += 1
    block = "\n" * start + "\n".join(lines[start:end]) + "\n"
    if templating.uses_templates(_without_comments(block)):
        message = "the environments: block is read before rendering, so it cannot use ${{ }}, ${# #} or {% %}"
        raise _fail(file, message, "environments-template", start + 1)
    source, problems = _parse(Rendered(block, ()), file)
    if problems:
        raise ManifestInvalid(problems)
    data = source.data if isinstance(source.data, dict) else {}
    try:
        declared = {"version": 1, "environments": data.get("environments") or {}}
        return Manifest.model_validate(declared).environments, start + 1
    except ValidationError as exc:
        raise ManifestInvalid(schema_errors.diagnostics(exc, source)) from None


def _without_comments(text: str) -> str:
    lines = text.split("\n")
    starts = [templating.comment_start(line) for line in lines]
    return "\n".join(line if start is None else line[:start] for line, start in zip(lines, starts, strict=True))


def _variables(
    environments: dict[str, Environment], env: str | None, overrides: dict[str, str], file: str, line: int
) -> tuple[dict[str, Any], str]:
    names = ", ".join(environments) or "none"
    if env is None:
        where = f"choose an environment with --env NAME (declared: {names}) or" if environments else ""
        return dict(overrides), f"{where} pass --var {{name}}=VALUE".strip()
    if not environments:
        message = f"--env {env}: this file declares no environments; add an environments: block or leave out --env"
        raise _fail(file, message, "unknown-env", line)
    if env not in environments:
        suggestion = did_you_mean(env, environments)
        raise _fail(file, f"unknown environment '{env}'{suggestion} (declared: {names})", "unknown-env", line)
    values: dict[str, Any] = {**environments[env].vars, **overrides}
    hint = f"environment '{env}' does not set it: add it under environments.{env}.vars or pass --var {{name}}=VALUE"
    return values, hint


def _render(
    text: str, context: dict[str, Any], env: str | None, hint: str, file: str, seconds: float | None
) -> Rendered:
    try:
        return templating.render(text, variables=context, environment=env, hint=hint, seconds=seconds)
    except templating.TemplateProblem as problem:
        raise _fail(file, problem.message, problem.code, problem.line, problem.column) from None


def _parse(rendered: Rendered, file: str) -> tuple[SourceMap, list[Diagnostic]]:
    """The parsed document, and the problems that did not stop parsing (duplicate keys)."""
    try:
        result = parse(rendered.text)
    except YamlError as exc:
        source = SourceMap(file, None, rendered)
        located = [_located(source, p.mark.line, p.mark.column, p.message, p.code) for p in exc.problems]
        raise ManifestInvalid(located) from None
    source = SourceMap(file, result.data, rendered)
    problems = [_located(source, p.mark.line, p.mark.column, p.message, p.code) for p in result.problems]
    if result.data is None:
        raise _fail(file, "the file is empty; a manifest starts with 'version: 1'", "empty")
    if not isinstance(result.data, MarkedDict):
        raise _fail(file, "a manifest is a mapping of keys (version, agents, phone_numbers, ...)", "not-a-mapping")
    return source, problems


def _located(source: SourceMap, line: int, column: int, message: str, code: str) -> Diagnostic:
    line, column = source.rendered.template_position(line, column)
    return Diagnostic("error", message, source.file, line, column, code)


def _looks_like_a_manifest(source: SourceMap) -> None:
    """One error for YAML that is some other file (a compose file, a workflow, the wrong path),
    instead of an "unknown key" for each of its keys, which may echo whatever they hold."""
    keys = [str(key) for key in source.data]
    known = list(Manifest.model_fields)
    if not keys:
        raise _fail(source.file, "the manifest is an empty mapping; a manifest starts with 'version: 1'", "empty")
    if any(key in known or did_you_mean(key, known) for key in keys):
        return
    message = (
        "this is not a telephony manifest: none of its top-level keys is a manifest key "
        "(version, agents, phone_numbers, ...); a manifest starts with 'version: 1'"
    )
    raise _fail(source.file, message, "not-a-manifest")


def _build(source: SourceMap) -> tuple[list[Diagnostic], Manifest | None, frozenset[tuple[Any, ...]]]:
    """Validate against the models. On errors, also validate what is left once the broken parts
    are cut out (`provisioner.salvage`), so the semantic rules still run on the rest and every
    problem shows in one run. Returns the schema errors, the manifest to check, and the cuts."""
    try:
        return [], Manifest.model_validate(source.data), frozenset()
    except ValidationError as exc:
        diagnostics = schema_errors.diagnostics(exc, source)
        rest = salvage(source.data)
    return diagnostics, (rest.manifest if rest else None), (rest.cut if rest else frozenset())
