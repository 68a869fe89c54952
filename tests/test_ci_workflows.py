"""The example GitHub workflows (`examples/ci/*.yml`) keep the exit-code policy they document.

GitHub runs a `run` step without `shell:` as `bash -e {0}`: no pipefail, so a pipeline such as
`telephony drift | tee drift.md` ends with tee's 0 and the nightly job never fails. The checks:
every step that pipes runs with pipefail, and each step, run under the shell GitHub would use with
a stub `telephony` that exits with a given code, passes or fails as its workflow says.
"""

from __future__ import annotations

import shlex
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

CI = Path(__file__).parent.parent / "examples" / "ci"
WORKFLOWS = sorted(CI.glob("*.yml"))
# What GitHub runs for `shell:` values on Linux runners (docs: "Using a specific shell").
_SHELLS = {None: "bash -e {0}", "bash": "bash --noprofile --norc -eo pipefail {0}", "sh": "sh -e {0}"}


def _steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any], str | None]]:
    """(job, step, the shell template GitHub uses) for every `run` step."""
    found = []
    for name, job in workflow["jobs"].items():
        for step in job["steps"]:
            if "run" in step:
                shell = step.get("shell") or _default(job) or _default(workflow)
                found.append((name, step, _SHELLS.get(shell, shell)))
    return found


def _default(scope: dict[str, Any]) -> str | None:
    shell = ((scope.get("defaults") or {}).get("run") or {}).get("shell")
    return str(shell) if shell is not None else None


def pipes(script: str) -> bool:
    """Whether the script has a pipeline (`a | b`), outside quotes and comments; `||` is not one."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return any(token == "|" for token in lexer)


def has_pipefail(template: str | None, script: str) -> bool:
    sets_it = any(line.strip().startswith("set ") and "pipefail" in line for line in script.splitlines())
    return sets_it or (template is not None and "pipefail" in template)


def run_step(template: str, script: str, tmp_path: Path, exit_code: int) -> tuple[int, str]:
    """Run `script` as GitHub would, with a `telephony` that prints its arguments and exits
    `exit_code`. Returns the step's exit code and what it wrote to $GITHUB_OUTPUT."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    stub = bin_dir / "telephony"
    stub.write_text(f'#!/bin/sh\necho "telephony $*"\nexit {exit_code}\n')
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    file = tmp_path / "step.sh"
    file.write_text(script)
    output = tmp_path / "github_output"
    output.write_text("")
    command = [part.replace("{0}", str(file)) for part in shlex.split(template)]
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "GITHUB_OUTPUT": str(output)}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)
    return result.returncode, output.read_text()


def test_there_are_workflows() -> None:
    assert {p.name for p in WORKFLOWS} == {"apply-on-merge.yml", "drift-nightly.yml", "plan-on-pr.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_step_that_pipes_runs_with_pipefail(path: Path) -> None:
    workflow = yaml.safe_load(path.read_text())
    piped = [(job, step, template) for job, step, template in _steps(workflow) if pipes(step["run"])]
    missing = [step.get("name", step["run"]) for _, step, template in piped if not has_pipefail(template, step["run"])]
    assert missing == []


def test_the_pipe_check_is_not_a_tautology(tmp_path: Path) -> None:
    script = "telephony drift --format markdown | tee drift.md\n"
    assert pipes(script) and not pipes("a || b\necho 'x | y'  # c | d\n")
    assert not has_pipefail(_SHELLS[None], script) and has_pipefail(_SHELLS["bash"], script)
    # The bug itself: GitHub's default shell loses drift's exit 2.
    assert run_step(_SHELLS[None], script, tmp_path, 2)[0] == 0
    assert run_step(_SHELLS["bash"], script, tmp_path, 2)[0] == 2


def _step(name: str, contains: str) -> tuple[str, str]:
    workflow = yaml.safe_load((CI / name).read_text())
    matches = [(template, step["run"]) for _, step, template in _steps(workflow) if contains in step["run"]]
    assert len(matches) == 1, matches
    template, script = matches[0]
    assert template is not None
    return template, script


@pytest.mark.parametrize(("code", "fails"), [(0, False), (1, True), (2, True)])
def test_drift_fails_the_job_on_drift_and_on_errors(tmp_path: Path, code: int, fails: bool) -> None:
    template, script = _step("drift-nightly.yml", "telephony drift")
    assert (run_step(template, script, tmp_path, code)[0] != 0) == fails
    assert (tmp_path / "drift.md").read_text().startswith("telephony drift")  # the report is kept


@pytest.mark.parametrize(("code", "fails"), [(0, False), (2, False), (1, True), (3, True)])
def test_plan_passes_on_changes_and_fails_on_errors_and_blocked_plans(tmp_path: Path, code: int, fails: bool) -> None:
    template, script = _step("plan-on-pr.yml", "telephony plan")
    step_code, outputs = run_step(template, script, tmp_path, code)
    assert (step_code != 0) == fails
    assert f"exitcode={code}\n" in outputs  # the comment step posts for 0, 2 and 3 (see its `if`)
    assert "--detailed-exitcode" in (tmp_path / "plan.md").read_text()


def test_the_plan_comment_is_posted_for_blocked_plans_too() -> None:
    workflow = yaml.safe_load((CI / "plan-on-pr.yml").read_text())
    post = next(step for _, step, _ in _steps(workflow) if step.get("name") == "Post the plan")
    condition = post["if"]
    assert "!cancelled()" in condition  # runs after the plan step failed with 3
    assert all(f'"{code}"' in condition for code in (0, 2, 3)) and '"1"' not in condition


@pytest.mark.parametrize("code", [0, 1, 3, 4, 5, 6])
def test_apply_fails_the_job_on_any_non_zero_exit(tmp_path: Path, code: int) -> None:
    template, script = _step("apply-on-merge.yml", "telephony apply")
    assert (run_step(template, script, tmp_path, code)[0] != 0) == (code != 0)
