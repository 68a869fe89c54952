"""Under random faults (429, 5xx, drops before and after commit) apply converges with no duplicates.

In-process (EmulatorTransport maps dropped connections to httpx errors, as a real socket would),
over many fault seeds, so the never-retry-a-create-blindly rule is exercised for numbers and secrets.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
import yaml

from provisioner.api.client import ApiError, RetryPolicy
from provisioner.emulator import build_app
from provisioner.emulator.testing import inprocess_controls
from provisioner.manifest import Manifest
from tests import helpers

pytestmark = pytest.mark.slow  # 12 fault seeds, each a full apply of 30 numbers

AGENT = "agent_3701k3ttaq12ewp8b7qv5rfyszkz"
COUNT = 30


def manifest() -> Manifest:
    numbers = {
        f"n{i}": {
            "number": f"+1415888{i:04d}",
            "label": f"L{i}",
            "provider": "sip_trunk",
            "sip_trunk": "t",
            "agent": "a",
        }
        for i in range(COUNT)
    }
    return Manifest.model_validate(
        yaml.safe_load(
            yaml.safe_dump(
                {
                    "version": 1,
                    "pre_call_webhook": {
                        "url": "https://crm.example.com/h",
                        "headers": {"Authorization": "Bearer ${TOK}"},
                    },
                    "agents": {"a": {"id": AGENT, "pre_call_webhook": True, "dynamic_variables": {"x": "1"}}},
                    "sip_trunks": {"t": {"static_ip": True, "outbound": {"address": "pbx.example.com"}}},
                    "phone_numbers": numbers,
                }
            )
        )
    )


async def converge(seed: int) -> tuple[bool, Counter[str], list[str]]:
    # Duplicate imports accepted (the default is a 400): only the client's look-up can prevent one.
    app = build_app(seed={"agents": [{"agent_id": AGENT, "name": "A"}]}, allow_duplicate_numbers=True)
    controls = inprocess_controls(app)
    await controls.set_faults(f"seed={seed};rate=0.2;retry_after=0")
    m = manifest()
    retry = RetryPolicy(max_attempts=3, base_delay=0, max_delay=0)  # small: later runs must finish the job
    runs = 0
    converged = False  # some run applied every change it planned
    async with helpers.emulator_client(app, retry=retry) as client:
        while runs < 3:
            runs += 1
            try:
                live, plan = await helpers.observe_and_plan(client, m)
            except ApiError:  # an observe that gave up (the API, after retries) counts as a failed run
                continue
            report = await helpers.apply_plan(client, live, plan, {"TOK": "t"})
            if all(r.status == "applied" for r in report.results):
                converged = True
                break
        await controls.clear_faults()
        workspace = await controls.state()
        numbers = Counter(n["phone_number"] for n in workspace["phone_numbers"])
        names = [s["name"] for s in workspace["secrets"]]
        remaining = (await helpers.replan(client, m)).actionable
        return converged, numbers, names + [c.address for c in remaining]


@pytest.mark.parametrize("seed", range(12))
def test_converges_within_three_runs_without_duplicates(seed: int) -> None:
    converged, numbers, leftovers = asyncio.run(converge(seed))
    assert len(numbers) == COUNT and max(numbers.values()) == 1
    assert leftovers == ["telephony:workspace:Authorization"], leftovers
    assert converged, "no run of the three applied every change"
