"""Render a Plan: Terraform-style text, JSON for machines, Markdown for pull-request comments.

Renderers share one signature, `render_<format>(plan, out, *, mode, ...)`, and write to a file
handle so tests pass a StringIO. The plan holds no secret values, so nothing here can leak one;
sensitive fields are still masked explicitly in every format.
"""

from __future__ import annotations

import html
import json
import os
import re
from importlib import resources
from typing import IO, TYPE_CHECKING, Any, Literal

from rich.console import Console
from rich.text import Text

from provisioner.changes import Change
from provisioner.plan import FORMAT_VERSION, Plan
from provisioner.redact import display_workspace
from provisioner.state import Marker

if TYPE_CHECKING:
    import jinja2

Mode = Literal["plan", "drift"]
MARKER = "<!-- telephony-plan -->"
MARKDOWN_DETAILS_BUDGET = 30_000  # a GitHub comment holds 65,536 characters
MARKDOWN_MAX_ROWS = 150
DRIFT_NOTE = (
    "Without a state file an out-of-band edit and an unapplied manifest change look the same: "
    "drift reports every difference. Run it on the branch that was applied."
)
_SYMBOL = {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "no-op": " "}
_STYLE = {"create": "green", "update": "yellow", "replace": "magenta", "delete": "red", "no-op": "dim"}
_PLAN_WORDS = {
    "create": "will be created",
    "update": "will be updated in-place",
    "replace": "must be replaced",
    "delete": "will be destroyed",
}
_DRIFT_WORDS = {
    "create": "is declared but missing from the workspace",
    "update": "differs from the manifest",
    "replace": "differs in a way that needs a replace",
    "delete": "exists but is not declared (workspace.prune: true)",
}
_FORCES_REPLACE = ("provider", "caller_id_only")
_ACTIONS = {
    "create": ["create"],
    "update": ["update"],
    "replace": ["delete", "create"],
    "delete": ["delete"],
    "no-op": ["no-op"],
}


def printable(text: str) -> str:
    """`text` with control and format characters (ANSI escapes, bidi overrides, C1) shown as \\uXXXX.

    Live values (labels anyone with dashboard access can set) and manifest values reach every
    format; none may move the cursor, recolour the terminal or reorder what a reviewer reads.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)


def value_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Marker):  # a placeholder the tool wrote, never a value from the manifest or API
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


_DRIFT_COUNTS = (
    ("update", "changed"),
    ("replace", "changed, needing a replace"),
    ("create", "missing"),
    ("delete", "extra"),
)


def summary_line(plan: Plan, mode: Mode = "plan") -> str:
    counts = plan.counts()
    if not plan.has_changes:
        return "No changes. The workspace matches the manifest." if mode == "plan" else "No drift."
    if mode == "drift":
        total = len(plan.actionable)
        parts = ", ".join(f"{counts[action]} {words}" for action, words in _DRIFT_COUNTS if counts[action])
        verb = "resource differs" if total == 1 else "resources differ"
        return f"Drift: {total} {verb} from the manifest ({parts})."
    return (
        f"Plan: {counts['create']} to add, {counts['update']} to change, "
        f"{counts['replace']} to replace, {counts['delete']} to destroy."
    )


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Leaf rows of a created or removed value; nulls and empty maps are left out, as Terraform does."""
    if isinstance(value, dict) and value:
        rows = []
        for key, item in value.items():
            if item is None or item == {}:
                continue
            rows += _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return rows
    return [(prefix, value)]


def change_lines(change: Change) -> list[tuple[str, str]]:
    """(symbol, text) lines describing one change's fields."""
    lines: list[tuple[str, str]] = []
    if change.action in ("create", "delete"):
        sign = "+" if change.action == "create" else "-"
        view = change.after if change.action == "create" else change.before
        for path, value in _flatten(view or {}):
            lines.append((sign, f"{path} = {value_text(value)}"))
        for field in change.fields:
            if field.sensitive:
                lines.append((sign, f"{field.path} = (sensitive value, write-only)"))
        return lines
    for field in change.fields:
        if field.sensitive:
            note = f"  # {field.note}" if field.note else ""
            lines.append(("~", f"{field.path} = (sensitive value){note}"))
            continue
        if field.op == "add" or (field.op is None and field.before is None and field.after is not None):
            for path, value in _flatten(field.after, field.path):
                lines.append(("+", f"{path} = {value_text(value)}"))
        elif field.op == "remove" or (field.op is None and field.after is None and field.before is not None):
            for path, value in _flatten(field.before, field.path):
                lines.append(("-", f"{path} = {value_text(value)}"))
        elif field.before is None and isinstance(field.after, dict):
            # A block that was null (e.g. a trunk's inbound side) now set: its rows are additions.
            for path, value in _flatten(field.after, field.path):
                lines.append(("+", f"{path} = {value_text(value)}"))
        elif field.after is None and isinstance(field.before, dict):
            for path, value in _flatten(field.before, field.path):
                lines.append(("-", f"{path} = {value_text(value)}"))
        else:
            forces = "  # forces replacement" if change.action == "replace" and field.path in _FORCES_REPLACE else ""
            text = f"{field.path or '(value)'} = {value_text(field.before)} -> {value_text(field.after)}{forces}"
            lines.append(("~", text))
    return lines


def _heading(change: Change, mode: Mode) -> str:
    words = (_PLAN_WORDS if mode == "plan" else _DRIFT_WORDS)[change.action]
    text = f"# {change.address} {words}"
    if change.reason_text:
        text += f" ({change.reason_text})"
    return text


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich would exit 1 ("error"); let the command decide how a closed pipe ends.
        self.quiet = True
        raise BrokenPipeError


def make_console(out: IO[str], *, color: bool | None = None) -> Console:
    """Colours unless NO_COLOR is set or the stream is not a terminal (rich checks both)."""
    if color is None:
        color = out.isatty() and "NO_COLOR" not in os.environ
    return _Console(file=out, force_terminal=color, no_color=not color, highlight=False, soft_wrap=True, width=200)


class _PlainLines:
    """Without colour, a `Text` is printed as its plain characters and a newline, exactly what
    rich writes for it here (no wrapping: soft_wrap), without rich's layout per line, which took
    5 s of CPU for the 32,000 lines of 2,000 new numbers. Anything else goes to rich as before."""

    def __init__(self, console: Console) -> None:
        self.console, self.out = console, console.file

    @classmethod
    def or_rich(cls, console: Console) -> Console | _PlainLines:
        return console if console.is_terminal else cls(console)

    def print(self, item: Text | str) -> None:
        if isinstance(item, Text):
            self.out.write(item.plain + "\n")
        else:
            self.console.print(item)


def render_text(
    plan: Plan,
    out: IO[str],
    *,
    mode: Mode = "plan",
    blocked: list[str] | None = None,
    color: bool | None = None,
) -> None:
    console = _PlainLines.or_rich(make_console(out, color=color))
    actionable = plan.actionable
    if actionable:
        intro = (
            "telephony will perform the following actions:"
            if mode == "plan"
            else "Live values differ from the manifest:"
        )
        console.print(intro + "\n")
    for change in actionable:
        style = _STYLE[change.action]
        console.print(Text("  " + printable(_heading(change, mode)), style="bold"))
        head = Text(f"  {_SYMBOL[change.action]} ", style=style)
        head.append(printable(f'{change.kind} "{change.name}" {{'), style="")
        console.print(head)
        for warning in change.attention:
            console.print(Text(f"      ! {printable(warning)}", style="bold red"))
        for sign, text in change_lines(change):
            line = Text("      ")
            line.append(sign, style=_STYLE.get({"+": "create", "-": "delete", "~": "update"}.get(sign, "no-op")))
            line.append(" " + printable(text))
            console.print(line)
        for note in change.notes:
            console.print(Text(f"      # {printable(note)}", style="dim"))
        console.print("    }\n")
    if plan.unmanaged:
        console.print(Text("Unmanaged numbers (not in the manifest; never touched):", style="bold"))
        for item in plan.unmanaged:
            row = f"  {item.number}  {json.dumps(item.label)}  {item.provider}  {item.phone_number_id}"
            console.print(Text(printable(row)))  # Text: a value is never read as rich markup
        console.print("")
    notes = list(plan.notes) if actionable else []
    notes += [DRIFT_NOTE] if mode == "drift" else []
    for note in notes:
        console.print(Text(f"Note: {printable(note)}", style="dim"))
    if notes:
        console.print("")
    console.print(Text(summary_line(plan, mode), style="bold"))
    for reason in blocked or []:
        console.print(Text(f"Blocked: {printable(reason)}", style="bold red"))


def plan_json(plan: Plan, *, mode: Mode = "plan", blocked: list[str] | None = None) -> dict[str, Any]:
    """Terraform-like JSON: format_version, resource_changes[] with actions and sensitive masks."""
    changes = []
    for change in plan.changes:
        mask: dict[str, Any] = {}
        for field in change.fields:
            if field.sensitive:
                node = mask
                parts = field.path.split(".")
                for part in parts[:-1]:
                    node = node.setdefault(part, {})
                node[parts[-1]] = True
        changes.append(
            {
                "address": change.address,
                "type": change.kind,
                "name": change.name,
                "change": {
                    "actions": _ACTIONS[change.action],
                    "before": change.before,
                    "after": change.after,
                    "before_sensitive": mask if change.before is not None else False,
                    "after_sensitive": mask if change.after is not None else False,
                },
                "fields": [
                    {
                        "path": f.path,
                        "op": f.op,  # add / remove / change (a null before or after is a value)
                        "before": f.before,
                        "after": f.after,
                        "sensitive": f.sensitive,
                        "note": f.note,
                    }
                    for f in change.fields
                ],
                "reason": change.reason_text,
                "reason_code": change.reason.value,
                "depends_on": list(change.depends_on),
                "notes": list(change.notes),
                "attention": list(change.attention),
            }
        )
    return {
        "format_version": FORMAT_VERSION,
        "mode": mode,
        "resource_changes": changes,
        "unmanaged": [
            {
                "number": u.number,
                "label": u.label,
                "provider": u.provider,
                "phone_number_id": u.phone_number_id,
                "agent_id": u.agent_id,
            }
            for u in plan.unmanaged
        ],
        "summary": plan.counts(),
        "has_changes": plan.has_changes,
        "blocked": list(blocked or []),
        "attention": [f"{c.address}: {text}" for c in plan.actionable for text in c.attention],
        "notes": list(plan.notes) + ([DRIFT_NOTE] if mode == "drift" else []),
        "manifest_digest": plan.manifest_digest,
        "workspace": display_workspace(plan.workspace),
        "checksum": plan.checksum(),
    }


def render_json(plan: Plan, out: IO[str], *, mode: Mode = "plan", blocked: list[str] | None = None) -> None:
    json.dump(plan_json(plan, mode=mode, blocked=blocked), out, indent=2, ensure_ascii=False)
    out.write("\n")


def _template() -> jinja2.Template:
    import jinja2  # only the markdown format needs it

    source = resources.files("provisioner").joinpath("templates/plan.md.j2").read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=False, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    return env.from_string(source)


def _cell(text: str) -> str:
    """Plain table or list text: HTML escaped (a value cannot close `<details>` or open a tag)."""
    return html.escape(printable(text.replace("\n", " ")), quote=False).replace("|", "\\|")


def _code(text: str) -> str:
    """A value shown as code in a table cell: a code span, or <code> when it holds a backtick."""
    text = printable(text.replace("\n", " "))
    if "`" in text:
        return "<code>" + html.escape(text).replace("|", "&#124;") + "</code>"
    return "`" + text.replace("|", "\\|") + "`"


def _fence(blocks: list[str]) -> str:
    """A code fence longer than any run of backticks inside it, so no value can close it."""
    longest = max((len(run) for block in blocks for run in re.findall(r"`+", block)), default=0)
    return "`" * max(3, longest + 1)


def render_markdown(plan: Plan, out: IO[str], *, mode: Mode = "plan", blocked: list[str] | None = None) -> None:
    rows = []
    for change in plan.actionable:
        if change.action in ("create", "delete"):
            fields = "(new)" if change.action == "create" else "(removed)"
        else:
            fields = ", ".join(_code(f.path) for f in change.fields if f.path) or "—"
        rows.append(
            {
                "action": change.action,
                "symbol": _SYMBOL[change.action],
                "address": change.address,
                "fields": fields if change.action not in ("create", "delete") else _cell(fields),
                "address_code": _code(change.address),
                "reason": _cell(change.reason_text or ""),
            }
        )
    details: list[str] = []
    size = 0
    for index, change in enumerate(plan.actionable):
        body = [_heading(change, mode), f'{_SYMBOL[change.action]} {change.kind} "{change.name}" {{']
        body += [f"{sign}     {text}" for sign, text in change_lines(change)]
        body += [f"      # {note}" for note in change.notes]
        body.append("  }")
        block = "\n".join(printable(line) for line in body)
        size += len(block)
        if size > MARKDOWN_DETAILS_BUDGET:
            details.append(f"... {len(plan.actionable) - index} more changes: see `telephony plan` or --format json")
            break
        details.append(block)
    out.write(
        _template().render(
            marker=MARKER,
            mode=mode,
            summary=summary_line(plan, mode),
            rows=rows[:MARKDOWN_MAX_ROWS],
            hidden_rows=max(0, len(rows) - MARKDOWN_MAX_ROWS),
            total=len(rows),
            details=details,
            unmanaged=plan.unmanaged[:MARKDOWN_MAX_ROWS],
            unmanaged_total=len(plan.unmanaged),
            notes=list(plan.notes) + ([DRIFT_NOTE] if mode == "drift" else []),
            blocked=blocked or [],
            attention=[f"{_code(c.address)}: {_cell(text)}" for c in plan.actionable for text in c.attention],
            fence=_fence(details),
            code=_code,
            workspace=display_workspace(plan.workspace),
            cell=_cell,
        )
    )


def render(plan: Plan, out: IO[str], fmt: str, *, mode: Mode = "plan", blocked: list[str] | None = None) -> None:
    if fmt == "json":
        render_json(plan, out, mode=mode, blocked=blocked)
    elif fmt == "markdown":
        render_markdown(plan, out, mode=mode, blocked=blocked)
    else:
        render_text(plan, out, mode=mode, blocked=blocked)
