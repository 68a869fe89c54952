"""A fake `gh` and `glab` for the CI tests: records each call and answers from a JSON state file.

`python3 fake_forge.py gh ARGS...` (or `glab ARGS...`), with FAKE_FORGE_STATE naming a directory
holding state.json. It serves only what examples/ci/scripts/forge.sh asks (comments, issues,
secret names, pull requests, plan artifacts); anything else exits 1 naming the call, so a script
that starts using a new endpoint fails its test until the fake (and the review) learn it.

state.json:
    {"comments": {"7": [{"id": 1, "body": "..."}]},      # pull/merge request and issue comments
     "issues": [{"number": 3, "title": "...", "body": "...", "state": "open"}],
     "secrets": {"": ["ELEVENLABS_API_KEY"], "production": ["PBX_SIP_PASSWORD"]},
     "pulls": {"7": {"head_sha": "abc", "merge_commit": "def"}},
     "artifacts": [{"name": "...", "run_id": 100, "created_at": "...", "fork": false}],
     "next_id": 100}
Artifact files live under DIR/artifacts/RUN_ID/NAME/. Every call is appended to DIR/calls.jsonl.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

STATE = Path(os.environ["FAKE_FORGE_STATE"])
REPO_ID = 1
FORK_ID = 2


class Unsupported(Exception):
    pass


def load() -> dict[str, Any]:
    return json.loads((STATE / "state.json").read_text())


def save(state: dict[str, Any]) -> None:
    (STATE / "state.json").write_text(json.dumps(state, indent=2))


def new_id(state: dict[str, Any]) -> int:
    state["next_id"] = state.get("next_id", 100) + 1
    return int(state["next_id"])


def fields(pairs: list[tuple[str, bool]]) -> dict[str, str]:
    """`-f k=v` (raw) and `-F k=v` / `-F k=@file` (a file's text) as a dict."""
    result = {}
    for pair, typed in pairs:
        key, _, value = pair.partition("=")
        if typed and value.startswith("@"):
            value = Path(value[1:]).read_text()
        result[key] = value
    return result


def parse_api(args: list[str]) -> tuple[str, str, dict[str, str], str | None]:
    method, endpoint, jq = "GET", None, None
    pairs: list[tuple[str, bool]] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("--method", "-X"):
            method, i = args[i + 1], i + 2
        elif arg in ("-f", "--raw-field"):
            pairs.append((args[i + 1], False))
            i += 2
        elif arg in ("-F", "--field"):
            pairs.append((args[i + 1], True))
            i += 2
        elif arg in ("--jq", "-q"):
            jq, i = args[i + 1], i + 2
        elif arg == "--paginate":
            i += 1
        elif arg.startswith("-"):
            raise Unsupported(f"option {arg}")
        else:
            if endpoint is not None:
                raise Unsupported(f"second endpoint {arg}")
            endpoint, i = arg, i + 1
    if endpoint is None:
        raise Unsupported("no endpoint")
    return method, endpoint, fields(pairs), jq


def jq_filter(document: Any, expression: str | None) -> str:
    text = json.dumps(document)
    if expression is None:
        return text + "\n"
    return subprocess.run(["jq", "-r", expression], input=text, capture_output=True, text=True, check=True).stdout


# -- GitHub ------------------------------------------------------------------------------------


def gh_api(state: dict[str, Any], method: str, endpoint: str, body: dict[str, str]) -> Any:
    url = urlsplit(endpoint)
    query = parse_qs(url.query)
    parts = url.path.strip("/").split("/")
    if parts[:1] != ["repos"] or len(parts) < 4:
        raise Unsupported(endpoint)
    rest = parts[3:]
    comments: dict[str, list[dict[str, Any]]] = state.setdefault("comments", {})
    issues: list[dict[str, Any]] = state.setdefault("issues", [])
    match (method, rest):
        case ("GET", ["issues", number, "comments"]):
            return comments.get(number, [])
        case ("POST", ["issues", number, "comments"]):
            comment = {"id": new_id(state), "body": body["body"]}
            comments.setdefault(number, []).append(comment)
            return comment
        case ("PATCH", ["issues", "comments", comment_id]):
            for comment in (c for cs in comments.values() for c in cs):
                if str(comment["id"]) == comment_id:
                    comment["body"] = body["body"]
                    return comment
            raise Unsupported(f"no comment {comment_id}")
        case ("GET", ["issues"]):
            wanted = query.get("state", ["open"])[0]
            return [{**i, "pull_request": None} for i in issues if wanted in ("all", i["state"])]
        case ("POST", ["issues"]):
            issue = {"number": new_id(state), "title": body["title"], "body": body["body"], "state": "open"}
            issues.append(issue)
            return issue
        case ("PATCH", ["issues", number]):
            issue = next(i for i in issues if str(i["number"]) == number)
            issue.update({k: v for k, v in body.items() if k in ("body", "state", "title")})
            return issue
        case ("GET", ["commits", sha, "pulls"]):
            return [
                {"number": int(n), "merged_at": "2026-01-01T00:00:00Z"}
                for n, pull in state.get("pulls", {}).items()
                if pull.get("merge_commit") == sha
            ]
        case ("GET", ["pulls", number]):
            return {"number": int(number), "head": {"sha": state["pulls"][number]["head_sha"]}}
        case ("GET", ["actions", "artifacts"]):
            name = query.get("name", [None])[0]
            found = [a for a in state.get("artifacts", []) if name in (None, a["name"])]
            return {
                "total_count": len(found),
                "artifacts": [
                    {
                        "name": a["name"],
                        "expired": False,
                        "created_at": a["created_at"],
                        "workflow_run": {
                            "id": a["run_id"],
                            "repository_id": REPO_ID,
                            "head_repository_id": FORK_ID if a.get("fork") else REPO_ID,
                        },
                    }
                    for a in found
                ],
            }
    raise Unsupported(f"{method} {endpoint}")


def gh(state: dict[str, Any], args: list[str]) -> str:
    match args:
        case ["api", *rest]:
            method, endpoint, body, jq = parse_api(rest)
            return jq_filter(gh_api(state, method, endpoint, body), jq)
        case ["secret", "list", *rest]:
            environment = rest[rest.index("--env") + 1] if "--env" in rest else ""
            jq = rest[rest.index("--jq") + 1] if "--jq" in rest else None
            if "--json" not in rest:
                raise Unsupported("secret list without --json")
            return jq_filter([{"name": n} for n in state.get("secrets", {}).get(environment, [])], jq)
        case ["run", "download", run_id, *rest]:
            name, target = rest[rest.index("--name") + 1], Path(rest[rest.index("--dir") + 1])
            source = STATE / "artifacts" / run_id / name
            if not source.is_dir():
                print(f"no artifact {name} in run {run_id}", file=sys.stderr)
                raise SystemExit(1)
            shutil.copytree(source, target, dirs_exist_ok=True)
            return ""
    raise Unsupported(" ".join(args))


# -- GitLab ------------------------------------------------------------------------------------


def glab_api(state: dict[str, Any], method: str, endpoint: str, body: dict[str, str]) -> Any:
    url = urlsplit(endpoint)
    parts = url.path.strip("/").split("/")
    if parts[:1] != ["projects"] or len(parts) < 3:
        raise Unsupported(endpoint)
    rest = parts[2:]
    comments: dict[str, list[dict[str, Any]]] = state.setdefault("comments", {})
    issues: list[dict[str, Any]] = state.setdefault("issues", [])
    match (method, rest):
        case ("GET", ["merge_requests", number, "notes"]):
            return comments.get(number, [])
        case ("POST", ["merge_requests" | "issues", number, "notes"]):
            note = {"id": new_id(state), "body": body["body"]}
            comments.setdefault(number, []).append(note)
            return note
        case ("PUT", ["merge_requests", number, "notes", note_id]):
            note = next(n for n in comments.get(number, []) if str(n["id"]) == note_id)
            note["body"] = body["body"]
            return note
        case ("GET", ["issues"]):
            return [
                {"iid": i["number"], "title": i["title"], "description": i["body"]}
                for i in issues
                if i["state"] == "open"
            ]
        case ("POST", ["issues"]):
            issue = {"number": new_id(state), "title": body["title"], "body": body["description"], "state": "open"}
            issues.append(issue)
            return {"iid": issue["number"]}
        case ("PUT", ["issues", number]):
            issue = next(i for i in issues if str(i["number"]) == number)
            if "description" in body:
                issue["body"] = body["description"]
            if body.get("state_event") == "close":
                issue["state"] = "closed"
            return {"iid": issue["number"]}
        case ("GET", ["repository", "commits", sha, "merge_requests"]):
            return [
                {"iid": int(n), "state": "merged"}
                for n, pull in state.get("pulls", {}).items()
                if pull.get("merge_commit") == sha
            ]
        case ("GET", ["merge_requests", number, "pipelines"]):
            runs = [a for a in state.get("artifacts", []) if a.get("request") == number]
            return [{"id": a["run_id"]} for a in sorted(runs, key=lambda a: a["created_at"], reverse=True)]
        case ("GET", ["pipelines", pipeline, "jobs"]):
            return [{"id": int(pipeline), "name": "telephony-plan"}]
        case ("GET", ["jobs", job, "artifacts", *path]):
            artifact = next(a for a in state.get("artifacts", []) if str(a["run_id"]) == job)
            # GitLab serves a file of the job's artifacts archive by its path within the job's workspace.
            return Path(STATE / "artifacts" / job / artifact["name"] / Path(*path[1:])).read_text()
    raise Unsupported(f"{method} {endpoint}")


def glab(state: dict[str, Any], args: list[str]) -> str:
    match args:
        case ["api", *rest]:
            method, endpoint, body, jq = parse_api(rest)
            answer = glab_api(state, method, endpoint, body)
            return answer if isinstance(answer, str) else jq_filter(answer, jq)
        case ["variable", "list", "--output", "json", "--per-page", _]:
            scoped = state.get("secrets", {})
            variables = [{"key": n, "environment_scope": e or "*"} for e, names in scoped.items() for n in names]
            # As glab 1.82 does (gitlab-org/cli#8127): text lines before the JSON.
            return "Listing variables for the project:\n\n" + jq_filter(variables, None)
    raise Unsupported(" ".join(args))


def main() -> None:
    tool, args = sys.argv[1], sys.argv[2:]
    with (STATE / "calls.jsonl").open("a") as log:
        log.write(json.dumps({"tool": tool, "args": args}) + "\n")
    state = load()
    try:
        output = (gh if tool == "gh" else glab)(state, args)
    except Unsupported as exc:
        print(f"fake {tool}: unsupported call: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    save(state)
    sys.stdout.write(output)


if __name__ == "__main__":
    main()
