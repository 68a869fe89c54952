"""Text output without colour skips rich's layout per line: byte for byte what rich printed."""

from __future__ import annotations

import io

import pytest
import yaml

from provisioner import render
from provisioner.manifest import Manifest
from provisioner.plan import Plan
from provisioner.planner import build_plan
from tests.helpers import live_state

AGENT = "agent_3701k3ttaq12ewp8b7qv5rfyszkz"
# Labels rich could lay out differently: longer than the 200-column console, wide and combining
# characters, emoji codes, markup-like brackets, trailing and repeated spaces, escapes.
LABELS = [
    "x" * 250 + " end",
    "東京オフィス 📞 line",
    "e\u0301 combining",
    ":smile: :telephone:",
    "[bold]not bold[/bold] [link=x]y[/link]",
    "trailing   ",
    "  leading and  double  spaces",
    "tab\there\x1b[31m red \u202e",
]
MANIFEST = f"""
version: 1
workspace: {{prune: true, max_deletes: 0}}
agents: {{support: {{id: {AGENT}}}}}
phone_numbers:
""" + "".join(
    f'  n{i}: {{number: "+1415555{i:04d}", label: {label!r}, provider: twilio, agent: support,\n'
    f'        twilio: {{account_sid: "${{SID}}", auth_token: "${{TOKEN}}"}}}}\n'
    for i, label in enumerate(LABELS)
)


def plans() -> list[Plan]:
    manifest = Manifest.model_validate(yaml.safe_load(MANIFEST))
    live = [
        {
            "phone_number": f"+1415555{i:04d}",
            "label": label[::-1],
            "provider": "twilio",
            "phone_number_id": f"phnum_{i}",
            "assigned_agent": {"agent_id": AGENT, "agent_name": "S"},
        }
        for i, label in enumerate(LABELS[:4])
    ]
    live += [
        {
            "phone_number": "+14155559999",
            "label": label,
            "provider": "twilio",
            "phone_number_id": "phnum_[9]",
            "assigned_agent": None,
        }
        for label in LABELS[4:5]
    ]
    pruning = build_plan(manifest, live_state(live, agents=[AGENT], settings={}))
    manifest = Manifest.model_validate(yaml.safe_load(MANIFEST.replace("prune: true", "prune: false")))
    listing = build_plan(manifest, live_state(live, agents=[AGENT], settings={}))
    return [pruning, listing, build_plan(manifest, live_state(live[:4], agents=[AGENT], settings={}))]


def rendered(plan: Plan, **options: object) -> str:
    out = io.StringIO()
    render.render_text(plan, out, **options)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.mark.parametrize("mode", ["plan", "drift"])
def test_plain_lines_are_what_rich_prints(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for plan in plans():
        options = {"mode": mode, "blocked": plan.blocked(), "color": False}
        plain = rendered(plan, **options)
        with monkeypatch.context() as patch:
            patch.setattr(render._PlainLines, "or_rich", staticmethod(lambda console: console))
            assert rendered(plan, **options) == plain
        assert plan.actionable and "[bold]not bold[/bold]" in plain and "\x1b" not in plain


def test_colour_still_goes_through_rich() -> None:
    assert "\x1b[" in rendered(plans()[0], color=True)
