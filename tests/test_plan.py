"""Planning: ownership, replace, prune safety, ordering, targets, plan files and staleness."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioner.api.live import LiveState
from provisioner.errors import StalePlan
from provisioner.manifest import Manifest
from provisioner.planfile import PlanFile, PlanFileError, read, staleness, write
from provisioner.planner import Options, UnknownTarget, build_plan
from tests.helpers import live_state

AGENT = "agent_3701k3ttaq12ewp8b7qv5rfyszkz"
BASE = f"""
version: 1
pre_call_webhook: {{url: https://crm.example.com/hook, headers: {{Authorization: "Bearer ${{TOKEN}}"}}}}
agents:
  support: {{id: {AGENT}, pre_call_webhook: true, dynamic_variables: {{name: there}}}}
sip_trunks:
  pbx: {{outbound: {{address: pbx.example.com, transport: tls, credentials: {{username: u, password: "${{PW}}"}}}}}}
phone_numbers:
  line: {{number: "+14155550100", label: Line, provider: twilio, agent: support,
          twilio: {{account_sid: "${{SID}}", auth_token: "${{TOKEN}}"}}}}
  pbx-line: {{number: "+14155550101", label: PBX, provider: sip_trunk, sip_trunk: pbx, agent: support}}
"""


def manifest(text: str = BASE, **workspace: Any) -> Manifest:
    data = yaml.safe_load(text)
    if workspace:
        data["workspace"] = workspace
    return Manifest.model_validate(data)


def live_number(number: str, provider: str = "twilio", **extra: Any) -> dict[str, Any]:
    return {
        "phone_number": number,
        "label": "Line",
        "provider": provider,
        "phone_number_id": f"phnum_{number[-3:]}",
        "supports_inbound": True,
        "assigned_agent": {"agent_id": AGENT, "agent_name": "S"},
        **extra,
    }


def state(*numbers: dict[str, Any]) -> LiveState:
    return live_state(numbers, agents=[AGENT], settings={})


def test_fresh_workspace_plans_creates_in_apply_order() -> None:
    plan = build_plan(manifest(), state())
    order = [(c.address, c.action) for c in plan.actionable]
    assert order == [
        ("secret.telephony:workspace:Authorization", "create"),
        ("workspace.pre_call_webhook", "update"),
        ("phone_number.line", "create"),
        ("phone_number.pbx-line", "create"),
        ("agent.support", "update"),
    ]
    agent = plan.change("agent.support")
    assert agent is not None and "workspace.pre_call_webhook" in agent.depends_on
    webhook = plan.change("workspace.pre_call_webhook")
    assert webhook is not None and webhook.depends_on == ("secret.telephony:workspace:Authorization",)


def test_no_secret_value_in_a_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TOKEN", "PW", "SID"):
        monkeypatch.setenv(name, f"value-of-{name}-9f8e")
    blob = json.dumps(PlanFile(build_plan(manifest(), state(), Options(rotate_secrets=True)), "t.yaml").to_dict())
    assert "9f8e" not in blob  # planning never resolves a reference
    assert "(sensitive)" in blob


def test_undeclared_numbers_are_unmanaged_unless_prune() -> None:
    other = live_number("+14155550999")
    plan = build_plan(manifest(), state(other))
    assert [u.number for u in plan.unmanaged] == ["+14155550999"]
    assert not plan.number_deletes() and not plan.blocked()
    pruned = build_plan(manifest(prune=True, max_deletes=0), state(other))
    assert [c.address for c in pruned.number_deletes()] == ['phone_number["+14155550999"]']
    assert pruned.actionable[-1].action == "delete"  # deletes last
    assert "max_deletes" in pruned.blocked()[0].message
    assert pruned.blocked(allow_deletes=True) == []
    assert build_plan(manifest(prune=True, max_deletes=1), state(other)).blocked() == []


def test_provider_change_and_rotation_are_replaces() -> None:
    as_sip = live_number("+14155550100", provider="sip_trunk", livekit_stack="standard")
    plan = build_plan(manifest(), state(as_sip))
    line = plan.change("phone_number.line")
    assert line is not None and line.action == "replace" and "provider" in (line.reason_text or "")
    assert any("--allow-replace" in r.message for r in plan.blocked())
    assert plan.blocked(allow_replace=True) == []
    rotated = build_plan(manifest(), state(live_number("+14155550100")), Options(rotate_secrets=True))
    line = rotated.change("phone_number.line")
    assert line is not None and line.action == "replace" and "Twilio credentials" in (line.reason_text or "")


def test_an_omitted_agent_is_not_managed() -> None:
    text = BASE.replace("label: Line, provider: twilio, agent: support,", "label: Line, provider: twilio,")
    unassigned = live_number("+14155550100", assigned_agent=None)
    plan = build_plan(manifest(text), state(unassigned))
    line = plan.change("phone_number.line")
    assert line is not None and line.action == "no-op"
    explicit = build_plan(manifest(BASE.replace("agent: support,", "agent: null,")), state(live_number("+14155550100")))
    line = explicit.change("phone_number.line")
    assert line is not None and [f.path for f in line.fields] == ["agent"]


def test_targets_keep_dependencies() -> None:
    plan = build_plan(manifest(), state(), Options(targets=("workspace.pre_call_webhook",)))
    assert [c.address for c in plan.changes] == [
        "secret.telephony:workspace:Authorization",
        "workspace.pre_call_webhook",
    ]
    numbers = build_plan(manifest(), state(), Options(targets=("phone_number",)))
    assert {c.address for c in numbers.changes} == {"phone_number.line", "phone_number.pbx-line"}


def test_plan_file_round_trip_and_staleness(tmp_path: Path) -> None:
    opts = Options(manifest_digest="sha256:m", workspace=(("api_url", "https://api"), ("key_fingerprint", "sha256:k")))
    plan = build_plan(manifest(), state(), opts)
    path = tmp_path / "p.tfplan"
    write(path, PlanFile(plan, "telephony.yaml", "prod", {"x": "1"}))
    saved = read(path)
    assert saved.env == "prod" and saved.variables == {"x": "1"}
    assert saved.plan.checksum() == plan.checksum()
    assert staleness(saved.plan, plan) == []
    # Someone imported the number by hand since: stale.
    moved = build_plan(manifest(), state(live_number("+14155550100")), opts)
    assert "phone_number.line changed in the workspace since the plan was made" in staleness(saved.plan, moved)
    other = build_plan(manifest(), state(), Options(manifest_digest="sha256:m", workspace=(("api_url", "x"),)))
    assert any("workspace differs" in r for r in staleness(saved.plan, other))
    edited = build_plan(manifest(), state(), Options(manifest_digest="sha256:other", workspace=opts.workspace))
    assert "the manifest changed since the plan was made" in staleness(saved.plan, edited)


def test_a_plan_file_of_another_major_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    write(path, PlanFile(build_plan(manifest(), state()), "telephony.yaml"))
    data = json.loads(path.read_text())
    data["plan_file_version"] = "3.0"
    path.write_text(json.dumps(data))
    with pytest.raises(PlanFileError, match="newer version of telephony"):
        read(path)


def test_a_plan_file_round_trips_every_change_class(tmp_path: Path) -> None:
    relabelled = live_number("+14155550101", "sip_trunk", label="Old", outbound_trunk={"address": "pbx.example.com"})
    plan = build_plan(manifest(prune=True, max_deletes=5), state(live_number("+14155550999"), relabelled))
    assert {type(c).__name__ for c in plan.actionable} >= {"NumberImport", "NumberUpdate", "NumberDelete"}
    path = tmp_path / "p.json"
    write(path, PlanFile(plan, "telephony.yaml"))
    loaded = read(path).plan
    assert [type(c) for c in loaded.changes] == [type(c) for c in plan.changes]
    assert loaded.changes == plan.changes and loaded.checksum() == plan.checksum()
    # A field a change did not set stays unset: sending it as null would clear it on the API.
    requests = [(c.address, c.request.body()) for c in plan.changes if hasattr(c, "request")]
    assert requests and requests == [(c.address, c.request.body()) for c in loaded.changes if hasattr(c, "request")]


def test_a_hand_edited_plan_file_is_refused_as_stale(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    write(path, PlanFile(build_plan(manifest(), state()), "telephony.yaml"))
    text = path.read_text()
    assert "https://crm.example.com" in text
    path.write_text(text.replace("https://crm.example.com", "https://attacker.example"))
    with pytest.raises(StalePlan, match="edited"):
        read(path)


def test_duplicate_live_entries_are_unmanaged_with_distinct_addresses() -> None:
    first = live_number("+14155550100")
    second = {**live_number("+14155550100"), "phone_number_id": "phnum_dup"}
    plan = build_plan(manifest(prune=True, max_deletes=5), state(first, second, live_number("+14155550999")))
    line = plan.change("phone_number.line")
    assert line is not None and line.live_id == first["phone_number_id"]
    deletes = sorted(c.address for c in plan.number_deletes())
    assert deletes == ['phone_number["+14155550100", "phnum_dup"]', 'phone_number["+14155550999"]']


def test_a_failed_plan_file_write_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "x.plan"
    target.mkdir()  # the rename onto it fails
    with pytest.raises(PlanFileError, match="cannot write plan file"):
        write(target, PlanFile(build_plan(manifest(), state()), "telephony.yaml"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.plan"]


def test_an_unknown_target_is_an_error_with_a_suggestion() -> None:
    with pytest.raises(UnknownTarget, match=r"did you mean 'agent\.support'"):
        build_plan(manifest(), state(), Options(targets=("agent.suport",)))
    assert build_plan(manifest(), state(), Options(targets=("agent.suport",), check_targets=False)).changes == []


def test_caller_id_only_is_unknown_without_supports_inbound_and_never_forces_a_replace() -> None:
    silent = live_number("+14155550100")
    del silent["supports_inbound"]  # deprecated in the spec, with no successor: it may disappear
    plan = build_plan(manifest(), state(silent))
    line = plan.change("phone_number.line")
    assert line is not None and line.action == "no-op", (line.action, line.fields) if line else None
    assert any("caller_id_only is unknown" in note for note in line.notes)
    outbound_only = BASE.replace('auth_token: "${TOKEN}"}', 'auth_token: "${TOKEN}", caller_id_only: true}')
    assert "caller_id_only: true" in outbound_only
    again = build_plan(manifest(outbound_only), state(silent)).change("phone_number.line")
    assert again is not None and again.action == "no-op"


def test_a_duplicate_of_a_declared_number_is_a_change_even_without_prune() -> None:
    stale = {**live_number("+14155550100"), "phone_number_id": "phnum_first", "label": "Stale"}
    matching = {**live_number("+14155550100"), "phone_number_id": "phnum_match"}
    plan = build_plan(manifest(), state(stale, matching))
    line = plan.change("phone_number.line")
    # The copy that matches the manifest is kept; the other is deleted under the usual safety rules.
    assert line is not None and line.action == "no-op" and line.live_id == "phnum_match"
    [extra] = plan.number_deletes()
    assert extra.address == 'phone_number["+14155550100", "phnum_first"]'
    assert extra.reason_text == "a duplicate of phone_number.line, which keeps phnum_match"
    assert plan.has_changes and plan.blocked() and "--allow-deletes" in plan.blocked()[0].message
    assert plan.unmanaged == []


def test_duplicate_tool_secrets_keep_the_referenced_copy_and_delete_the_other() -> None:
    name = "telephony:workspace:Authorization"
    secrets = [{"secret_id": "sec_first", "name": name}, {"secret_id": "sec_used", "name": name}]
    hook = {"url": "https://crm.example.com/hook", "request_headers": {"Authorization": {"secret_id": "sec_used"}}}
    live = live_state(
        [], agents=[AGENT], settings={"conversation_initiation_client_data_webhook": hook}, secrets=secrets
    )
    plan = build_plan(manifest(), live)
    kept = plan.change(f"secret.{name}")
    assert kept is not None and kept.action == "no-op" and kept.live_id == "sec_used"
    extra = plan.change(f'secret["{name}", "sec_first"]')
    assert extra is not None and extra.action == "delete" and "keeps sec_used" in (extra.reason_text or "")
    webhook = plan.change("workspace.pre_call_webhook")
    assert webhook is not None and webhook.action == "no-op"


def test_plan_out_never_follows_or_replaces_a_symlink_or_device(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "p.plan"
    link.symlink_to(victim)
    with pytest.raises(PlanFileError, match="symbolic link"):
        write(link, PlanFile(build_plan(manifest(), state()), "telephony.yaml"))
    assert victim.read_text() == "precious" and link.is_symlink()
    with pytest.raises(PlanFileError, match="not a regular file"):
        write(Path("/dev/null"), PlanFile(build_plan(manifest(), state()), "telephony.yaml"))
    # A planted `<name>.tmp` symlink is never written through: the temporary file is made fresh.
    planted = tmp_path / "ok.plan.tmp"
    planted.symlink_to(victim)
    write(tmp_path / "ok.plan", PlanFile(build_plan(manifest(), state()), "telephony.yaml"))
    assert victim.read_text() == "precious" and read(tmp_path / "ok.plan").plan.has_changes
