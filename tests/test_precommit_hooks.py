"""`.pre-commit-hooks.yaml`: the hooks adopters name in their `.pre-commit-config.yaml` (docs/editors.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT, run_cli

HOOKS = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}


def test_the_two_hooks_run_the_cli_on_manifests() -> None:
    assert set(HOOKS) == {"telephony-validate", "telephony-fmt"}
    # no secrets in a pre-commit run: unset ${VAR}s are checked by name in CI (docs/ci.md)
    assert HOOKS["telephony-validate"]["entry"] == "telephony validate --strict --ignore-unset"
    assert HOOKS["telephony-fmt"]["entry"] == "telephony fmt"
    for hook in HOOKS.values():
        assert hook["language"] == "python"  # pre-commit installs this repository at `rev`
        assert hook.get("pass_filenames", True)


@pytest.mark.parametrize(
    ("path", "matched"),
    [
        ("telephony.yaml", True),
        ("telephony.yml", True),
        ("infra/telephony.yaml", True),
        ("telephony.staging.yaml", True),
        ("telephony.prod-eu.yml", True),
        ("mytelephony.yaml", False),
        ("telephony.yaml.bak", False),
        ("telephony.schema.json", False),
        ("examples/full.yaml", False),
    ],
)
def test_the_hooks_match_manifest_file_names(path: str, matched: bool) -> None:
    for hook in HOOKS.values():
        assert bool(re.search(hook["files"], path)) is matched


def test_the_documented_config_names_the_hooks() -> None:
    page = (ROOT / "docs" / "editors.md").read_text()
    block = page[page.index("repos:") : page.index("```", page.index("repos:"))]
    config = yaml.safe_load(block)
    assert [h["id"] for h in config["repos"][0]["hooks"]] == sorted(HOOKS, reverse=True)
    assert config["repos"][0]["rev"] == "v0.2.0"


@pytest.mark.slow
def test_the_fmt_entry_takes_the_file_names_pre_commit_passes(tmp_path: Path) -> None:
    for name in ("telephony.yaml", "telephony.staging.yaml"):
        (tmp_path / name).write_text("agents: {}\nversion: 1\n")
    result = run_cli(
        *HOOKS["telephony-fmt"]["entry"].split()[1:], "telephony.yaml", "telephony.staging.yaml", cwd=tmp_path
    )
    assert result.returncode == 0 and result.stdout.count("formatted ") == 2
    assert (tmp_path / "telephony.staging.yaml").read_text() == "version: 1\nagents: {}\n"
