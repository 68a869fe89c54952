"""Under faults (429, 500, drops before and after commit) on 10% of requests, 300 numbers converge."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import SALES, SUPPORT, UNMANAGED, Cli, EmulatorServer, start_seeded
from tests.e2e.manifests import numbers_manifest

COUNT = 300


@pytest.fixture(scope="module")
def seeded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """The seeded emulator, but accepting a second import of a number (by default it refuses one with a
    400), so a create retried blindly after a drop_after really makes a duplicate this test can see."""
    server = start_seeded(tmp_path_factory.mktemp("emulator"), None, "--allow-duplicate-numbers")
    yield server
    server.stop()


@pytest.mark.e2e
@pytest.mark.slow
def test_300_numbers_converge_under_faults(cli: Cli) -> None:
    cli.write(numbers_manifest(COUNT))
    cli.server.call(
        "PUT", "faults", {"spec": "seed=11;rate=0.1;kinds=429,500,503,drop_before,drop_after;retry_after=0"}
    )
    started = time.monotonic()
    codes = []
    for _ in range(3):
        result = cli("apply", "--auto-approve", "--parallelism", "8")
        codes.append(result.returncode)
        assert "Traceback" not in result.stderr
        if result.returncode == 0:
            break
    elapsed = time.monotonic() - started
    assert codes[-1] == 0, f"did not converge in three runs: exit codes {codes}"

    injected = cli.server.call("GET", "stats")["faults"]
    assert sum(injected.values()) >= 30, injected  # the faults really happened
    cli.server.call("DELETE", "faults")
    with cli.server.client() as api:
        live = api.get("/v1/convai/phone-numbers").json()
    counts = Counter(n["phone_number"] for n in live)
    assert max(counts.values()) == 1, "duplicate numbers"
    declared = {f"+1415600{i:04d}": SUPPORT if i % 2 == 0 else SALES for i in range(COUNT)}
    assert set(counts) == set(declared) | {UNMANAGED}
    for number in live:
        if number["phone_number"] in declared:
            assert number["assigned_agent"]["agent_id"] == declared[number["phone_number"]]
    assert cli("plan", "--detailed-exitcode").returncode == 0
    print(f"converged in {len(codes)} run(s), {elapsed:.1f}s, exit codes {codes}, faults {injected}")
