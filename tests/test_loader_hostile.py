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


# -- template bombs: bounded in time and memory, compilation included -----------------------------

BOMBS = {
    # folded at compile time by Jinja, outside the timer and output cap
    "percent": ("${{ '%0900000000d' % 1 }}", "a width or precision of 900000000 is larger than 10000"),
    "center": ("${{ ('a'|center(2000000000))|length }}", "center width 2000000000 is larger than 10000"),
    "format-filter": ("${{ '%0900000000d'|format(1) }}", "a width or precision of 900000000 is larger than 10000"),
    # one C-level call the timer cannot interrupt
    "str-format": ("${{ '{:>900000000}'.format(1) }}", "a width or precision of 900000000 is larger than 10000"),
    "format-map": ("${{ '{x:>{w}}'.format_map({'x': 1, 'w': 900000000}) }}", "a width or precision of 900000000"),
    "ljust": ("${{ 'a'.ljust(2000000000)|length }}", "ljust() width 2000000000 is larger than 10000"),
    "indent": ("${{ ('x\\n' * 1000000)|indent(1000) }}", "the value would be larger than 2000000 characters"),
    "replace": ("${{ ('x'*1000000)|replace('x', 'y'*1000000)|length }}", "the value would be larger than 2000000"),
    "power": ("${{ ((10**64)**64)**64 }}", "the result would be larger than 20000 bits"),
    "sum": ("${{ ([[1]*2000000]*2000000)|sum(start=[])|length }}", "the value would be larger than 2000000"),
    "batch": ("${{ [1]|batch(2000000000, 0)|list|length }}", "batch count 2000000000 is larger than 20000"),
    # many small steps that reach GBs before the timer fires
    "append": (
        "{% set l = [] %}{% for i in range(100000) %}{% set _ = l.append('x' * 1000000) %}{% endfor %}",
        "the template builds more than 20000000 characters of values in total",
    ),
    "concat": (
        "{% set ns = namespace(s='x' * 1000) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "the value would be larger than 2000000 characters",
    ),
    "extend": (
        "{% set l = ['x'] %}{% for i in range(60) %}{% set _ = l.extend(l) %}{% endfor %}",
        "a list would hold more than 2000000 items",
    ),
    "macro": (
        "{% macro m(n) %}{% if n %}${{ m(n-1) }}${{ m(n-1) }}{% else %}xxxxxxxxxxxxxxxx{% endif %}{% endmacro %}"
        "${{ m(40)|length }}",
        "the template builds more than 20000000 characters of values in total",
    ),
}
_LIMITED = """\
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))
from provisioner.cli import cli
cli(["validate", "-f", sys.argv[1]])
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_template_bomb_is_a_located_error_in_bounded_time_and_memory(tmp_path: Path, name: str) -> None:
    template, message = BOMBS[name]
    (tmp_path / "telephony.yaml").write_text(f"version: 1\nworkspace:\n  region: default\nlabel: {template}\n")
    root = str(Path(__file__).resolve().parents[1])
    result = subprocess.run(
        [sys.executable, "-c", _LIMITED, "telephony.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=20,
        env={"PYTHONPATH": root, "NO_COLOR": "1"},
    )
    assert result.returncode == 1, result.stderr[-2000:]
    first = result.stdout.splitlines()[0]
    assert first.startswith("telephony.yaml:4:8: error: template: "), first
    assert message in first
    assert "Traceback" not in result.stderr


def test_nothing_is_evaluated_while_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    from provisioner import templating

    calls: list[str] = []
    environment = templating._environment()
    original = environment.filters["upper"]

    def counting(*args: object, **kwargs: object) -> object:
        calls.append("upper")
        return original(*args, **kwargs)

    environment.filters["upper"] = counting
    template = environment.from_string("${{ 'a'|upper }} ${{ 'b' ~ 'c' }} ${{ '%s' % 1 }}")
    assert calls == []  # not folded into constants at compile time
    assert template.render() == "A bc 1"
    assert calls == ["upper"]


def test_ordinary_templates_still_render() -> None:
    from provisioner import templating

    text = (
        "${{ '%03d' % 7 }} ${{ '{:>5}'.format('x') }} ${{ 'ab'|center(6) }} ${{ [1, 2]|join(',') }} "
        "${{ 'a' ~ 'b' }} ${{ 'x' * 3 }} ${{ 2 ** 10 }} ${{ [1] + [2] }} ${{ 'a b'|replace(' ', '-') }}"
    )
    rendered = templating.render(text, variables={}, environment=None, hint="")
    assert rendered.text == "007     x   ab   1,2 ab xxx 1024 [1, 2] a-b"
