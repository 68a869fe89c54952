"""The CI examples (examples/ci/) run end to end: each job's shipped steps, against the emulator
as a real server, with a fake `gh` (tests/ci/fake_forge.py) holding comments, issues, secret
names and artifacts.

The paths: a pull request's plan is commented once and kept as an artifact, and the merge applies
exactly it; a dashboard edit between plan and merge makes apply refuse (exit 5), nothing is
applied and a fresh plan is commented; a ${VAR} the plan needs but the CI lacks fails the pull
request naming it; a fork's pull request gets a sandbox plan that says the live one comes after
approval; drift opens one issue, updates it, and closes it when the drift is gone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci.runner import ROOT, JobResult, Runner, fake_bin, install_scripts, path_with
from tests.e2e.conftest import API_KEY, SALES, SECRETS, SEED, SUPPORT, EmulatorServer, start_seeded
from tests.helpers import cli_env, run_cli

pytestmark = pytest.mark.e2e

CI = ROOT / "examples" / "ci"
REPO = "acme/phones"
PR, HEAD, MERGED = 7, "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
MANIFEST = f"""\
version: 1
agents:
  support: {{id: {SUPPORT}}}
  sales: {{id: {SALES}}}
sip_trunks:
  pbx:
    outbound:
      address: pbx.example.com
      transport: tls
      media_encryption: required
      credentials: {{username: elevenlabs, password: "${{PBX_SIP_PASSWORD}}"}}
phone_numbers:
  support-line: {{number: "+14155550100", label: Support, provider: sip_trunk, sip_trunk: pbx, agent: support}}
  sales-line: {{number: "+14155550101", label: Sales, provider: sip_trunk, sip_trunk: pbx, agent: sales}}
"""
CHANGED = MANIFEST.replace("label: Sales,", "label: Sales line,")


@pytest.fixture(scope="module")
def ci_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    # No undeclared number in the workspace: drift --fail-on-unmanaged can then come back clean.
    seed = {**SEED, "phone_numbers": []}
    with start_seeded(tmp_path_factory.mktemp("emulator"), seed) as server:
        yield server


@dataclass
class Repo:
    """An adopter's repository (telephony.yaml, .github/telephony/), its fake forge, its CI."""

    path: Path
    forge: Path
    server: EmulatorServer
    runner: Runner

    def state(self) -> dict[str, Any]:
        return json.loads((self.forge / "state.json").read_text())

    def update_state(self, **changes: Any) -> None:
        (self.forge / "state.json").write_text(json.dumps({**self.state(), **changes}))

    def comments(self) -> list[str]:
        return [c["body"] for c in self.state().get("comments", {}).get(str(PR), [])]

    def calls(self) -> list[list[str]]:
        lines = (self.forge / "calls.jsonl").read_text().splitlines() if (self.forge / "calls.jsonl").exists() else []
        return [[json.loads(line)["tool"], *json.loads(line)["args"]] for line in lines]

    def job(self, workflow: str, job: str, **github: Any) -> JobResult:
        self.runner.contexts["github"] = {**self.runner.contexts["github"], **github}
        return self.runner.run_job(CI / workflow, job)

    def pull_request(self, *, fork: bool = False, workflow: str = "plan-on-pr.yml") -> JobResult:
        head_repo = "someone/phones" if fork else REPO
        event = {"pull_request": {"number": PR, "head": {"sha": HEAD, "repo": {"full_name": head_repo}}}}
        return self.job(workflow, "plan", event_name="pull_request", event=event)

    def merge(self, workflow: str = "apply-on-merge.yml") -> JobResult:
        return self.job(workflow, "apply", event_name="push", sha=MERGED, event={})

    def drift(self) -> JobResult:
        return self.job("drift-nightly.yml", "drift", event_name="schedule", event={})

    def telephony(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = cli_env(minimal=True, **SECRETS, ELEVENLABS_API_KEY=API_KEY, ELEVENLABS_BASE_URL=self.server.url)
        return run_cli(*args, cwd=self.path, env=env)

    def numbers(self) -> dict[str, dict[str, Any]]:
        with self.server.client() as api:
            return {n["phone_number"]: n for n in api.get("/v1/convai/phone-numbers").json()}

    def dashboard_edit(self, number: str, label: str) -> None:
        with self.server.client() as api:
            api.patch(f"/v1/convai/phone-numbers/{self.numbers()[number]['phone_number_id']}", json={"label": label})

    def everything_written(self) -> str:
        files = [p for p in (*self.forge.rglob("*"), *self.path.rglob("*")) if p.is_file()]
        return "".join(p.read_text(errors="replace") for p in files)


@pytest.fixture
def repo(ci_server: EmulatorServer, tmp_path: Path) -> Iterator[Repo]:
    ci_server.reset()
    path, forge = tmp_path / "repo", tmp_path / "forge"
    path.mkdir()
    forge.mkdir()
    (path / "telephony.yaml").write_text(MANIFEST)
    install_scripts(path)
    state = {
        "secrets": {"": ["ELEVENLABS_API_KEY"], "production": sorted(SECRETS)},
        "pulls": {str(PR): {"head_sha": HEAD, "merge_commit": MERGED}},
    }
    (forge / "state.json").write_text(json.dumps(state))
    bin_dir = fake_bin(tmp_path / "bin", forge)
    base_env = cli_env(
        minimal=True,
        PATH=path_with(bin_dir),
        FAKE_FORGE_STATE=str(forge),
        # What a workspace's real URL would be; the scripts never pass --api-url.
        ELEVENLABS_BASE_URL=ci_server.url,
        TELEPHONY_RETRY_BASE_DELAY="0.01",
        TELEPHONY_RETRY_MAX_DELAY="0.05",
    )
    contexts = {
        "github": {"repository": REPO, "token": "gh-workflow-token", "workspace": str(path)},
        "secrets": {"ELEVENLABS_API_KEY": API_KEY, **SECRETS},
    }
    result = Repo(path, forge, ci_server, Runner(path, base_env, contexts, forge))
    yield result
    written = result.everything_written()
    for name, value in {**SECRETS, "ELEVENLABS_API_KEY": API_KEY}.items():
        assert value not in written, f"secret {name} written by a CI step"


def test_a_pull_request_plan_is_commented_once_and_the_merge_applies_it(repo: Repo) -> None:
    (repo.path / "telephony.yaml").write_text(CHANGED)
    planned = repo.pull_request()
    assert planned.success, planned.log
    assert (repo.forge / "pipx.log").read_text() == "install telephony[sandbox]==0.2.0\n"  # the pinned release
    [comment] = repo.comments()
    markdown = (repo.path / "telephony-plan" / "plan.md").read_text()
    assert comment.startswith("<!-- telephony") and comment.startswith(markdown)  # found by its first line
    assert "2 to add" in comment
    [artifact] = repo.state()["artifacts"]
    assert artifact["name"] == f"telephony-plan-{PR}-{HEAD}"
    assert repo.numbers() == {}  # planning changed nothing

    again = repo.pull_request()  # a new push: the same comment is updated, not a second one
    assert again.success, again.log
    assert len(repo.comments()) == 1
    assert any(call[:3] == ["gh", "api", "--method"] and "PATCH" in call for call in repo.calls())

    merged = repo.merge()
    assert merged.success, merged.log
    assert {n["label"] for n in repo.numbers().values()} == {"Support", "Sales line"}
    assert repo.telephony("plan", "--detailed-exitcode").returncode == 0  # converged
    # The merge applied the newest plan artifact of the pull request's head; it made none itself.
    newest = repo.state()["artifacts"][-1]["run_id"]
    assert [c[:4] for c in repo.calls() if c[1:3] == ["run", "download"]] == [["gh", "run", "download", str(newest)]]


def test_a_dashboard_edit_after_review_stops_the_merge_and_a_fresh_plan_is_commented(repo: Repo) -> None:
    # Through the composite action (examples/ci/with-action.yml): the same scripts, other wiring.
    assert repo.telephony("apply", "--auto-approve").returncode == 0  # what main held before
    (repo.path / "telephony.yaml").write_text(CHANGED)
    planned = repo.pull_request(workflow="with-action.yml")
    assert planned.success, planned.log
    assert (repo.forge / "pipx.log").read_text() == "install --force telephony[sandbox]==0.2.0\n"
    assert [a["name"] for a in repo.state()["artifacts"]] == [f"telephony-plan-{PR}-{HEAD}"]
    repo.dashboard_edit("+14155550101", "Edited in the dashboard")

    merged = repo.merge(workflow="with-action.yml")
    assert not merged.success
    assert [s.code for s in merged.steps if s.outcome == "failure"] == [5], merged.log
    assert repo.numbers()["+14155550101"]["label"] == "Edited in the dashboard"  # nothing applied
    reviewed, fresh = repo.comments()
    assert fresh.startswith("**telephony apply refused the reviewed plan")
    assert "Edited in the dashboard" in fresh and "Edited in the dashboard" not in reviewed


def test_a_secret_the_plan_needs_but_ci_lacks_fails_the_pull_request_naming_it(repo: Repo) -> None:
    repo.update_state(secrets={"": ["ELEVENLABS_API_KEY"], "production": ["CRM_WEBHOOK_TOKEN"]})
    planned = repo.pull_request()
    assert not planned.success
    assert "missing CI secret(s): PBX_SIP_PASSWORD" in planned.log
    [comment] = repo.comments()
    assert "Missing CI secrets" in comment and "`PBX_SIP_PASSWORD`" in comment
    assert "artifacts" not in repo.state()  # no plan to merge
    # Only names were asked for: the repository's and the apply environment's.
    assert ["gh", "secret", "list", "--env", "production", "--json", "name", "--jq", ".[].name"] in repo.calls()


def test_a_forks_pull_request_gets_a_sandbox_plan_and_is_told_the_live_plan_comes_after_approval(
    repo: Repo,
) -> None:
    (repo.path / "telephony.yaml").write_text(CHANGED)
    assert repo.pull_request(fork=True).skipped  # `plan` is for the repository's own branches
    event = {"pull_request": {"number": PR, "head": {"sha": HEAD, "repo": {"full_name": "someone/phones"}}}}
    sandboxed = repo.job("plan-on-pr.yml", "fork-sandbox", event_name="pull_request_target", event=event)
    assert sandboxed.success, sandboxed.log
    [comment] = repo.comments()
    assert "**Sandbox plan.**" in comment and "The live plan\n> runs after a maintainer approves it" in comment
    assert "2 to add" in comment
    assert "artifacts" not in repo.state()  # a sandbox plan is never applied
    assert not (repo.path / "pr" / "telephony-plan" / "telephony.plan").exists()
    merged = repo.merge()
    assert not merged.success and "nothing reviewed to apply" in merged.log
    assert repo.numbers() == {}


def test_drift_opens_one_issue_updates_it_and_closes_it_when_gone(repo: Repo) -> None:
    assert repo.telephony("apply", "--auto-approve").returncode == 0
    clean = repo.drift()
    assert clean.success, clean.log
    assert repo.state().get("issues", []) == []

    repo.dashboard_edit("+14155550101", "Edited in the dashboard")
    assert repo.drift().success  # the issue is the alert, not a red run
    [issue] = repo.state()["issues"]
    marker = repo.telephony("drift", "--format", "markdown").stdout.splitlines()[0]
    assert issue["state"] == "open" and issue["body"].splitlines()[0] == marker
    assert "Edited in the dashboard" in issue["body"]

    repo.dashboard_edit("+14155550101", "Edited again")
    assert repo.drift().success
    [issue] = repo.state()["issues"]  # the same issue, updated
    assert "Edited again" in issue["body"] and "Edited in the dashboard" not in issue["body"]

    assert repo.telephony("apply", "--auto-approve").returncode == 0  # someone fixes it
    assert repo.drift().success
    [issue] = repo.state()["issues"]
    assert issue["state"] == "closed"
    assert "No drift any more" in repo.state()["comments"][str(issue["number"])][0]["body"]


def test_the_plan_job_gets_no_secret_but_the_api_key() -> None:
    workflow = yaml.safe_load((CI / "plan-on-pr.yml").read_text())
    text = yaml.safe_dump(workflow)
    import re

    assert set(re.findall(r"secrets\.(\w+)", text)) == {"ELEVENLABS_API_KEY", "TELEPHONY_SECRETS_TOKEN"}
    assert "pip install ." not in "".join(p.read_text() for p in CI.glob("*.yml"))


def test_gitlab_merge_request_note_then_the_merge_applies_that_plan(repo: Repo) -> None:
    from tests.ci.runner import GitLabRunner

    shutil.copytree(repo.path / ".github" / "telephony", repo.path / ".gitlab" / "telephony")
    (repo.path / "telephony.yaml").write_text(CHANGED)
    predefined = {
        "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": str(PR),
        "CI_COMMIT_SHA": MERGED,
        "ELEVENLABS_API_KEY": API_KEY,
        "GITLAB_TOKEN": "glpat-test",
    }
    gitlab = GitLabRunner(repo.path, repo.runner.base_env, predefined, repo.forge)
    pipeline = CI / "gitlab" / ".gitlab-ci.yml"
    planned = gitlab.run_job(pipeline, "telephony-plan")
    assert planned.success, planned.log
    [note] = repo.comments()
    assert "2 to add" in note
    assert ["glab", "variable", "list", "--output", "json", "--per-page", "100"] in repo.calls()
    assert gitlab.run_job(pipeline, "telephony-plan").success
    assert len(repo.comments()) == 1  # updated in place

    gitlab.predefined.update({k: v for k, v in SECRETS.items()})  # the production-scoped variables
    merged = gitlab.run_job(pipeline, "telephony-apply")
    assert merged.success, merged.log
    assert {n["label"] for n in repo.numbers().values()} == {"Support", "Sales line"}
