"""The bad-manifest corpus: every file gives its exact located messages, never a traceback.

`tests/fixtures/invalid/NAME.yaml` must fail (exit 1) and `tests/fixtures/warnings/NAME.yaml`
must pass with warnings (exit 0; exit 1 with --strict); `NAME.expected` beside each holds the
exact output of `telephony validate -f NAME.yaml`. To refresh one after a deliberate message
change, run validate in that directory with the environment in `ENVIRON` and review the diff.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner.cli import cli
from provisioner.loader import MAX_FILE_BYTES
from tests.helpers import cli_env, run_cli

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
INVALID = sorted((FIXTURES / "invalid").glob("*.yaml"))
WARNINGS = sorted((FIXTURES / "warnings").glob("*.yaml"))
# What the corpus expects in the environment (so only the unset-variables fixture warns).
ENVIRON = {
    "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
    "TWILIO_AUTH_TOKEN": "t",
    "PBX_PASSWORD": "p",
}
# Parsing-level failures also run through the real CLI in a subprocess.
SUBPROCESS = {
    "malformed-yaml",
    "tabs",
    "empty",
    "billion-laughs",
    "not-a-mapping",
    "not-utf8",
    "duplicate-key",
    "wrong-types",
    "unquoted-number",
    "template-syntax",
    "template-sandbox",
    "literal-secret",
    "deep-nesting",
}


def _clean_environ() -> dict[str, str]:
    return cli_env(minimal=True, **ENVIRON)


def _in_process(path: Path, *args: str) -> tuple[int, str]:
    runner = CliRunner()
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        env: dict[str, str | None] = {**dict.fromkeys(["UNSET_SID_FOR_TEST", "UNSET_TOKEN_FOR_TEST"]), **ENVIRON}
        result = runner.invoke(cli, ["validate", "-f", path.name, *args], env=env)
    finally:
        os.chdir(cwd)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def _subprocess(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("validate", "-f", path.name, *args, cwd=path.parent, env=_clean_environ(), timeout=60)


def test_the_corpus_is_large_enough() -> None:
    assert len(INVALID) >= 30
    assert all(p.with_suffix(".expected").exists() for p in INVALID + WARNINGS)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_manifest_gives_its_located_messages(path: Path) -> None:
    code, output = _in_process(path)
    assert output == path.with_suffix(".expected").read_text()
    assert code == 1
    assert output.startswith(f"{path.name}:")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SUBPROCESS))
def test_real_cli_reports_without_traceback(name: str) -> None:
    path = FIXTURES / "invalid" / f"{name}.yaml"
    result = _subprocess(path)
    assert result.returncode == 1
    assert result.stdout == path.with_suffix(".expected").read_text()
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("path", WARNINGS, ids=lambda p: p.stem)
def test_warnings_pass_unless_strict(path: Path) -> None:
    code, output = _in_process(path)
    assert output == path.with_suffix(".expected").read_text()
    assert code == 0
    strict_code, strict_output = _in_process(path, "--strict")
    assert strict_code == 1
    assert strict_output.count(": error: ") == output.count(": warning: ")


@pytest.mark.slow
def test_huge_file_fails_fast_with_a_located_error(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    line = 'label: "' + "x" * 100 + '"\n'
    huge.write_text("version: 1\n" + line * (MAX_FILE_BYTES // 100))  # about 9% over the limit
    started = time.monotonic()
    result = _subprocess(huge)
    assert time.monotonic() - started < 10
    size = huge.stat().st_size
    assert result.stdout.splitlines()[0] == (
        f"huge.yaml:1:1: error: file is too large ({size} bytes; the limit is {MAX_FILE_BYTES})"
    )
    assert result.returncode == 1


@pytest.mark.slow
def test_large_but_allowed_file_loads_quickly(tmp_path: Path) -> None:
    lines = ["version: 1", "sip_trunks:", "  pbx:", "    inbound: {allowed_addresses: [203.0.113.0/24]}"]
    lines.append("phone_numbers:")
    for i in range(4000):
        lines += [f"  line-{i}:", f'    number: "+1415{i:07d}"', f"    label: Line {i}"]
        lines += ["    provider: sip_trunk", "    sip_trunk: pbx"]
    path = tmp_path / "large.yaml"
    path.write_text("\n".join(lines) + "\n")
    started = time.monotonic()
    code, output = _in_process(path)
    assert time.monotonic() - started < 10
    assert (code, output) == (0, "valid: 0 errors, 0 warnings\n")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(
        "version: 1\n"
        "agents:\n"
        "  support: {id: agent_3701k3ttaq12ewp8b7qv5rfyszkz, transfers: [{to: nowhere, condition: c}]}\n"
        "phone_numbers:\n"
        "  a: {number: '+1 415 555 0100', label: A, provider: sip_trunk, sip_trunk: pbx, agent: suport}\n"
        "  b: {number: '+14155550101', lable: B, provider: sip_trunk, sip_trunk: pbx}\n"
    )
    code, output = _in_process(path)
    assert code == 1
    assert output.splitlines() == [
        "many.yaml:3:70: error: 'nowhere' is not a transfer destination: an E.164 number, a sip: URI, or {{variable}}",
        "many.yaml:5:15: error: '+1 415 555 0100' is not an E.164 number; write '+14155550100'",
        "many.yaml:5:76: error: unknown SIP trunk 'pbx' (no sip_trunks are declared)",
        "many.yaml:5:88: error: unknown agent 'suport'; did you mean 'support'?",
        "many.yaml:6:3: error: missing required key 'label'",
        "many.yaml:6:31: error: unknown key 'lable'; did you mean 'label'?",
        "invalid: 6 errors, 0 warnings",
    ]


VALID = sorted((FIXTURES / "valid").glob("*.yaml"))


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_fixture_passes_strict(path: Path) -> None:
    env: dict[str, str | None] = {**ENVIRON, "TWILIO_API_KEY_SECRET": "s", "CRM_TOKEN": None}
    result = CliRunner().invoke(cli, ["validate", "--strict", "-f", str(path)], env=env)
    assert (result.exit_code, result.output) == (0, "valid: 0 errors, 0 warnings\n")
