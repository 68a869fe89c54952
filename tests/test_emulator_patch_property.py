"""Property: phone-number PATCH is partial (absent keys kept, null clears) for any sequence of patches."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.emulator import EmulatorTransport, build_app

pytestmark = pytest.mark.slow  # property-based: hundreds of generated examples

AGENTS = ("agent_a", "agent_b")

text = st.text(alphabet="abcdef -", min_size=1, max_size=8)
field_values: dict[str, st.SearchStrategy[Any]] = {
    "label": st.one_of(st.none(), text),
    "agent_id": st.one_of(st.none(), st.sampled_from(AGENTS)),
    "environment": st.one_of(st.none(), text),
    "branch_id": st.one_of(st.none(), text),
    "livekit_stack": st.one_of(st.none(), st.sampled_from(["standard", "static"])),
    "store_sip_messages": st.one_of(st.none(), st.booleans()),
}
patches = st.fixed_dictionaries({}, optional=field_values)
NEVER_NULL = {"label", "livekit_stack", "store_sip_messages"}  # required in GET: null leaves them alone


def expected_view(model: dict[str, Any]) -> dict[str, Any]:
    agent = model["agent_id"]
    assigned = None
    if agent is not None:
        assigned = {
            "agent_id": agent,
            "agent_name": agent.upper(),
            **{k: model[k] for k in ("environment", "branch_id")},
        }
    return {
        "label": model["label"],
        "assigned_agent": assigned,
        "livekit_stack": model["livekit_stack"],
        "store_sip_messages": model["store_sip_messages"],
    }


@settings(max_examples=40, deadline=None)
@given(st.lists(patches, max_size=6))
def test_patch_sequences_match_the_model(sequence: list[dict[str, Any]]) -> None:
    async def scenario() -> None:
        app = build_app(seed={"agents": [{"agent_id": agent, "name": agent.upper()} for agent in AGENTS]})
        transport = EmulatorTransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://e", headers={"xi-api-key": "k"}) as c:
            body = {"provider": "sip_trunk", "phone_number": "+15550001111", "label": "start"}
            pid = (await c.post("/v1/convai/phone-numbers", json=body)).json()["phone_number_id"]
            model: dict[str, Any] = {
                "label": "start",
                "agent_id": None,
                "environment": None,
                "branch_id": None,
                "livekit_stack": "standard",
                "store_sip_messages": True,
            }
            for patch in sequence:
                response = await c.patch(f"/v1/convai/phone-numbers/{pid}", json=patch)
                assert response.status_code == 200, response.text
                for key, value in patch.items():
                    if value is None and key in NEVER_NULL:
                        continue
                    model[key] = value
                got = response.json()
                assert {k: got[k] for k in expected_view(model)} == expected_view(model)

    anyio.run(scenario)
