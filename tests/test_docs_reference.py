"""The generated reference pages (docs/reference/) match the code they are generated from.

`python3 -m provisioner.docsgen` writes them; these tests regenerate them in memory, so a change
to the models, the validate codes or a command's help that was not regenerated fails here.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from provisioner import diagnostic_codes, docsgen
from provisioner import manifest as m
from tests.helpers import cli_env, run_cli

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("relative", sorted(docsgen.pages()))
def test_generated_page_is_current(relative: str) -> None:
    path = ROOT / relative
    committed = path.read_text(encoding="utf-8") if path.exists() else ""
    assert committed == docsgen.pages()[relative], f"{relative} is stale; run: {docsgen.REGENERATE}"


def test_check_mode_names_a_stale_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docsgen, "pages", lambda: {"docs/reference/x.md": "new\n"})
    monkeypatch.setattr(docsgen, "__file__", str(tmp_path / "provisioner" / "docsgen.py"))
    assert docsgen.main(["--check"]) == 1
    assert not (tmp_path / "docs/reference/x.md").exists()  # --check writes nothing
    assert docsgen.main([]) == 0
    assert (tmp_path / "docs/reference/x.md").read_text() == "new\n"
    assert docsgen.main(["--check"]) == 0


def _models() -> list[type[BaseModel]]:
    return [v for v in vars(m).values() if isinstance(v, type) and issubclass(v, m.Model) and v is not m.Model]


def test_manifest_reference_documents_every_key_with_a_meaning() -> None:
    page = docsgen.manifest_reference()
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| .* \| (.*) \|$", page, re.MULTILINE))
    keys = {name for model in _models() for name in model.model_fields}
    assert keys - set(rows) == set()
    # A key without a description would be an empty cell; `provider` is the discriminator, named by its type.
    undescribed = {
        f"{model.__name__}.{name}"
        for model in _models()
        for name, field in model.model_fields.items()
        if not field.description and name != "provider"
    }
    assert undescribed == set()


def test_manifest_reference_links_every_model_it_names() -> None:
    page = docsgen.manifest_reference()
    anchors = {heading.lower() for heading in re.findall(r"^## (\w+)$", page, re.MULTILINE)}
    assert set(re.findall(r"\]\(#(\w+)\)", page)) <= anchors
    assert {"manifest", "agent", "transferrule", "siptrunk", "twilionumber", "siptrunknumber"} <= anchors


def test_type_names_read_as_the_schema_checks() -> None:
    assert docsgen._type(m.Workspace.model_fields["region"].annotation) == "`default`, `us`, `eu`, `in` or `sg`"
    assert (
        docsgen._type(m.Agent.model_fields["pre_call_webhook"].annotation) == "boolean, [Webhook](#webhook) or `null`"
    )
    assert docsgen._type(dict[str, list[int] | None]) == "map: name → (list of integer or `null`)"
    with pytest.raises(TypeError, match="no reader's name"):
        docsgen._type(typing.Any)


def test_validate_rules_list_every_code_once_under_its_stage() -> None:
    page = docsgen.validate_rules()
    listed = re.findall(r"^\| `([a-z0-9-]+)` \| (error|warning|error or warning) \|", page, re.MULTILINE)
    assert [code for code, _ in listed] == [c.code for c in sorted(diagnostic_codes.CODES, key=_stage_order)]
    assert len(set(diagnostic_codes.BY_CODE)) == len(diagnostic_codes.CODES)


def _stage_order(code: diagnostic_codes.Code) -> int:
    return list(diagnostic_codes.STAGES).index(code.stage)


def test_cli_reference_has_every_command_and_is_not_terminal_dependent(monkeypatch: pytest.MonkeyPatch) -> None:
    from provisioner.cli import cli

    page = docsgen.cli_reference()
    headings = re.findall(r"^## (telephony.*)$", page, re.MULTILINE)
    assert {f"telephony {name}" for name in cli.commands} <= set(headings)
    assert "telephony batch submit" in headings and "telephony webhook test" in headings
    monkeypatch.setenv("COLUMNS", "40")
    assert docsgen.cli_reference() == page


@pytest.mark.parametrize("args", [["validate"], ["batch", "submit"]], ids=" ".join)
def test_cli_reference_shows_what_help_prints(args: list[str]) -> None:
    # A real process: click caches each command's help option once it has been used, so an
    # in-process `--help` run by another test could hide a page generated with the wrong settings.
    result = run_cli(*args, "--help", env=cli_env(COLUMNS="200"))
    assert result.returncode == 0
    assert f"```text\n{result.stdout.rstrip()}\n```" in docsgen.cli_reference()
