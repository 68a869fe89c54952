"""Apply against the in-process emulator: convergence, dependencies, partial failure, read-back."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
import yaml

from provisioner.api.client import ElevenLabsClient, RetryPolicy
from provisioner.apply import ApplyReport
from provisioner.emulator import build_app
from provisioner.emulator.testing import inprocess_controls
from provisioner.manifest import Manifest
from provisioner.plan import Plan
from provisioner.render import render_text
from tests import helpers

AGENT = "agent_3701k3ttaq12ewp8b7qv5rfyszkz"
ENV = {"TOKEN": "tok-1", "PW": "pw-1", "SID": "AC" + "a" * 32, "HOOK": "hook-1"}
MANIFEST = f"""
version: 1
pre_call_webhook: {{url: https://crm.example.com/hook, headers: {{Authorization: "Bearer ${{TOKEN}}"}}}}
agents:
  support:
    id: {AGENT}
    pre_call_webhook: {{url: https://agent.example.com/hook, headers: {{X-Key: "${{HOOK}}"}}}}
    dynamic_variables: {{name: there}}
    overrides: [first_message, voice, prompt]
    transfers: [{{to: "+14155550199", condition: asks for a human, wait_message: Hold on}}]
sip_trunks:
  pbx: {{static_ip: true, store_sip_messages: false,
         outbound: {{address: pbx.example.com, transport: tls, credentials: {{username: u, password: "${{PW}}"}}}},
         inbound: {{allowed_addresses: [10.0.0.0/8, 10.1.0.0/16]}}}}
phone_numbers:
  line: {{number: "+14155550100", label: Line, provider: twilio, agent: support,
          twilio: {{account_sid: "${{SID}}", auth_token: "${{TOKEN}}"}}}}
  pbx-line: {{number: "+14155550101", label: PBX, provider: sip_trunk, sip_trunk: pbx, agent: support}}
"""
PROMPT = "You are support. Never change me."


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def app() -> Any:
    seed = {
        "agents": [
            {"agent_id": AGENT, "name": "Support", "conversation_config": {"agent": {"prompt": {"prompt": PROMPT}}}}
        ]
    }
    return build_app(api_keys=["k"], seed=seed)


def manifest(text: str = MANIFEST) -> Manifest:
    return Manifest.model_validate(yaml.safe_load(text))


async def plan_and_apply(app: Any, m: Manifest, **kwargs: Any) -> tuple[Plan, ApplyReport]:
    retry = RetryPolicy(max_attempts=2, base_delay=0, max_delay=0)
    async with helpers.emulator_client(app, retry=retry) as client:
        return await helpers.plan_and_apply(client, m, ENV, **kwargs)


async def replan(app: Any, m: Manifest) -> Plan:
    async with helpers.emulator_client(app) as client:
        return await helpers.replan(client, m)


async def state(app: Any) -> dict[str, Any]:
    """The emulator's workspace, from `GET /_emulator/state`."""
    return await inprocess_controls(app).state()


def agent_config(workspace: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = next(a for a in workspace["agents"] if a["agent_id"] == AGENT)["conversation_config"]
    return config


def secret_names(workspace: dict[str, Any]) -> list[str]:
    return sorted(s["name"] for s in workspace["secrets"])


@pytest.mark.anyio
async def test_apply_converges_and_leaves_the_prompt_alone(app: Any) -> None:
    m = manifest()
    plan, report = await plan_and_apply(app, m)
    assert {r.status for r in report.results} == {"applied"}, report.results
    assert len(report.results) == len(plan.actionable) == 6
    again = await replan(app, m)
    assert not again.has_changes, [(c.address, c.fields) for c in again.actionable]
    workspace = await state(app)
    assert agent_config(workspace)["agent"]["prompt"]["prompt"] == PROMPT
    assert secret_names(workspace) == [f"telephony:{AGENT}:X-Key", "telephony:workspace:Authorization"]
    number = next(n for n in workspace["phone_numbers"] if n["phone_number"] == "+14155550101")
    assert number["livekit_stack"] == "static"


@pytest.mark.anyio
async def test_switching_to_the_workspace_webhook_deletes_the_agents_secret(app: Any) -> None:
    await plan_and_apply(app, manifest())
    switched = MANIFEST.replace(
        'pre_call_webhook: {url: https://agent.example.com/hook, headers: {X-Key: "${HOOK}"}}', "pre_call_webhook: true"
    )
    plan, report = await plan_and_apply(app, manifest(switched))
    deleted = plan.change(f"secret.telephony:{AGENT}:X-Key")
    assert deleted is not None and deleted.action == "delete" and deleted.depends_on == ("agent.support",)
    assert {r.status for r in report.results} == {"applied"}
    assert secret_names(await state(app)) == ["telephony:workspace:Authorization"]
    assert not (await replan(app, manifest(switched))).has_changes


@pytest.mark.anyio
async def test_a_failed_step_stops_only_its_dependents(app: Any) -> None:
    await inprocess_controls(app).set_faults("rate=1;kinds=500;match=POST /v1/convai/secrets*")
    _, report = await plan_and_apply(app, manifest())
    status = {r.address: r.status for r in report.results}
    assert status["secret.telephony:workspace:Authorization"] == "failed"
    assert status["workspace.pre_call_webhook"] == "skipped"
    assert status["agent.support"] == "skipped"
    assert status["phone_number.line"] == status["phone_number.pbx-line"] == "applied"
    failed = report.by_status("failed")[0]
    assert "POST /v1/convai/secrets failed (HTTP 500)" in failed.message
    await inprocess_controls(app).clear_faults()
    _, second = await plan_and_apply(app, manifest())
    assert {r.status for r in second.results} == {"applied"}
    assert not (await replan(app, manifest())).has_changes


@pytest.mark.anyio
async def test_a_silently_dropped_field_is_a_readback_mismatch(app: Any) -> None:
    await inprocess_controls(app).drop_fields(["conversation_config.agent.prompt.built_in_tools.transfer_to_number"])
    _, report = await plan_and_apply(app, manifest())
    mismatch = report.by_status("mismatch")
    assert [r.address for r in mismatch] == ["agent.support"]
    assert "transfers" in mismatch[0].message


@pytest.mark.anyio
async def test_progress_is_reported_per_step(app: Any) -> None:
    seen: list[tuple[int, int]] = []
    _, report = await plan_and_apply(app, manifest(), progress=lambda r, done, total: seen.append((done, total)))
    # One call per step (the manifest makes six), counting up to the fixed total.
    assert len(report.results) == 6
    assert seen == [(done, 6) for done in range(1, 7)], seen


@pytest.mark.anyio
async def test_a_placeholder_set_to_null_is_removed_and_then_a_no_op(app: Any) -> None:
    await plan_and_apply(app, manifest(MANIFEST.replace("{name: there}", "{name: there, extra: x}")))
    removed = MANIFEST.replace("{name: there}", "{name: there, extra: null, never_set: null}")
    plan, report = await plan_and_apply(app, manifest(removed))
    [change] = plan.actionable
    assert change.address == "agent.support"
    [field] = change.fields
    assert (field.path, field.before, field.after, field.op) == ("dynamic_variables.extra", "x", None, "remove")
    out = io.StringIO()
    render_text(plan, out)
    assert '- dynamic_variables.extra = "x"' in out.getvalue()
    assert "never_set" not in out.getvalue()
    # Null is never sent (the API reference forbids it); the map is sent without the key. This
    # emulator merges the map (agent_patch=merge), so the key stays: a read-back mismatch naming
    # the key and the manual fix, never a loop.
    [result] = report.results
    assert result.status == "mismatch", report.results
    assert "placeholder 'extra' is still set" in result.message and "dashboard" in result.message
    stored = agent_config(await state(app))["agent"]["dynamic_variables"]
    assert stored["dynamic_variable_placeholders"]["name"] == "there"
    again = await replan(app, manifest(removed))
    assert [c.address for c in again.actionable] == ["agent.support"]  # the next plan says the same


@pytest.mark.anyio
async def test_a_standard_sip_number_in_a_static_default_workspace_converges_first_time(app: Any) -> None:
    async with helpers.emulator_client(app) as client:
        await client.request("PATCH", "/v1/convai/settings", body={"default_livekit_stack": "static"})
    text = MANIFEST.replace("static_ip: true, store_sip_messages: false", "static_ip: false")
    _, report = await plan_and_apply(app, manifest(text))
    assert {r.status for r in report.results} == {"applied"}, report.results
    number = next(n for n in (await state(app))["phone_numbers"] if n["phone_number"] == "+14155550101")
    assert number["livekit_stack"] == "standard"
    assert not (await replan(app, manifest(text))).has_changes


@pytest.mark.anyio
async def test_codec_order_is_compared_and_sent(app: Any) -> None:
    ordered = MANIFEST.replace("transport: tls,", "transport: tls, codecs: [PCMU/8000, PCMA/8000],")
    _, report = await plan_and_apply(app, manifest(ordered))
    assert {r.status for r in report.results} == {"applied"}, report.results
    swapped = ordered.replace("[PCMU/8000, PCMA/8000]", "[PCMA/8000, PCMU/8000]")
    plan = await replan(app, manifest(swapped))
    change = plan.change("phone_number.pbx-line")
    assert change is not None and change.action == "update"
    assert [(f.path, f.before, f.after) for f in change.fields] == [
        ("trunk.outbound.codecs", ["PCMU/8000", "PCMA/8000"], ["PCMA/8000", "PCMU/8000"])
    ]
    _, report = await plan_and_apply(app, manifest(swapped))
    assert {r.status for r in report.results} == {"applied"}
    number = next(n for n in (await state(app))["phone_numbers"] if n["phone_number"] == "+14155550101")
    assert number["outbound_trunk"]["enabled_codecs"] == ["PCMA/8000", "PCMU/8000"]


@pytest.mark.anyio
async def test_duplicates_from_concurrent_applies_are_visible_and_healed() -> None:
    seed = {"agents": [{"agent_id": AGENT, "name": "Support"}]}
    app = build_app(api_keys=["k"], seed=seed, allow_duplicate_numbers=True)
    m = manifest()
    await plan_and_apply(app, m)
    async with helpers.emulator_client(app) as client:
        # A second apply that raced the first: the same number imported again, a secret made twice.
        body = {"provider": "twilio", "phone_number": "+14155550100", "label": "Line", "sid": ENV["SID"], "token": "t"}
        await client.request("POST", "/v1/convai/phone-numbers", body=body)
        name = "telephony:workspace:Authorization"
        await client.request("POST", "/v1/convai/secrets", body={"type": "new", "name": name, "value": "v"})
    plan = await replan(app, m)
    assert sorted(c.address.split(",")[0] for c in plan.actionable) == [
        'phone_number["+14155550100"',
        f'secret["{name}"',
    ]
    assert all(c.action == "delete" for c in plan.actionable)
    _, report = await plan_and_apply(app, m)
    assert {r.status for r in report.results} == {"applied"}, report.results
    workspace = await state(app)
    assert [n["phone_number"] for n in workspace["phone_numbers"]].count("+14155550100") == 1
    assert secret_names(workspace).count(name) == 1
    assert not (await replan(app, m)).has_changes


def number_requests(log: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in log if "phone-numbers" in r["path"]]


@pytest.mark.anyio
async def test_numbers_are_read_back_with_one_list_not_one_get_each(app: Any) -> None:
    await inprocess_controls(app).clear_requests()
    _, report = await plan_and_apply(app, manifest())
    assert {r.status for r in report.results} == {"applied"}, report.results
    sent = number_requests(await inprocess_controls(app).requests())
    gets = [path for method, path in sent if method == "GET"]
    # One list to plan, one list to read the two imports back; no GET of a single number.
    assert gets == ["/v1/convai/v2/phone-numbers"] * 2, sent


@pytest.mark.anyio
async def test_a_number_field_dropped_by_the_api_is_a_mismatch_with_the_list_read_back(app: Any) -> None:
    await inprocess_controls(app).drop_fields(["inbound_trunk_config.allowed_addresses"])
    _, report = await plan_and_apply(app, manifest())
    mismatch = report.by_status("mismatch")
    assert [r.address for r in mismatch] == ["phone_number.pbx-line"], report.results
    assert "allowed_addresses" in mismatch[0].message
    assert report.by_status("applied") and not report.by_status("failed")


@pytest.mark.anyio
async def test_a_number_missing_from_the_list_read_back_is_a_mismatch(app: Any) -> None:
    """The list does not hold a number just imported (an eventually consistent index, say)."""
    from provisioner.emulator import EmulatorTransport

    class Hiding(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = EmulatorTransport(app)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await self.inner.handle_async_request(request)
            if request.method == "GET" and request.url.path == "/v1/convai/v2/phone-numbers":
                body = json.loads(await response.aread())
                body["phone_numbers"] = [n for n in body["phone_numbers"] if n["phone_number"] != "+14155550101"]
                return httpx.Response(200, json=body)
            return response

    retry = RetryPolicy(max_attempts=2, base_delay=0, max_delay=0)
    async with ElevenLabsClient("http://emulator", "k", transport=Hiding(), retry=retry) as client:
        _, report = await helpers.plan_and_apply(client, manifest(), ENV)
    status = {r.address: r.status for r in report.results}
    assert status["phone_number.pbx-line"] == "mismatch"
    assert status["phone_number.line"] == "applied"
    [missing] = report.by_status("mismatch")
    assert "not in the list read back" in missing.message


@pytest.mark.anyio
async def test_a_single_number_written_is_read_back_with_its_own_get(app: Any) -> None:
    await plan_and_apply(app, manifest())
    await inprocess_controls(app).clear_requests()
    _, report = await plan_and_apply(app, manifest(MANIFEST.replace("label: PBX", "label: PBX 2")))
    assert [r.status for r in report.results] == ["applied"]
    gets = [path for method, path in number_requests(await inprocess_controls(app).requests()) if method == "GET"]
    assert gets[0] == "/v1/convai/v2/phone-numbers" and len(gets) == 2
    assert gets[1].startswith("/v1/convai/phone-numbers/phnum_")
