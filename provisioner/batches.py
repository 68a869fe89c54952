"""Batch-call CSV files: every row checked before anything is sent.

The file has a `phone_number` column (E.164); every other column is a dynamic variable for that
recipient, except `language` and `first_message`, which become conversation overrides (allowed
only when the agent's `overrides:` list in the manifest has them). The file is read row by row
with the csv module (a large file is never held as text); each problem names its place as
`FILE:LINE:COL` (COL is the character column where the field starts, both 1-based).

Rules:
- errors: no `phone_number` column, an empty or duplicate column name, a column name that is not
  a dynamic variable name (or uses the reserved `system__` prefix), an override the agent does not
  allow, a row with more or fewer fields than the header, an empty, non-E.164 or duplicate phone
  number, an empty value for a variable the agent uses and has no default for, a `language` that
  is not a language code, more than `MAX_RECIPIENTS` rows, no rows at all;
- warnings: a variable column that none of the agent's placeholders and messages use (it is still
  sent), an override column when the manifest does not list the agent's overrides;
- an empty cell otherwise is left out of that recipient's variables (the agent's default applies).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from provisioner import grammar

MAX_RECIPIENTS = 10_000  # the API's limit per batch (maxItems of `recipients`)
MAX_KEPT_PROBLEMS = 1_000  # beyond this only the count grows: a broken 1M-row file stays cheap
PHONE = "phone_number"
# CSV column → path of the override under conversation_config_override
OVERRIDE_COLUMNS: dict[str, tuple[str, ...]] = {
    "language": ("agent", "language"),
    "first_message": ("agent", "first_message"),
}
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*\Z")
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class CsvProblem:
    file: str
    line: int  # 0: the file as a whole
    column: int
    severity: Severity
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return f"{where}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class AgentVariables:
    """What the agent does with dynamic variables: `used` in its prompt, messages and transfers;
    `defaults`, the placeholders it has a value for; `overrides` it allows (None: not known)."""

    used: frozenset[str] = frozenset()
    defaults: frozenset[str] = frozenset()
    overrides: frozenset[str] | None = None

    @property
    def known(self) -> frozenset[str]:
        return self.used | self.defaults


@dataclass(frozen=True)
class Recipient:
    line: int
    phone_number: str
    variables: dict[str, str]
    overrides: dict[str, str]


@dataclass
class CsvCheck:
    file: str
    columns: list[str] = field(default_factory=list)
    recipients: list[Recipient] = field(default_factory=list)  # complete only when there is no error
    problems: list[CsvProblem] = field(default_factory=list)  # the first MAX_KEPT_PROBLEMS
    rows: int = 0
    error_count: int = 0
    warning_count: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add(self, line: int, column: int, severity: Severity, message: str) -> None:
        if severity == "error":
            self.error_count += 1
        else:
            self.warning_count += 1
        if len(self.problems) < MAX_KEPT_PROBLEMS:
            self.problems.append(CsvProblem(self.file, line, column, severity, message))


def check_csv(path: Path, agent: AgentVariables, *, max_rows: int = MAX_RECIPIENTS) -> CsvCheck:
    """Check the CSV file at `path` (UTF-8, an optional BOM) row by row."""
    name = str(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return check_lines(handle, name, agent, max_rows=max_rows)
    except UnicodeDecodeError as exc:
        result = CsvCheck(name)
        result.add(0, 0, "error", f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8")
        return result
    except OSError as exc:
        result = CsvCheck(name)
        result.add(0, 0, "error", f"cannot read the file: {exc.strerror or exc}")
        return result


class _Source:
    """Feeds csv.reader one physical line at a time and keeps the current record's raw text."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.consumed = 0
        self.buffer: list[str] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.consumed += 1
        self.buffer.append(line)
        return line

    def take(self) -> tuple[int, str]:
        """(first line number, raw text) of the record just read."""
        start = self.consumed - len(self.buffer) + 1
        raw = "".join(self.buffer)
        self.buffer.clear()
        return start, raw


def _position(start: int, raw: str, index: int) -> tuple[int, int]:
    """(line, column) where field `index` of a record starts (past the last field: its end)."""
    quoted = False
    offset, found = len(raw.rstrip("\r\n")), 0
    if index == 0:
        offset = 0
    else:
        for i, ch in enumerate(raw):
            if ch == '"':
                quoted = not quoted
            elif ch == "," and not quoted:
                found += 1
                if found == index:
                    offset = i + 1
                    break
    before = raw[:offset]
    newline = max(before.rfind("\n"), before.rfind("\r"))
    return start + before.count("\n"), offset - newline


def check_lines(lines: Iterable[str], name: str, agent: AgentVariables, *, max_rows: int = MAX_RECIPIENTS) -> CsvCheck:
    """Check CSV text given as lines (with their line endings, as a file opened with newline="")."""
    result = CsvCheck(name)
    source = _Source(lines)
    reader = csv.reader(source, strict=True)
    header: list[str] | None = None
    seen: dict[str, int] = {}
    required: set[str] = set()
    phone_index = 0
    try:
        for fields in reader:
            start, raw = source.take()
            if not fields:
                continue  # a blank line
            if header is None:
                header = [f.strip() for f in fields]
                phone_index = _check_header(result, header, start, raw, agent)
                if phone_index < 0:
                    return result
                required = {c for c in header if c in agent.used and c not in agent.defaults}
                continue
            result.rows += 1
            if result.rows == max_rows + 1:
                result.add(start, 1, "error", f"more than {max_rows:,} recipients (the API's limit); split the file")
            _check_row(result, header, phone_index, required, fields, start, raw, seen)
    except csv.Error as exc:
        result.add(source.consumed, 1, "error", f"not valid CSV: {exc}")
        return result
    if header is None:
        result.add(1, 1, "error", "the file is empty: the first line must be the header, with a phone_number column")
    elif result.rows == 0:
        result.add(1, 1, "error", "no recipients: the file has a header and no rows")
    return result


def _check_header(result: CsvCheck, header: list[str], start: int, raw: str, agent: AgentVariables) -> int:
    """The index of the phone_number column, or -1 when the rows cannot be read."""
    names: dict[str, int] = {}
    for index, column in enumerate(header):
        line, col = _position(start, raw, index)
        if not column:
            result.add(line, col, "error", f"column {index + 1} has no name")
        elif column in names:
            result.add(line, col, "error", f"duplicate column '{column}' (also column {names[column] + 1})")
        names.setdefault(column, index)
        if not column or column == PHONE:
            continue
        if column in OVERRIDE_COLUMNS:
            if agent.overrides is None:
                result.add(
                    line,
                    col,
                    "warning",
                    f"column '{column}' overrides the agent's {column}; the manifest does not list the agent's "
                    "overrides, so the API may refuse it",
                )
            elif column not in agent.overrides:
                result.add(
                    line,
                    col,
                    "error",
                    f"column '{column}': the agent does not allow overriding {column} "
                    f"(add it to the agent's overrides: in the manifest)",
                )
        elif column.startswith("system__"):
            result.add(line, col, "error", f"column '{column}': the system__ prefix is reserved for the platform")
        elif not grammar.is_variable_name(column):
            result.add(line, col, "error", f"column '{column}' is not a dynamic variable name (letters, digits, _ . -)")
        elif column not in agent.known:
            result.add(
                line,
                col,
                "warning",
                f"column '{column}' is not used by the agent's placeholders or messages (it is sent anyway)",
            )
    if PHONE not in names:
        result.add(start, 1, "error", f"no '{PHONE}' column: the header must name one (E.164 numbers)")
        return -1
    return names[PHONE]


def _check_row(
    result: CsvCheck,
    header: list[str],
    phone_index: int,
    required: set[str],
    fields: list[str],
    start: int,
    raw: str,
    seen: dict[str, int],
) -> None:
    if len(fields) != len(header):
        line, col = _position(start, raw, min(len(fields), len(header)))
        result.add(line, col, "error", f"{len(fields)} fields, but the header has {len(header)}")
        return
    phone = fields[phone_index].strip()
    if not phone:
        line, col = _position(start, raw, phone_index)
        result.add(line, col, "error", "empty phone_number")
    elif not grammar.is_e164(phone):
        line, col = _position(start, raw, phone_index)
        result.add(line, col, "error", grammar.e164_problem(phone))
    elif phone in seen:
        line, col = _position(start, raw, phone_index)
        result.add(line, col, "error", f"duplicate phone_number {phone} (first on line {seen[phone]})")
    else:
        seen[phone] = start
    variables: dict[str, str] = {}
    overrides: dict[str, str] = {}
    for index, (column, value) in enumerate(zip(header, fields, strict=True)):
        if index == phone_index or not column:
            continue
        if value == "":
            if column in required:
                line, col = _position(start, raw, index)
                result.add(line, col, "error", f"empty {column}: the agent uses {{{{{column}}}}} and has no default")
            continue
        if column in OVERRIDE_COLUMNS:
            if column == "language" and not LANGUAGE.match(value):
                line, col = _position(start, raw, index)
                result.add(line, col, "error", f"language '{value}' is not a language code (e.g. en, pt-BR)")
            overrides[column] = value
        else:
            variables[column] = value
    if result.error_count == 0:  # once anything is wrong nothing is sent: stop collecting
        result.recipients.append(Recipient(start, phone, variables, overrides))
