"""How long `telephony batch submit` takes to check a 10,000-row CSV (the API's limit per batch).

Writes a CSV with a phone_number column, three variables and a language override, then times
`provisioner.batches.check_csv` on it (the check that runs before anything is sent) and building
the submit request from its rows. The goal is well under a second.

    python benchmarks/batch_csv.py [--rows 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from provisioner.batches import AgentVariables, check_csv
from provisioner.outbound import build_recipient

AGENT = AgentVariables(
    used=frozenset({"customer_name", "order_id", "due_date"}),
    defaults=frozenset({"customer_name"}),
    overrides=frozenset({"language"}),
)


def write(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("phone_number,customer_name,order_id,due_date,language\r\n")
        for i in range(rows):
            out.write(
                f'+1415{i:07d},"Customer {i}, Jr.",ORD-{i:06d},2025-07-{1 + i % 28:02d},{"en" if i % 2 else "es"}\r\n'
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recipients.csv"
        write(path, args.rows)
        checks, builds = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = check_csv(path, AGENT)
            checks.append(time.perf_counter() - start)
            assert result.ok and len(result.recipients) == args.rows, result.problems[:3]
            start = time.perf_counter()
            [build_recipient(r.phone_number, r.variables, r.overrides) for r in result.recipients]
            builds.append(time.perf_counter() - start)
        size = path.stat().st_size
    print(f"{args.rows:,} rows ({size / 1e6:.1f} MB), median of {args.repeat} runs:")
    print(f"  check the CSV:         {statistics.median(checks):.3f} s")
    print(f"  build the request:     {statistics.median(builds):.3f} s")
    print(f"  total:                 {statistics.median(checks) + statistics.median(builds):.3f} s")


if __name__ == "__main__":
    main()
