"""Whose comment a markdown plan is: the hidden marker, and the commit and run read from CI variables."""

from __future__ import annotations

import re

import pytest

from provisioner.header import Header, from_ci, header

MARKER = re.compile(r"<!-- telephony:(plan|drift) env=(\S+) manifest=(\S+) -->")


def test_marker_names_kind_env_and_manifest() -> None:
    assert Header().marker("plan") == "<!-- telephony:plan env=default manifest=telephony.yaml -->"
    shown = Header(manifest="deploy/prod/telephony.yaml", env="prod").marker("drift")
    assert shown == "<!-- telephony:drift env=prod manifest=deploy/prod/telephony.yaml -->"


@pytest.mark.parametrize(
    ("path", "encoded"),
    [
        ("my dir/telephony.yaml", "my%20dir/telephony.yaml"),
        ("x-->y.yaml", "x--%3Ey.yaml"),  # cannot close the comment early
        ("a\nb.yaml", "a%0Ab.yaml"),  # cannot break the marker over two lines
        ("é.yaml", "%C3%A9.yaml"),
    ],
)
def test_marker_values_are_percent_encoded_so_it_stays_one_parseable_line(path: str, encoded: str) -> None:
    marker = Header(manifest=path, env="a b").marker("plan")
    assert "\n" not in marker and marker.count("-->") == 1
    found = MARKER.fullmatch(marker)
    assert found is not None and found.groups() == ("plan", "a%20b", encoded)


GITHUB = {
    "GITHUB_SHA": "8f14e45fceea167a5a36dedd4bea2543c4a0f3b2",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/voice",
    "GITHUB_RUN_ID": "4242",
}


def test_github_commit_and_run_url() -> None:
    assert from_ci(GITHUB) == (GITHUB["GITHUB_SHA"], "https://github.com/acme/voice/actions/runs/4242")
    enterprise = {**GITHUB, "GITHUB_SERVER_URL": "https://git.example.com/"}
    assert from_ci(enterprise)[1] == "https://git.example.com/acme/voice/actions/runs/4242"
    # Without all three parts there is no run URL to build; the commit is still shown.
    assert from_ci({**GITHUB, "GITHUB_RUN_ID": ""}) == (GITHUB["GITHUB_SHA"], None)


def test_gitlab_commit_and_pipeline_or_job_url() -> None:
    gitlab = {
        "CI_COMMIT_SHA": "c4ca4238a0b923820dcc509a6f75849bc4ca4238",
        "CI_PIPELINE_URL": "https://gitlab.example.com/acme/voice/-/pipelines/77",
        "CI_JOB_URL": "https://gitlab.example.com/acme/voice/-/jobs/901",
    }
    assert from_ci(gitlab) == (gitlab["CI_COMMIT_SHA"], gitlab["CI_PIPELINE_URL"])
    assert from_ci({**gitlab, "CI_PIPELINE_URL": ""})[1] == gitlab["CI_JOB_URL"]
    assert from_ci({"CI_JOB_URL": gitlab["CI_JOB_URL"]}) == (None, gitlab["CI_JOB_URL"])


def test_outside_ci_nothing_is_shown() -> None:
    assert from_ci({}) == (None, None)
    assert from_ci({"CI": "true", "HOME": "/root", "GITHUB_SHA": "  "}) == (None, None)
    made = header("telephony.yaml", None, {"PATH": "/bin"}, ("w",))
    assert made == Header(manifest="telephony.yaml", env=None, commit=None, run_url=None, warnings=("w",))
