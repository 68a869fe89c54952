"""A trunk edit shared by many numbers is shown once (text, markdown); JSON keeps every number's change."""

from __future__ import annotations

import io
import json
from pathlib import Path

from provisioner.grouping import TrunkGroup, review_items
from provisioner.manifest import Manifest
from provisioner.planfile import PlanFile, dumps, read
from provisioner.planner import build_plan
from provisioner.render import GROUP_NUMBERS_SHOWN, render, render_text
from tests.helpers import live_state
from tests.trunk_plans import live_number, manifest, number, trunk_plan

ADDRESS_LINE = 'trunk.outbound.address = "old-pbx.example.com" -> "pbx.example.com"'


def _out(plan: object, fmt: str, **kwargs: object) -> str:
    out = io.StringIO()
    render(plan, out, fmt, **kwargs)  # type: ignore[arg-type]
    return out.getvalue()


def test_text_shows_the_trunk_change_once_with_its_numbers_cut_after_a_count() -> None:
    count = GROUP_NUMBERS_SHOWN + 3
    text = _out(trunk_plan(count), "text")
    assert text.count(ADDRESS_LINE) == 1, text
    assert f"# sip_trunks.pbx will be updated in-place on {count} numbers" in text
    listed = [line.strip() for line in text.splitlines() if line.strip().startswith("#   phone_number.")]
    assert len(listed) == GROUP_NUMBERS_SHOWN
    assert f"#   phone_number.line-0 ({number(0)})" in listed[0]
    assert "#   … and 3 more" in text
    assert f"Plan: 0 to add, {count} to change, 0 to replace, 0 to destroy." in text  # counts stay per number


def test_markdown_has_one_row_and_one_block_for_the_shared_change() -> None:
    count = GROUP_NUMBERS_SHOWN + 1
    md = _out(trunk_plan(count), "markdown")
    rows = [line for line in md.splitlines() if line.startswith("| `~` update")]
    assert len(rows) == 1 and "`sip_trunks.pbx` on 11 numbers" in rows[0] and "… and 1 more" in rows[0]
    assert md.count(ADDRESS_LINE) == 1
    assert "<details><summary>Details (11 changes)</summary>" in md


def test_json_keeps_one_change_per_number_each_naming_its_trunk() -> None:
    data = json.loads(_out(trunk_plan(4, twilio=True), "json"))
    updates = [c for c in data["resource_changes"] if c["change"]["actions"] == ["update"]]
    assert sorted(c["address"] for c in updates) == [f"phone_number.line-{i}" for i in range(4)]
    assert {c["trunk"] for c in updates} == {"pbx"}
    for change in updates:
        assert {f["path"] for f in change["fields"]} == {"trunk.outbound.address", "trunk.outbound.transport"}
    [twilio] = [c for c in data["resource_changes"] if c["address"] == "phone_number.front-desk"]
    assert twilio["trunk"] is None


def test_a_number_s_own_fields_stay_under_it_and_a_number_drifted_its_own_way_is_not_folded_in() -> None:
    live = [live_number(0), live_number(1, label="Renamed"), live_number(2, address="10.0.0.9")]
    plan = trunk_plan(3, live)
    items = review_items(plan)
    [group] = [item for item in items if isinstance(item, TrunkGroup)]
    assert [c.address for c in group.members] == ["phone_number.line-0", "phone_number.line-1"]
    text = _out(plan, "text")
    block = text.split("# phone_number.line-1 will be updated in-place")[1].split("}")[0]
    assert '~ label = "Renamed" -> "Line 1"' in block and "trunk." not in block
    assert "# and the sip_trunks.pbx change shown above" in block
    assert 'trunk.outbound.address = "10.0.0.9" -> "pbx.example.com"' in text  # line-2: its own block
    assert text.count(ADDRESS_LINE) == 1


def test_one_number_on_a_trunk_is_a_plain_number_update() -> None:
    plan = trunk_plan(1)
    assert not any(isinstance(item, TrunkGroup) for item in review_items(plan))
    text = _out(plan, "text")
    assert "# phone_number.line-0 will be updated in-place" in text and "sip_trunks." not in text


def test_a_saved_plan_shows_the_same_grouping(tmp_path: Path) -> None:
    plan = trunk_plan(3)
    saved = tmp_path / "p.json"
    saved.write_text(dumps(PlanFile(plan, "telephony.yaml")))
    again = read(saved).plan
    assert again.number_trunks == {f"phone_number.line-{i}": "pbx" for i in range(3)}
    first, second = io.StringIO(), io.StringIO()
    render_text(plan, first)
    render_text(again, second)
    assert first.getvalue() == second.getvalue() and first.getvalue().count(ADDRESS_LINE) == 1


def test_drift_says_which_way_its_arrows_read() -> None:
    text = _out(trunk_plan(2), "text", mode="drift")
    assert text.startswith("Live values differ from the manifest. Arrows read live -> manifest")
    assert "# sip_trunks.pbx differs from the manifest on 2 numbers" in text
    md = _out(trunk_plan(2), "markdown", mode="drift")
    assert "Arrows (`->`) read live → manifest" in md
    clean = _out(trunk_plan(0), "markdown", mode="drift")  # no arrows, no sentence about them
    assert "Arrows" not in clean and "No drift." in clean


def test_footnotes_are_separate_paragraphs() -> None:
    md = _out(trunk_plan(1, twilio=True, live=[live_number(0)]), "markdown", mode="drift")
    quoted = [line for line in md.splitlines() if line.startswith("> ")]
    assert len(quoted) == 2  # the Twilio note and the drift note
    assert f"{quoted[0]}\n\n{quoted[1]}" in md


def test_a_hostile_trunk_name_is_escaped_in_the_table_and_fenced_in_the_details() -> None:
    name = "x`|</details>\u202e"
    body = manifest(2).model_dump(exclude_unset=True)
    body["sip_trunks"] = {name: body["sip_trunks"]["pbx"]}
    for entry in body["phone_numbers"].values():
        entry["sip_trunk"] = name
    plan = build_plan(Manifest.model_validate(body), live_state([live_number(0), live_number(1)], settings={}))
    md = _out(plan, "markdown")
    assert "\u202e" not in md
    [row] = [line for line in md.splitlines() if line.startswith("| `~` update")]
    assert "<code>sip_trunks.x`&#124;&lt;/details&gt;\\u202e</code> on 2 numbers" in row
    outside = md.split("```diff")[0] + md.split("```diff")[1].split("\n```\n")[1]
    assert outside.count("</details>") == 1  # the template's own
