"""Hostile manifests: every one a located error in bounded time and memory, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from provisioner import library
from provisioner.yamlsource import YamlError, parse

MAX_INT_DIGITS = 64

HUGE_INTEGERS = {
    "decimal": "9" * 100_000,
    "hex": "0x" + "f" * 100_000,
    "octal": "0" + "7" * 100_000,
    "binary": "0b" + "1" * 100_000,
    "sexagesimal": "1" + ":59" * 50_000,
    "underscores": "1_" * 50_000 + "1",
}


@pytest.mark.parametrize("name", sorted(HUGE_INTEGERS))
def test_a_huge_integer_is_a_located_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / "telephony.yaml"
    path.write_text(f"version: 1\nworkspace:\n  max_deletes: {HUGE_INTEGERS[name]}\n")
    found = library.validate(path)
    assert [(d.severity, d.line, d.column, d.code) for d in found] == [("error", 3, 16, "yaml-number")]
    assert f"(at most {MAX_INT_DIGITS}); quote it if it is meant as text" in found[0].message


def test_integers_within_the_limit_still_parse() -> None:
    text = f"a: {'9' * MAX_INT_DIGITS}\nb: 0x1f\nc: 1:30\nd: 1_000\ne: -0o17\n"
    data = parse(text).data
    assert data == {"a": int("9" * MAX_INT_DIGITS), "b": 31, "c": 90, "d": 1000, "e": "-0o17"}


def test_a_huge_integer_key_is_a_located_error() -> None:
    with pytest.raises(YamlError) as caught:
        parse("x:\n  ? " + "1" * 5000 + "\n  : y\n")
    assert [(p.mark.line, p.mark.column, p.code) for p in caught.value.problems] == [(1, 4, "yaml-number")]


@pytest.mark.slow
def test_a_100k_digit_literal_fails_fast_in_the_real_cli(tmp_path: Path) -> None:
    path = tmp_path / "telephony.yaml"
    path.write_text("version: 1\nworkspace:\n  max_deletes: " + "1" + ":59" * 100_000 + "\n")
    command = [sys.executable, "-m", "provisioner", "validate", "-f", path.name]
    root = str(Path(__file__).resolve().parents[1])
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=20, env={"PYTHONPATH": root, "NO_COLOR": "1"}
    )
    assert result.returncode == 1
    assert result.stdout.startswith("telephony.yaml:3:16: error: an integer of 200001 digits is too long")
    assert "Traceback" not in result.stderr
