"""The CLI against a real emulator that enforces the API's limits: apply adapts and finishes.

`--max-concurrency 3` against `--parallelism 8`: the client cuts its concurrency on the first
429s and every step succeeds in one run. `--rate-limit R`: each 429 pauses every worker until
the Retry-After time, so the refusals stay few. Counts, not timings, are asserted."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli, EmulatorServer, start_seeded
from tests.e2e.manifests import numbers_manifest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def seeded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with start_seeded(tmp_path_factory.mktemp("emulator"), None, "--max-concurrency", "3", "--latency-ms", "10") as s:
        yield s


@pytest.fixture(scope="module")
def rate_limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with start_seeded(tmp_path_factory.mktemp("emulator"), None, "--rate-limit", "40") as s:
        yield s


def test_200_numbers_apply_under_max_concurrency_3_with_parallelism_8(cli: Cli) -> None:
    cli.write(numbers_manifest(200))
    result = cli("apply", "--auto-approve", "--parallelism", "8")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Failed:" not in result.stdout + result.stderr and "Traceback" not in result.stderr
    stats = cli.server.stats()
    limits = stats["limits"]
    assert limits["max_concurrency"] == 3 and limits["peak_in_flight"] == 3
    assert limits["refused_concurrency"] >= 1  # the limit really bit ...
    assert limits["refused_concurrency"] <= stats["total"] // 10  # ... and the client adapted
    assert cli("plan", "--detailed-exitcode").returncode == 0
    print(f"{stats['total']} requests, {limits['refused_concurrency']} refused (429 concurrent_limit_exceeded)")


def test_apply_under_a_rate_limit_pauses_instead_of_hammering(
    rate_limited_server: EmulatorServer, tmp_path: Path
) -> None:
    rate_limited_server.reset()
    cli = Cli(tmp_path, rate_limited_server)
    cli.write(numbers_manifest(60))
    # Retry-After honoured (the e2e default caps it at 0 to keep fault drills fast).
    result = cli("apply", "--auto-approve", "--parallelism", "8", env=cli.env(TELEPHONY_RETRY_AFTER_CAP="5"))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    stats = rate_limited_server.stats()
    refused, total = stats["limits"]["refused_rate"], stats["total"]
    assert refused >= 1  # more requests than one second's bucket: the limit bit
    # At most the 8 workers' requests in flight when the bucket ran dry, once per second of run.
    assert refused <= 8 * math.ceil(total / 40), (refused, total)
    cli.assert_no_secrets()
    print(f"{total} requests, {refused} refused (429 rate_limit_exceeded)")
