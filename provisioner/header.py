"""Who a pull-request comment belongs to: kind, environment, manifest, commit and CI run.

A bot updates "its" comment by matching the hidden marker on the markdown's first line, so the
marker names everything that tells two comments of one pull request apart (plan or drift, the
environment, the manifest path). The commit and the run link are for the reviewer.

`from_ci` reads the CI variables from a mapping the command passes in (`os.environ` at the CLI
edge); rendering never reads the environment, so the same plan renders the same markdown
wherever it runs and golden files stay stable. See docs/pr-comments.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

DEFAULT_ENV = "default"  # the marker's env when no --env was given
DEFAULT_MANIFEST = "telephony.yaml"
# Marker values are percent-encoded outside these, so a value never holds a space (the separator),
# `>` (which could close the comment early) or a line break; ordinary paths are left as written.
_MARKER_SAFE = "/._-~+@:,="


@dataclass(frozen=True)
class Header:
    """What a markdown comment's header shows; commit and run_url are None outside CI."""

    manifest: str = DEFAULT_MANIFEST  # as given with -f (or recorded in the plan file)
    env: str | None = None
    commit: str | None = None
    run_url: str | None = None
    warnings: tuple[str, ...] = ()  # the manifest's warnings from loading, `FILE:LINE:COL: warning: ...`

    @property
    def env_name(self) -> str:
        return self.env or DEFAULT_ENV

    def marker(self, kind: Literal["plan", "drift"]) -> str:
        """The hidden first line: `<!-- telephony:KIND env=ENV manifest=PATH -->`."""
        env, manifest = quote(self.env_name, safe=_MARKER_SAFE), quote(self.manifest, safe=_MARKER_SAFE)
        return f"<!-- telephony:{kind} env={env} manifest={manifest} -->"


def _value(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def from_ci(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(commit SHA, run URL) from GitHub Actions or GitLab CI variables; (None, None) elsewhere."""
    if _value(environ, "GITHUB_SHA") or _value(environ, "GITHUB_RUN_ID"):
        server, repo, run = (_value(environ, n) for n in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
        url = f"{server.rstrip('/')}/{repo}/actions/runs/{run}" if server and repo and run else None
        return _value(environ, "GITHUB_SHA"), url
    if _value(environ, "CI_COMMIT_SHA") or _value(environ, "CI_PIPELINE_URL") or _value(environ, "CI_JOB_URL"):
        url = _value(environ, "CI_PIPELINE_URL") or _value(environ, "CI_JOB_URL")
        return _value(environ, "CI_COMMIT_SHA"), url
    return None, None


def header(manifest: str, env: str | None, environ: Mapping[str, str], warnings: tuple[str, ...] = ()) -> Header:
    """The header of a comment for `manifest` loaded with `env`, in the CI run `environ` describes."""
    commit, run_url = from_ci(environ)
    return Header(manifest=manifest, env=env, commit=commit, run_url=run_url, warnings=warnings)
