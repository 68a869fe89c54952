"""Run a GitHub Actions job of examples/ci/ locally, step by step, as the runner would.

What the tests need and no more: `run:` steps under the shell GitHub uses for `shell: bash`
(`bash --noprofile --norc -eo pipefail`), `env:` at workflow, job and step level, `${{ }}`
expressions (context lookups, `||`, `&&`, `!`, `==`, `!=`, `format`, `hashFiles`, the status
functions), `if:` on jobs and steps, `working-directory`, $GITHUB_OUTPUT / $GITHUB_STEP_SUMMARY,
and the composite action at the repository root (`uses: OWNER/telephony@REF`). Of other actions:
`actions/checkout` (the work tree is already there; `path:` gets a copy of the manifest) and
`actions/upload-artifact` (into the fake forge's state, which `gh run download` serves).

A context a test did not provide is an error, not an empty string, so an expression a workflow
starts using fails the tests until they provide it; a missing key of a provided context (e.g.
a secret the repository does not have) is '' as on GitHub.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
STEP_TIMEOUT_S = 240
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
_TOKEN = re.compile(r"'(?:[^']|'')*'|[A-Za-z_][\w.-]*\s*\(|[A-Za-z_][\w.\-]*(?:\[\d+\])?|&&|\|\||!=|==|!|[(),]|\s+|\d+")


@dataclass
class StepResult:
    name: str
    outcome: str  # success, failure, skipped
    code: int = 0
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class JobResult:
    steps: list[StepResult] = field(default_factory=list)
    skipped: bool = False

    @property
    def success(self) -> bool:
        return not self.skipped and all(s.outcome != "failure" for s in self.steps)

    @property
    def log(self) -> str:
        return "\n".join(f"--- {s.name}: {s.outcome} ({s.code})\n{s.stdout}{s.stderr}" for s in self.steps)


class Context:
    """The expression contexts (github, secrets, inputs, steps) and the status of the job so far."""

    def __init__(self, contexts: Mapping[str, Any], workspace: Path) -> None:
        self.contexts = dict(contexts)
        self.workspace = workspace
        self.failed = False

    def lookup(self, path: str) -> Any:
        root, *keys = path.split(".")
        if root not in self.contexts:
            raise KeyError(f"expression context '{root}' not provided by the test ({path})")
        value: Any = self.contexts[root]
        for key in keys:
            value = value.get(key, "") if isinstance(value, dict) else ""
        return value

    def hash_files(self, pattern: str) -> str:
        path = self.workspace / pattern
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""

    def evaluate(self, expression: str) -> Any:
        functions = {
            "success": lambda: not self.failed,
            "failure": lambda: self.failed,
            "always": lambda: True,
            "cancelled": lambda: False,
            "hashFiles": self.hash_files,
            "format": lambda text, *args: re.sub(r"\{(\d+)\}", lambda m: str(args[int(m.group(1))]), text),
            "contains": lambda haystack, needle: needle in haystack,
            "startsWith": lambda text, prefix: str(text).startswith(prefix),
        }
        python: list[str] = []
        position = 0
        for match in _TOKEN.finditer(expression):
            if match.start() != position:
                raise ValueError(f"cannot read the expression {expression!r} at {position}")
            position = match.end()
            token = match.group()
            if token.startswith("'"):
                python.append(repr(token[1:-1].replace("''", "'")))
            elif token.endswith("("):
                name = token[:-1].strip()
                if name not in functions:
                    raise ValueError(f"function {name} is not supported")
                python.append(f"_f[{name!r}](")
            elif token in ("&&", "||"):
                python.append(" and " if token == "&&" else " or ")
            elif token == "!":
                python.append(" not ")
            elif token in ("true", "false", "null"):
                python.append({"true": "True", "false": "False", "null": "None"}[token])
            elif re.fullmatch(r"[A-Za-z_][\w.\-]*", token):
                python.append(f"_c({token!r})")
            else:
                python.append(token)
        if position != len(expression):
            raise ValueError(f"cannot read the expression {expression!r}")
        return eval("".join(python), {"_f": functions, "_c": self.lookup, "__builtins__": {}})

    def substitute(self, text: Any) -> str:
        return _EXPRESSION.sub(lambda m: _text(self.evaluate(m.group(1).strip())), str(text))

    def condition(self, condition: Any) -> bool:
        if condition is None:
            return not self.failed
        text = str(condition).strip()
        inner = _EXPRESSION.fullmatch(text)
        value = self.evaluate(inner.group(1).strip() if inner else text)
        uses_status = re.search(r"\b(success|failure|always|cancelled)\(", text)
        # GitHub adds an implicit success() to a condition that names no status function.
        return bool(value) and (bool(uses_status) or not self.failed)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class Runner:
    """One repository checkout (`workspace`) and the environment its jobs run in."""

    workspace: Path
    base_env: dict[str, str]
    contexts: dict[str, Any]
    forge_state: Path
    run_id: int = 1000

    def run_job(self, workflow: Path, job_name: str) -> JobResult:
        document = yaml.safe_load(workflow.read_text())
        job = document["jobs"][job_name]
        self.run_id += 1
        ctx = Context({**self.contexts, "steps": {}}, self.workspace)
        result = JobResult()
        if "if" in job and not ctx.condition(job["if"]):
            result.skipped = True
            return result
        env = {**_env(ctx, document.get("env")), **_env(ctx, job.get("env"))}
        shell = ((job.get("defaults") or document.get("defaults") or {}).get("run") or {}).get("shell")
        if any("run" in step for step in job["steps"]):
            assert shell == "bash", "the examples run every step under bash (pipefail)"
        for step in job["steps"]:
            self._step(ctx, step, env, result)
        return result

    def _step(self, ctx: Context, step: dict[str, Any], env: dict[str, str], result: JobResult) -> None:
        name = str(step.get("name") or step.get("run") or step.get("uses"))
        if not ctx.condition(step.get("if")):
            result.steps.append(StepResult(name, "skipped"))
            return
        step_env = {**env, **_env(ctx, step.get("env"))}
        if "run" in step:
            outcome = self._run(ctx, name, ctx.substitute(step["run"]), step_env, step.get("working-directory"))
        else:
            outcome = self._uses(ctx, name, step, step_env, result)
        if outcome is not None:
            result.steps.append(outcome)
            if outcome.outcome == "failure":
                ctx.failed = True
            if "id" in step:
                ctx.contexts["steps"][step["id"]] = {
                    "outcome": outcome.outcome,
                    "outputs": outcome.__dict__.get("outputs", {}),
                }

    def _run(self, ctx: Context, name: str, script: str, env: dict[str, str], directory: str | None) -> StepResult:
        scratch = self.forge_state / "runner"
        scratch.mkdir(exist_ok=True)
        (scratch / "step.sh").write_text(script)
        output = scratch / "output"
        output.write_text("")
        process_env = {
            **self.base_env,
            **env,
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(self.forge_state / "step_summary.md"),
            "GITHUB_RUN_ID": str(self.run_id),
            "GITHUB_REPOSITORY": str(ctx.lookup("github.repository")),
            "GITHUB_ACTIONS": "true",
        }
        if ctx.contexts.get("github", {}).get("action_path"):
            process_env["GITHUB_ACTION_PATH"] = str(ctx.contexts["github"]["action_path"])
        cwd = self.workspace / ctx.substitute(directory) if directory else self.workspace
        command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(scratch / "step.sh")]
        done = subprocess.run(command, cwd=cwd, env=process_env, capture_output=True, text=True, timeout=STEP_TIMEOUT_S)
        result = StepResult(
            name, "success" if done.returncode == 0 else "failure", done.returncode, done.stdout, done.stderr
        )
        outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
        result.__dict__["outputs"] = outputs
        return result

    def _uses(
        self, ctx: Context, name: str, step: dict[str, Any], env: dict[str, str], result: JobResult
    ) -> StepResult | None:
        action = str(step["uses"])
        inputs = {k: ctx.substitute(v) for k, v in (step.get("with") or {}).items()}
        if action.startswith("actions/checkout@"):
            if "path" in inputs:  # the fork's manifest beside the base branch's checkout
                target = self.workspace / inputs["path"]
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy(self.workspace / "telephony.yaml", target / "telephony.yaml")
            return StepResult(name, "success")
        if action.startswith("actions/upload-artifact@"):
            source = self.workspace / inputs["path"]
            target = self.forge_state / "artifacts" / str(self.run_id) / inputs["name"]
            shutil.copytree(source, target, dirs_exist_ok=True)
            state = json.loads((self.forge_state / "state.json").read_text())
            created = f"2026-01-01T00:00:{len(state.get('artifacts', [])):02d}Z"
            state.setdefault("artifacts", []).append(
                {"name": inputs["name"], "run_id": self.run_id, "created_at": created}
            )
            (self.forge_state / "state.json").write_text(json.dumps(state, indent=2))
            return StepResult(name, "success")
        if re.fullmatch(r"[\w-]+/telephony@[\w.-]+", action):
            return self._composite(ctx, name, inputs, env, result)
        raise AssertionError(f"the runner does not know the action {action}")

    def _composite(
        self, ctx: Context, name: str, given: dict[str, str], env: dict[str, str], result: JobResult
    ) -> StepResult | None:
        action = yaml.safe_load((ROOT / "action.yml").read_text())
        unknown = set(given) - set(action["inputs"])
        assert not unknown, f"inputs the action does not declare: {unknown}"
        inner = Context(
            {**ctx.contexts, "github": {**ctx.contexts["github"], "action_path": str(ROOT)}, "steps": {}},
            self.workspace,
        )
        inputs = {k: given.get(k, inner.substitute(spec.get("default", ""))) for k, spec in action["inputs"].items()}
        inner.contexts["inputs"] = inputs
        for step in action["runs"]["steps"]:
            assert "run" not in step or step.get("shell") == "bash"
            self._step(inner, step, env, result)
        ctx.failed = ctx.failed or inner.failed
        del name
        return None


def _env(ctx: Context, block: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k): ctx.substitute(v) for k, v in (block or {}).items()}


def install_scripts(workspace: Path) -> None:
    """What an adopter does: examples/ci/scripts/ copied to .github/telephony/ (TELEPHONY_CI)."""
    shutil.copytree(ROOT / "examples" / "ci" / "scripts", workspace / ".github" / "telephony", dirs_exist_ok=True)


def fake_bin(directory: Path, state: Path) -> Path:
    """`gh`, `glab` (the fake forge), `pipx` (records what it was asked to install) and `telephony`
    (this checkout, as `python -m provisioner`) in `directory`."""
    import sys

    directory.mkdir(parents=True, exist_ok=True)
    forge = Path(__file__).with_name("fake_forge.py")
    tools = {
        "gh": f'exec "{sys.executable}" "{forge}" gh "$@"',
        "glab": f'exec "{sys.executable}" "{forge}" glab "$@"',
        "pipx": f'printf "%s\\n" "$*" >> "{state}/pipx.log"',
        "telephony": f'exec "{sys.executable}" -m provisioner "$@"',
    }
    for tool, body in tools.items():
        path = directory / tool
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    return directory


def path_with(directory: Path) -> str:
    return f"{directory}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"


# -- GitLab CI ---------------------------------------------------------------------------------


@dataclass
class GitLabRunner:
    """Runs a .gitlab-ci.yml job's `script:` lines in one bash (-eo pipefail), with the file's and
    the job's `variables:` ($VARs expanded from `predefined`, the CI_* variables a test gives).
    `before_script` (the image's setup: apk, pipx) is not run: the fake bin directory stands in."""

    workspace: Path
    base_env: dict[str, str]
    predefined: dict[str, str]
    forge_state: Path
    job_id: int = 5000

    def run_job(self, pipeline: Path, job_name: str) -> JobResult:
        document = yaml.safe_load(pipeline.read_text())
        job = document[job_name]
        self.job_id += 1
        variables = {**self.predefined}
        for block in (document.get("variables"), job.get("variables")):
            for key, value in (block or {}).items():
                variables[str(key)] = _expand(str(value), variables)
        script = self.forge_state / "gitlab-job.sh"
        script.write_text("\n".join(job["script"]) + "\n")
        command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)]
        env = {**self.base_env, **variables, "GITLAB_CI": "true", "CI_JOB_ID": str(self.job_id)}
        done = subprocess.run(
            command, cwd=self.workspace, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT_S
        )
        outcome = "success" if done.returncode == 0 else "failure"
        result = JobResult([StepResult(job_name, outcome, done.returncode, done.stdout, done.stderr)])
        artifacts = job.get("artifacts") or {}
        if outcome == "success" and artifacts.get("paths"):
            [path] = artifacts["paths"]
            source = self.workspace / path
            if source.is_dir():
                name = path.strip("/")
                shutil.copytree(source, self.forge_state / "artifacts" / str(self.job_id) / name, dirs_exist_ok=True)
                state = json.loads((self.forge_state / "state.json").read_text())
                created = f"2026-01-01T00:00:{len(state.get('artifacts', [])):02d}Z"
                entry = {"name": name, "run_id": self.job_id, "created_at": created, "request": variables["REQUEST"]}
                state.setdefault("artifacts", []).append(entry)
                (self.forge_state / "state.json").write_text(json.dumps(state, indent=2))
        return result


def _expand(value: str, variables: Mapping[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m.group(1), ""), value)
