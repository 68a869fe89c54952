"""Render a Plan: Terraform-style text, JSON for machines, Markdown for pull-request comments.

Renderers share one signature, `render_<format>(plan, out, *, mode, ...)`, and write to a file
handle so tests pass a StringIO. The plan holds no secret values, so nothing here can leak one;
sensitive fields are still masked explicitly in every format.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import IO, TYPE_CHECKING, Any, Literal

from rich.console import Console
from rich.text import Text

from provisioner import colour
from provisioner.changes import Change
from provisioner.grouping import Item, TrunkGroup, review_items
from provisioner.header import Header
from provisioner.plan import FORMAT_VERSION, Blocked, Plan
from provisioner.redact import display_workspace
from provisioner.state import Marker

if TYPE_CHECKING:
    import jinja2

Mode = Literal["plan", "drift"]
MARKDOWN_DETAILS_BUDGET = 30_000  # a GitHub comment holds 65,536 characters
MARKDOWN_MAX_ROWS = 150
GROUP_NUMBERS_SHOWN = 10  # numbers listed under a shared trunk change before "… and N more"
# Drift compares the workspace (before) with the manifest (after): say so where the arrows are read.
DRIFT_ARROWS = "Arrows read live -> manifest: the workspace's value, then the value the manifest declares."
DRIFT_ARROWS_MARKDOWN = (
    "Arrows (`->`) read live → manifest: the workspace's value, then the value the manifest declares."
)
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


@dataclass(frozen=True)
class _Block:
    """One change (or one shared trunk change) as text and markdown show it."""

    heading: str  # `# ADDRESS will be ...`
    action: str
    opener: str  # `kind "name" {`
    lines: list[tuple[str, str]]  # (symbol, text) per field
    comments: list[str]  # shown after the fields as `# ...`: notes, the numbers a trunk change lands on
    attention: list[str]


def _first_numbers(numbers: list[str]) -> list[str]:
    """The numbers a shared trunk change lands on, cut after GROUP_NUMBERS_SHOWN (text and markdown)."""
    shown = numbers[:GROUP_NUMBERS_SHOWN]
    if len(numbers) > GROUP_NUMBERS_SHOWN:
        shown.append(f"… and {len(numbers) - GROUP_NUMBERS_SHOWN} more")
    return shown


def _numbers_listed(group: TrunkGroup) -> list[str]:
    numbers = group.numbers()
    return [f"on {len(numbers)} numbers:", *(f"  {number}" for number in _first_numbers(numbers))]


def _block(item: Item, mode: Mode) -> _Block:
    if isinstance(item, TrunkGroup):
        words = "will be updated in-place" if mode == "plan" else "differs from the manifest"
        shared = item.members[0].model_copy(update={"fields": item.fields})
        return _Block(
            f"# {item.address} {words} on {len(item.members)} numbers (each number is one change)",
            "update",
            f'sip_trunk "{item.trunk}" {{',
            change_lines(shared),
            [*item.notes, *_numbers_listed(item)],
            [],
        )
    return _Block(
        _heading(item, mode),
        item.action,
        f'{item.kind} "{item.name}" {{',
        change_lines(item),
        list(item.notes),
        list(item.attention),
    )


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich would exit 1 ("error"); let the command decide how a closed pipe ends.
        self.quiet = True
        raise BrokenPipeError


def make_console(out: IO[str], *, color: bool | None = None) -> Console:
    """Colours as `provisioner.colour` decides (--no-color, NO_COLOR, FORCE_COLOR, a terminal)."""
    if color is None:
        color = colour.enabled(out)
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
    blocked: list[Blocked] | None = None,
    color: bool | None = None,
) -> None:
    console = _PlainLines.or_rich(make_console(out, color=color))
    actionable = plan.actionable
    if actionable:
        intro = (
            "telephony will perform the following actions:"
            if mode == "plan"
            else f"Live values differ from the manifest. {DRIFT_ARROWS}"
        )
        console.print(intro + "\n")
    for entry in review_items(plan):
        block = _block(entry, mode)
        console.print(Text("  " + printable(block.heading), style="bold"))
        head = Text(f"  {_SYMBOL[block.action]} ", style=_STYLE[block.action])
        head.append(printable(block.opener), style="")
        console.print(head)
        for warning in block.attention:
            console.print(Text(f"      ! {printable(warning)}", style="bold red"))
        for sign, text in block.lines:
            line = Text("      ")
            line.append(sign, style=_STYLE.get({"+": "create", "-": "delete", "~": "update"}.get(sign, "no-op")))
            line.append(" " + printable(text))
            console.print(line)
        for comment in block.comments:
            console.print(Text(f"      # {printable(comment)}", style="dim"))
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
    for secret_line in secrets_lines(plan, mode):
        console.print(Text(printable(secret_line), style="bold red" if secret_line.startswith("Unset") else ""))
    for reason in blocked or []:
        console.print(Text(f"Blocked: {printable(reason.message)}", style="bold red"))


def secrets_lines(plan: Plan, mode: Mode = "plan") -> list[str]:
    """The `${VAR}`s apply will need, and those unset where the plan ran (names only, never values)."""
    if mode != "plan" or plan.secrets is None or not plan.secrets.needed:
        return []
    needed = ", ".join(plan.secrets.needed)
    if plan.sandbox:
        return [f"Secrets apply needs: {needed} (the sandbox sends dummy values)."]
    lines = [f"Secrets apply needs: {needed}."]
    if plan.secrets.unset:
        lines.append(f"Unset here: {', '.join(plan.secrets.unset)} (apply refuses until they are set).")
    return lines


def plan_json(plan: Plan, *, mode: Mode = "plan", blocked: list[Blocked] | None = None) -> dict[str, Any]:
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
                "trunk": plan.number_trunks.get(change.address),  # the grouping key of a shared trunk change
                "notes": list(change.notes),
                "attention": list(change.attention),
            }
        )
    listing = plan.secrets
    secrets = {"needed": list(listing.needed), "unset": list(listing.unset)} if listing else {"needed": [], "unset": []}
    return {
        "format_version": FORMAT_VERSION,
        "mode": mode,
        **({"secrets": secrets} if mode == "plan" else {}),  # drift applies nothing, so needs none
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
        "blocked": [{"address": b.address, "rule": b.rule, "message": b.message} for b in blocked or []],
        "attention": [f"{c.address}: {text}" for c in plan.actionable for text in c.attention],
        "notes": list(plan.notes) + ([DRIFT_NOTE] if mode == "drift" else []),
        "manifest_digest": plan.manifest_digest,
        "workspace": display_workspace(plan.workspace),
        "checksum": plan.checksum(),
    }


def render_json(plan: Plan, out: IO[str], *, mode: Mode = "plan", blocked: list[Blocked] | None = None) -> None:
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


_SHA = re.compile(r"[0-9a-fA-F]{7,64}")
_URL = re.compile(r"https?://[^\s<>()\[\]`\\]+")


def _identity(header: Header) -> str:
    """`Commit SHA · [CI run](URL)`: a bare SHA (GitHub links it), either left out when not given."""
    parts = []
    if header.commit:
        sha = header.commit
        parts.append(f"Commit {sha}" if _SHA.fullmatch(sha) else f"Commit {_code(sha)}")
    if header.run_url:
        url = header.run_url
        parts.append(f"[CI run]({url})" if _URL.fullmatch(url) else f"CI run {_code(url)}")
    return " · ".join(parts)


def _markdown_row(item: Item) -> dict[str, str]:
    if isinstance(item, TrunkGroup):
        numbers = [_code(change.address) for change in item.members]
        shown = ", ".join(_first_numbers(numbers))
        return {
            "action": "update",
            "symbol": _SYMBOL["update"],
            "address_code": f"{_code(item.address)} on {len(numbers)} numbers: {shown}",
            "fields": ", ".join(_code(f.path) for f in item.fields),
            "reason": "one trunk change, shared by these numbers",
        }
    change = item
    if change.action in ("create", "delete"):
        fields = _cell("(new)" if change.action == "create" else "(removed)")
    else:
        fields = ", ".join(_code(f.path) for f in change.fields if f.path) or "—"
    return {
        "action": change.action,
        "symbol": _SYMBOL[change.action],
        "address_code": _code(change.address),
        "fields": fields,
        "reason": _cell(change.reason_text or ""),
    }


def _changes_in(items: list[Item]) -> int:
    return len({c.address for item in items for c in (item.members if isinstance(item, TrunkGroup) else [item])})


def render_markdown(
    plan: Plan,
    out: IO[str],
    *,
    mode: Mode = "plan",
    blocked: list[Blocked] | None = None,
    header: Header | None = None,
) -> None:
    """A pull-request comment; its first line is `header`'s marker (docs/pr-comments.md)."""
    header = header or Header()
    items = review_items(plan)
    rows = [_markdown_row(item) for item in items]
    details: list[str] = []
    size = 0
    for index, item in enumerate(items):
        block = _block(item, mode)
        body = [block.heading, f"{_SYMBOL[block.action]} {block.opener}"]
        body += [f"{sign}     {text}" for sign, text in block.lines]
        body += [f"      # {comment}" for comment in block.comments]
        body.append("  }")
        text = "\n".join(printable(line) for line in body)
        size += len(text)
        if size > MARKDOWN_DETAILS_BUDGET:
            details.append(f"... {_changes_in(items[index:])} more changes: see `telephony plan` or --format json")
            break
        details.append(text)
    out.write(
        _template().render(
            marker=header.marker(mode),
            mode=mode,
            env=_code(header.env_name),
            manifest=_code(header.manifest),
            identity=_identity(header),
            warnings=[_cell(w) for w in header.warnings],
            arrows=DRIFT_ARROWS_MARKDOWN if mode == "drift" and plan.has_changes else "",
            summary=summary_line(plan, mode),
            rows=rows[:MARKDOWN_MAX_ROWS],
            hidden_rows=max(0, len(rows) - MARKDOWN_MAX_ROWS),
            total=len(plan.actionable),
            details=details,
            unmanaged=plan.unmanaged[:MARKDOWN_MAX_ROWS],
            unmanaged_total=len(plan.unmanaged),
            notes=list(plan.notes) + ([DRIFT_NOTE] if mode == "drift" else []),
            blocked=[b.message for b in blocked or []],
            secrets=secrets_lines(plan, mode),
            attention=[f"{_code(c.address)}: {_cell(text)}" for c in plan.actionable for text in c.attention],
            fence=_fence(details),
            code=_code,
            workspace=display_workspace(plan.workspace),
            cell=_cell,
        )
    )


def render(
    plan: Plan,
    out: IO[str],
    fmt: str,
    *,
    mode: Mode = "plan",
    blocked: list[Blocked] | None = None,
    header: Header | None = None,
) -> None:
    """`header` (whose comment this is) is shown by the markdown format only."""
    if fmt == "json":
        render_json(plan, out, mode=mode, blocked=blocked)
    elif fmt == "markdown":
        render_markdown(plan, out, mode=mode, blocked=blocked, header=header)
    else:
        render_text(plan, out, mode=mode, blocked=blocked)
