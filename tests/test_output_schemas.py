"""The machine formats: schemas are current, outputs validate, and `show` reproduces `plan --out`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from provisioner.cli import cli
from provisioner.output_schemas import SCHEMAS, schema_text

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "telephony.yaml"


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_schema_files_are_current_and_valid(kind: str) -> None:
    path = ROOT / "schemas" / f"{kind}.schema.json"
    assert path.read_text() == schema_text(kind), f"stale; run: telephony schema --kind {kind} > {path}"
    jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))


def schema(kind: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((ROOT / "schemas" / f"{kind}.schema.json").read_text()))


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "telephony.yaml").write_text(MANIFEST.read_text().replace("./schemas/", str(ROOT / "schemas") + "/"))
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith(("ELEVENLABS", "TELEPHONY"))]:
        monkeypatch.delenv(name)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_plan_json_and_plan_file_validate_and_show_reproduces_every_format(sandbox: Path) -> None:
    printed = {}
    for fmt in ("text", "json", "markdown"):
        code, out, err = invoke("plan", "--sandbox", "--format", fmt, "--out", f"saved-{fmt}.plan")
        assert code == 0, err
        printed[fmt] = out
    schema("plan-output").validate(json.loads(printed["json"]))
    for fmt in ("text", "json", "markdown"):
        data = json.loads((sandbox / f"saved-{fmt}.plan").read_text())
        schema("plan-file").validate(data)
        code, out, err = invoke("show", f"saved-{fmt}.plan", "--format", fmt)
        assert (code, err) == (0, "")
        assert out == printed[fmt], fmt
    assert "will be created" in printed["text"] and "(sensitive value, write-only)" in printed["text"]


def test_drift_json_validates(sandbox: Path) -> None:
    code, out, _ = invoke("drift", "--sandbox", "--format", "json")
    assert code == 2
    data = json.loads(out)
    schema("plan-output").validate(data)
    assert data["mode"] == "drift" and data["has_changes"] is True


def test_show_refuses_a_damaged_plan_file(sandbox: Path) -> None:
    code, _, _ = invoke("plan", "--sandbox", "--out", "p.plan")
    assert code == 0
    data = json.loads((sandbox / "p.plan").read_text())
    data["plan"]["changes"][0]["type"] = "no_such_change"
    (sandbox / "p.plan").write_text(json.dumps(data))
    code, out, err = invoke("show", "p.plan")
    assert code == 1 and out == ""
    assert err.startswith("Error: p.plan is a damaged telephony plan file") and len(err.splitlines()) == 1


def test_plan_out_dash_writes_the_plan_file_to_stdout_and_the_plan_to_stderr(sandbox: Path) -> None:
    code, out, err = invoke("plan", "--sandbox", "--out", "-")
    assert code == 0
    schema("plan-file").validate(json.loads(out))
    assert "will be created" in err and not (sandbox / "-").exists()


def test_apply_json_validates_and_stdout_is_the_document_alone(sandbox: Path) -> None:
    code, out, err = invoke("apply", "--sandbox", "--auto-approve", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    schema("apply-output").validate(data)
    assert data["exit_code"] == 0 and data["steps"] and data["summary"]["applied"] == len(data["steps"])
    assert {s["outcome"] for s in data["steps"]} == {"applied"}
    assert "will be created" in err  # the plan went to stderr
    # Nothing left to do: still one document, with no steps.
    code, out, _ = invoke("apply", "--sandbox", "--auto-approve", "--format", "json")
    assert code == 0
    again = json.loads(out)
    schema("apply-output").validate(again)
    assert again["steps"] == [] and again["error"] is None


def test_a_plan_refused_before_any_write_is_still_one_json_document(sandbox: Path) -> None:
    assert invoke("plan", "--sandbox", "--out", "p.plan")[0] == 0
    code, out, err = invoke("apply", "p.plan", "--format", "json")  # made with --sandbox, applied without
    assert code == 5
    data = json.loads(out)
    schema("apply-output").validate(data)
    assert data["exit_code"] == 5 and data["steps"] == []
    assert data["error"] == "p.plan was made with --sandbox; apply it with --sandbox, or make a new plan without it."
    assert err == f"Error: {data['error']}\n"
