"""Renderers: Terraform-style text (colour only on a TTY without NO_COLOR), JSON, Markdown."""

from __future__ import annotations

import io
import json

import pytest
import yaml

from provisioner.header import Header
from provisioner.manifest import Manifest
from provisioner.plan import Plan, Secrets
from provisioner.planner import build_plan
from provisioner.render import plan_json, render, render_text
from tests.helpers import live_state

AGENT = "agent_3701k3ttaq12ewp8b7qv5rfyszkz"
TEXT = f"""
version: 1
workspace: {{prune: true, max_deletes: 0}}
agents: {{support: {{id: {AGENT}}}}}
phone_numbers:
  line: {{number: "+14155550100", label: New label, provider: twilio, agent: support,
          twilio: {{account_sid: "${{SID}}", auth_token: "${{TOKEN}}"}}}}
  fresh: {{number: "+14155550101", label: Fresh, provider: twilio,
           twilio: {{account_sid: "${{SID}}", auth_token: "${{TOKEN}}"}}}}
"""


def sample_plan() -> Plan:
    manifest = Manifest.model_validate(yaml.safe_load(TEXT))
    live = [
        {
            "phone_number": "+14155550100",
            "label": "Old label",
            "provider": "twilio",
            "phone_number_id": "phnum_1",
            "assigned_agent": {"agent_id": AGENT, "agent_name": "S"},
        },
        {
            "phone_number": "+14155550999",
            "label": "Stray",
            "provider": "twilio",
            "phone_number_id": "phnum_9",
            "assigned_agent": None,
        },
    ]
    return build_plan(manifest, live_state(live, agents=[AGENT], settings={}))


def test_text_is_terraform_style_without_colour_off_a_tty() -> None:
    out = io.StringIO()
    render_text(sample_plan(), out, blocked=sample_plan().blocked())
    text = out.getvalue()
    assert "\x1b[" not in text
    assert "# phone_number.line will be updated in-place" in text
    assert '~ label = "Old label" -> "New label"' in text
    assert "# phone_number.fresh will be created" in text
    assert "+ twilio.credentials = (sensitive value, write-only)" in text
    assert '# phone_number["+14155550999"] will be destroyed' in text
    assert "never touched" not in text  # planned for deletion, so not listed as never touched
    assert "Plan: 1 to add, 1 to change, 0 to replace, 1 to destroy." in text
    assert "Blocked: 1 phone number deletion(s) exceed workspace.max_deletes (0)" in text
    assert "Twilio credentials are write-only" in text


def test_colour_when_asked_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    render_text(sample_plan(), out, color=True)
    assert "\x1b[" in out.getvalue()

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("NO_COLOR", "1")
    tty = Tty()
    render_text(sample_plan(), tty)
    assert "\x1b[" not in tty.getvalue()


def test_no_changes_sentence() -> None:
    empty = Plan(changes=[])
    out = io.StringIO()
    render_text(empty, out)
    assert out.getvalue().strip() == "No changes. The workspace matches the manifest."


def test_json_has_terraform_like_shape() -> None:
    out = io.StringIO()
    render(sample_plan(), out, "json")
    data = json.loads(out.getvalue())
    assert data["format_version"] == "1.3"
    by_address = {c["address"]: c for c in data["resource_changes"]}
    assert by_address["phone_number.line"]["change"]["actions"] == ["update"]
    assert by_address['phone_number["+14155550999"]']["change"]["actions"] == ["delete"]
    assert by_address["phone_number.fresh"]["change"]["after_sensitive"] == {"twilio": {"credentials": True}}
    # Planned for deletion (workspace.prune), so not also listed as "unmanaged, never touched".
    assert data["unmanaged"] == []
    assert data["summary"] == {"create": 1, "update": 1, "replace": 0, "delete": 1, "no-op": 1}


def test_json_blocked_entries_are_objects_naming_rule_and_address() -> None:
    plan = sample_plan()
    data = plan_json(plan, blocked=plan.blocked())
    assert data["blocked"] == [
        {
            "address": None,  # max_deletes concerns every delete, not one
            "rule": "max_deletes",
            "message": "1 phone number deletion(s) exceed workspace.max_deletes (0); "
            "re-run with --allow-deletes to delete them",
        }
    ]
    assert plan_json(plan, blocked=plan.blocked(allow_deletes=True))["blocked"] == []


def test_secrets_listing_in_every_format_and_never_in_drift() -> None:
    plan = sample_plan()
    plan.secrets = Secrets(needed=("SID", "TOKEN"), unset=("TOKEN",))
    data = plan_json(plan)
    assert data["secrets"] == {"needed": ["SID", "TOKEN"], "unset": ["TOKEN"]}
    assert "secrets" not in plan_json(plan, mode="drift")
    text, markdown, drift = io.StringIO(), io.StringIO(), io.StringIO()
    render_text(plan, text)
    render(plan, markdown, "markdown")
    render_text(plan, drift, mode="drift")
    assert "Secrets apply needs: SID, TOKEN.\nUnset here: TOKEN (apply refuses until they are set)." in text.getvalue()
    assert "- Unset here: TOKEN (apply refuses until they are set)." in markdown.getvalue()
    assert "Secrets" not in drift.getvalue()
    # Not computed (a library user's plan, an old plan file): the JSON says nothing is needed.
    plan.secrets = None
    assert plan_json(plan)["secrets"] == {"needed": [], "unset": []}


def test_markdown_has_marker_table_and_folded_details() -> None:
    out = io.StringIO()
    render(sample_plan(), out, "markdown", blocked=sample_plan().blocked())
    md = out.getvalue()
    assert md.splitlines()[0] == "<!-- telephony:plan env=default manifest=telephony.yaml -->"
    assert md.splitlines()[0] == Header().marker("plan")
    assert "| Action | Resource | Changed fields | Reason |" in md
    assert "| `~` update | `phone_number.line` | `label` |" in md
    assert "<details><summary>Details (3 changes)</summary>" in md
    assert "**Blocked by a safety rule:**" in md


def test_drift_mode_words() -> None:
    out = io.StringIO()
    render(sample_plan(), out, "text", mode="drift")
    assert "differs from the manifest" in out.getvalue()
    assert "look the same" in out.getvalue()


@pytest.mark.slow
def test_markdown_stays_under_a_comment_size_for_big_plans() -> None:
    lines = ["version: 1", "phone_numbers:"]
    for i in range(2000):
        lines.append(
            f"  n{i}: {{number: '+1415900{i:04d}', label: 'Line {i}', provider: twilio, "
            "twilio: {account_sid: '${SID}', auth_token: '${TOKEN}'}}"
        )
    manifest = Manifest.model_validate(yaml.safe_load("\n".join(lines)))
    plan = build_plan(manifest, live_state(settings={}))
    out = io.StringIO()
    render(plan, out, "markdown")
    assert len(out.getvalue()) < 65_536
    assert "more changes: see `telephony plan`" in out.getvalue()


def one_number_plan(live_agent: dict[str, str] | None, label: str = "New label") -> Plan:
    manifest = Manifest.model_validate(yaml.safe_load(TEXT.replace("prune: true", "prune: false")))
    manifest.phone_numbers.pop("fresh")
    live = {
        "phone_number": "+14155550100",
        "label": label,
        "provider": "twilio",
        "phone_number_id": "phnum_1",
        "assigned_agent": live_agent,
    }
    return build_plan(manifest, live_state([live], agents=[AGENT], settings={}))


def test_an_unassigned_agent_is_a_change_of_value_and_drift_is_worded_as_drift() -> None:
    plan = one_number_plan(None)
    out = io.StringIO()
    render_text(plan, out, mode="drift")
    text = out.getvalue()
    assert '~ agent = null -> "support"' in text
    assert "+ agent" not in text
    assert "Drift: 1 resource differs from the manifest (1 changed)." in text
    assert "to add" not in text
    markdown = io.StringIO()
    render(plan, markdown, "markdown", mode="drift")
    assert '~     agent = null -> "support"' in markdown.getvalue()
    assert "Drift: 1 resource differs from the manifest (1 changed)." in markdown.getvalue()
    data = json.loads(_json(plan, "drift"))
    [field] = [f for c in data["resource_changes"] for f in c["fields"]]
    assert (field["path"], field["before"], field["after"], field["op"]) == ("agent", None, "support", "change")


def test_drift_summary_names_missing_and_extra_resources() -> None:
    out = io.StringIO()
    render_text(sample_plan(), out, mode="drift")
    assert "Drift: 3 resources differ from the manifest (1 changed, 1 missing, 1 extra)." in out.getvalue()


def test_write_only_notes_only_when_what_they_concern_changes() -> None:
    assigned = {"agent_id": AGENT, "agent_name": "S"}
    assert not one_number_plan(assigned, label="Old label").notes  # a label change sends no credentials
    assert not one_number_plan(None).notes
    notes = sample_plan().notes  # imports a Twilio number: its credentials are sent
    assert len(notes) == 1 and "Twilio credentials are write-only" in notes[0]
    out = io.StringIO()
    render_text(one_number_plan(assigned, label="Old label"), out)
    assert "Note:" not in out.getvalue()


def _json(plan: Plan, mode: str) -> str:
    out = io.StringIO()
    render(plan, out, "json", mode=mode)  # type: ignore[arg-type]
    return out.getvalue()


def test_a_new_webhook_host_stands_out_in_every_format() -> None:
    text = TEXT.replace(
        "version: 1\n",
        'version: 1\npre_call_webhook: {url: "https://evil.example/x", headers: {Authorization: "${T}"}}\n',
        1,
    )
    manifest = Manifest.model_validate(yaml.safe_load(text))
    hook = {"url": "https://crm.example.com/hook", "request_headers": {}}
    plan = build_plan(
        manifest, live_state([], agents=[AGENT], settings={"conversation_initiation_client_data_webhook": hook})
    )
    expected = "sends to a new host: evil.example (was crm.example.com); its headers Authorization carry stored secrets"
    for fmt in ("text", "markdown", "json"):
        out = io.StringIO()
        render(plan, out, fmt)
        assert expected in out.getvalue(), fmt
    out = io.StringIO()
    render(plan, out, "json")
    assert json.loads(out.getvalue())["attention"][0].startswith("workspace.pre_call_webhook: the workspace pre-call")


def test_hostile_live_values_are_escaped_in_every_format() -> None:
    label = "x</details>\x1b[31m[red]FAKE[/red]\u202e|```\n+ agent.support will be created"
    manifest = Manifest.model_validate(yaml.safe_load(TEXT))
    live = [
        {
            "phone_number": "+14155550999",
            "label": label,
            "provider": "twilio",
            "phone_number_id": "phnum_`9`",
            "assigned_agent": None,
        }
    ]
    plan = build_plan(manifest, live_state(live, agents=[AGENT], settings={}))
    assert any(c.action == "delete" for c in plan.actionable)  # the hostile label is shown
    text, md = io.StringIO(), io.StringIO()
    render_text(plan, text)
    render(plan, md, "markdown")
    for out in (text.getvalue(), md.getvalue()):
        assert "\x1b" not in out and "\u202e" not in out
    assert "\\u001b" in text.getvalue() and "[red]FAKE[/red]" in text.getvalue()  # shown, not interpreted
    markdown = md.getvalue()
    fence = markdown.split("<details><summary>Details", 1)[1].split("\n")[2]
    assert fence.startswith("````") and fence.endswith("diff")  # longer than the ``` in the label
    marker = fence.removesuffix("diff")
    before, code, after = (
        markdown.split(marker)[0],
        marker.join(markdown.split(marker)[1:-1]),
        markdown.split(marker)[-1],
    )
    assert label.splitlines()[0].split("</details>")[0] in code  # the label is shown inside the fence only
    assert (before + after).count("</details>") == 1  # outside it, only the template's own
    assert "<code>phnum_`9`</code>" not in markdown  # escaped inside <code>
    assert "<code>phnum_&#x60;9&#x60;</code>" in markdown or "phnum_`9`" not in markdown.split("```")[0]


def test_identity_lines_show_only_what_ci_gave_and_never_as_markup() -> None:
    def markdown(header: Header) -> list[str]:
        out = io.StringIO()
        render(sample_plan(), out, "markdown", header=header)
        return out.getvalue().splitlines()

    bare = markdown(Header())
    assert not any(line.startswith(("Commit", "[CI run]")) for line in bare)
    sha = "0123456789abcdef0123456789abcdef01234567"
    lines = markdown(Header(commit=sha, run_url="https://ci.example.com/r/1"))
    assert f"Commit {sha} · [CI run](https://ci.example.com/r/1)" in lines
    # A value that is not a SHA or a plain http(s) URL is shown as code, never as a link or HTML.
    odd = markdown(Header(commit="<b>x</b>", run_url="javascript:alert(1)"))
    assert "Commit `<b>x</b>` · CI run `javascript:alert(1)`" in odd
    hostile = markdown(Header(run_url="https://x.example/a) [y](https://evil.example"))
    assert "CI run `https://x.example/a) [y](https://evil.example`" in hostile
