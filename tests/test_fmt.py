"""`telephony fmt`: canonical order and quoting, comments kept, data unchanged, a fixed point."""

from __future__ import annotations

import itertools
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.commands.fmt import replace_atomically
from provisioner.fmt import FormatError, format_text, has_jinja_blocks
from provisioner.manifest import Manifest, TransferRule, TwilioNumber
from tests.helpers import ROOT, run_cli

MANIFESTS = [ROOT / "telephony.yaml", *sorted((ROOT / "examples").glob("*.yaml"))]


def comments(text: str) -> list[str]:
    """The comment texts of `text`, in order (good enough for inputs whose strings hold no '#')."""
    return [line[line.index("#") :].rstrip() for line in text.splitlines() if "#" in line]


def check(text: str) -> str:
    """Format `text` and check what every formatting must keep; the result."""
    result = format_text(text)
    assert yaml.safe_load(result) == yaml.safe_load(text)
    assert format_text(result) == result
    assert sorted(comments(result)) == sorted(comments(text))
    assert result == "" or (result.endswith("\n") and not result.endswith("\n\n"))
    return result


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_the_repository_manifests_are_formatted(path: Path) -> None:
    text = path.read_text()
    if has_jinja_blocks(text):
        assert path.name == "environments.yaml"  # the one example with {% for %}: fmt leaves it alone
        return
    assert format_text(text) == text, f"run: telephony fmt {path.relative_to(ROOT)}"


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in MANIFESTS if not has_jinja_blocks(p.read_text())], ids=lambda p: p.name)
def test_a_scrambled_manifest_formats_back_to_the_committed_one(path: Path) -> None:
    # Reverse every mapping that has no comments inside: the formatter must restore model order.
    text = path.read_text()
    scrambled = format_text(_reverse_top_level(text))
    assert scrambled == text


def _reverse_top_level(text: str) -> str:
    """The file with its top-level keys (each with the comments and blank lines above it) reversed."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line[:1].isalpha()]
    chunks = [lines[start:end] for start, end in zip(starts, [*starts[1:], len(lines)], strict=True)]
    for chunk, following in itertools.pairwise(chunks):
        while chunk[-1].strip() == "" or chunk[-1].startswith("#"):  # they are about the next key
            following.insert(0, chunk.pop())
    return "".join(lines[: starts[0]]) + "".join(line for chunk in reversed(chunks) for line in chunk)


def test_jinja_blocks_are_found_outside_comments_only() -> None:
    assert has_jinja_blocks("version: 1\n{% for n in vars.lines %}\n{% endfor %}\n")
    assert has_jinja_blocks("version: 1\nlabel: x {% if true %}y{% endif %}\n")
    assert not has_jinja_blocks("version: 1  # a {% for %} here is only a comment\n# {% raw %}\n")
    assert not has_jinja_blocks("version: 1\nprune: ${{ vars.prune }}\n")


def test_keys_follow_the_model_order_and_unknown_keys_come_last() -> None:
    text = (
        "phone_numbers:\n"
        "  main:\n"
        "    zz_custom: kept\n"
        "    twilio: {account_sid: '${SID}', auth_token: '${TOKEN}'}\n"
        "    provider: twilio\n"
        "    agent: support\n"
        "    label: Main\n"
        "    number: '+14155550100'\n"
        "agents:\n"
        "  support:\n"
        "    transfers:\n"
        "      - condition: asks for a human\n"
        "        type: blind\n"
        "        to: +14155550199\n"
        "    id: agent_1\n"
        "x-notes: last\n"
        "version: 1\n"
    )
    result = format_text(text)
    data = yaml.safe_load(result)
    assert list(data) == ["version", "agents", "phone_numbers", "x-notes"]
    number_keys = list(data["phone_numbers"]["main"])
    assert number_keys == [k for k in TwilioNumber.model_fields if k in number_keys] + ["zz_custom"]
    rule_keys = list(data["agents"]["support"]["transfers"][0])
    assert rule_keys == [k for k in TransferRule.model_fields if k in rule_keys]
    assert list(yaml.safe_load(result)) == [k for k in Manifest.model_fields if k in data] + ["x-notes"]
    # Phone numbers double-quoted; the unquoted one (a YAML integer that `to` rejects) as written.
    assert 'number: "+14155550100"' in result
    assert 'to: "+14155550199"' in result
    assert format_text(result) == result


def test_comments_move_with_their_keys() -> None:
    text = (
        "# yaml-language-server: $schema=./schemas/telephony.schema.json\n"
        "agents:   # who answers\n"
        "  # the support desk\n"
        "  support:\n"
        "    id: agent_1  # from the dashboard\n"
        "\n"
        "# the numbers\n"
        "phone_numbers: {}\n"
        "\n"
        "# always 1\n"
        "version: 1\n"
        "# the end\n"
    )
    assert check(text) == (
        "# yaml-language-server: $schema=./schemas/telephony.schema.json\n"
        "\n"
        "# always 1\n"
        "version: 1\n"
        "agents:   # who answers\n"
        "  # the support desk\n"
        "  support:\n"
        "    id: agent_1  # from the dashboard\n"
        "\n"
        "# the numbers\n"
        "phone_numbers: {}\n"
        "# the end\n"
    )


def test_indentation_becomes_two_spaces_with_items_under_their_key() -> None:
    text = (
        "version: 1\nagents:\n    a:\n        id: x\n        transfers:\n"
        "        -   to: '+14155550100'\n            condition: c\n"
    )
    assert check(text) == (
        'version: 1\nagents:\n  a:\n    id: x\n    transfers:\n      - to: "+14155550100"\n        condition: c\n'
    )


# Inputs that have tripped YAML round-trippers, each formatted and checked for data, comments
# and the fixed point; some also for a detail of the result.
TRICKY = {
    "anchor after its alias once reordered": (
        "phone_numbers:\n  a:\n    label: &l Main\n    number: '+14155550100'\nversion: 1\nx-copy: *l\n",
        "label: &l Main",
    ),
    "anchored block moved after its alias, comments inside": (
        "x-shared: &t\n  # about outbound\n  outbound:\n    address: h  # host\nversion: 1\nsip_trunks:\n  b: *t\n",
        "  b: &t\n    # about outbound\n    outbound:\n      address: h  # host\n",
    ),
    "merge key": ("base: &b\n  label: L\nphone_numbers:\n  a:\n    <<: *b\n    number: '+14155550100'\n", "<<:"),
    "literal and folded blocks, comment after": (
        "version: 1\nagents:\n  a:\n    transfers:\n      - condition: |\n          line one\n\n"
        "          line three\n        # about to\n        to: '+14155550100'\n        wait_message: >-\n"
        "          folded\n          text\n",
        "  line three\n",
    ),
    "keep-chomped block at the end": ("version: 1\nnote: |+\n  kept\n\n", "note: |+"),
    "multi-line plain and quoted scalars": (
        "version: 1\nagents:\n  a:\n    transfers:\n      - condition: a long\n          plain scalar  # eol\n"
        '        wait_message: "quoted\n          over lines"\n',
        "# eol",
    ),
    "value templates, ${VAR} and {{var}}": (
        "version: 1\nworkspace:\n  prune: ${{ vars.prune }}\n  max_deletes: ${{ vars.n }}\nagents:\n  a:\n"
        '    id: "${{ vars.id }}"\n    dynamic_variables: {who: "{{caller}}", key: \'${SECRET}\'}\n',
        "prune: ${{ vars.prune }}",
    ),
    "a '#' inside strings is no comment": (
        "version: 1\nlabel: 'a # b'\nurl: https://x.example/#frag  # real\n",
        "# real",
    ),
    "comment inside a flow sequence": (
        "version: 1\nagents:\n  a:\n    overrides: [prompt,  # c\n      voice]\n",
        "# c",
    ),
    "document markers": ("---\nversion: 1\n...\n", "version: 1"),
    "null written out": ("version: 1\nphone_numbers:\n  a:\n    agent:\n    number: '+14155550100'\n", "agent: null"),
    "integer dynamic variable stays one": (
        "version: 1\nagents:\n  a:\n    dynamic_variables:\n      desk: +14155550150\n",
        "desk: 14155550150",
    ),
    "comment-only file": ("# nothing yet\n", "# nothing yet"),
    "empty file": ("", ""),
    "windows line ends": ("version: 1\r\n# c\r\nagents: {}\r\n", "# c\nagents: {}"),
}


@pytest.mark.parametrize(("text", "expected"), TRICKY.values(), ids=TRICKY.keys())
def test_tricky_inputs(text: str, expected: str) -> None:
    if "\r\n" in text:
        result = format_text(text)
        assert yaml.safe_load(result) == yaml.safe_load(text) and "\r" not in result
    elif "+14155550150" in text:  # the integer keeps its value (and so loses its '+')
        result = format_text(text)
        assert yaml.safe_load(result) == yaml.safe_load(text)
    else:
        result = check(text)
    assert expected in result


def test_an_unquoted_number_is_quoted_only_where_a_string_is_required() -> None:
    text = "version: 1\nphone_numbers:\n  a:\n    number: +14155550100\n    label: x\n"
    result = format_text(text)
    assert yaml.safe_load(result)["phone_numbers"]["a"]["number"] == "+14155550100"
    # A number written without '+' is not a phone number as far as fmt can tell: left as it is.
    assert "number: 14155550100" in format_text(text.replace("+1415", "1415"))


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("version: 1\nagents:\n  a: [\n", 4, 1, "invalid YAML"),
        ("version: 1\nversion: 1\n", 2, 1, "duplicate key"),
        ("version: 1\nagents:\n\ta: 1\n", 3, 1, "tab character"),
    ],
)
def test_unparsable_input_is_one_located_error(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(FormatError) as caught:
        format_text(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert words in caught.value.message and "\n" not in caught.value.message


# -- property: any manifest-shaped data, keys shuffled, comments sprinkled ---------------------------

KEYS = st.sampled_from([*Manifest.model_fields, "id", "to", "number", "label", "agent", "x-extra", "headers"])
SCALARS = st.one_of(
    st.booleans(),
    st.integers(-5, 5000),
    st.none(),
    st.sampled_from(["+14155550100", "${TOKEN}", "{{var}}", "${{ vars.x }}", "a: b", "yes", "'", "#x", "- y"]),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3), st.dictionaries(KEYS, inner, min_size=1, max_size=4)
    ),
    max_leaves=12,
)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.dictionaries(KEYS, VALUES, min_size=1, max_size=5), seed=st.randoms(use_true_random=False))
def test_formatting_keeps_data_and_comments_and_is_a_fixed_point(data: dict[str, Any], seed: Any) -> None:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10**6, default_flow_style=False)
    lines = []
    for number, line in enumerate(text.splitlines()):
        indent = len(line) - len(line.lstrip(" "))
        if seed.random() < 0.3:
            lines.append(" " * indent + f"# above {number}")
        # An end-of-line comment only where a line ends outside a multi-line scalar.
        simple = not line.rstrip().endswith(("|", "|-", ">", ">-", "'", '"')) or line.count('"') == 2
        lines.append(line + (f"  # eol {number}" if seed.random() < 0.3 and simple and ": " in line else ""))
    commented = "\n".join(lines) + "\n"
    try:
        yaml.safe_load(commented)
    except yaml.YAMLError:
        return  # the comment landed inside a multi-line scalar: not a valid input
    if yaml.safe_load(commented) != data:
        return
    result = format_text(commented)
    assert yaml.safe_load(result) == data
    assert format_text(result) == result


# -- the command ---------------------------------------------------------------------------------

UNFORMATTED = "agents:\n  a:\n    id: agent_1\nversion: 1  # always 1\n"


@pytest.mark.slow
def test_check_lists_and_fails_without_writing(tmp_path: Path) -> None:
    (tmp_path / "telephony.yaml").write_text(UNFORMATTED)
    (tmp_path / "ok.yaml").write_text(format_text(UNFORMATTED))
    (tmp_path / "templated.yaml").write_text("version: 1\n{% if true %}agents: {}\n{% endif %}\n")
    result = run_cli("fmt", "--check", "telephony.yaml", "ok.yaml", "templated.yaml", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, "would reformat telephony.yaml\n")
    assert result.stderr.splitlines() == [
        "templated.yaml: left unchanged: {% %} blocks make it a template, not YAML (see docs/editors.md)"
    ]
    assert (tmp_path / "telephony.yaml").read_text() == UNFORMATTED
    clean = run_cli("fmt", "--check", "ok.yaml", "templated.yaml", cwd=tmp_path)
    assert clean.returncode == 0 and clean.stdout == ""


@pytest.mark.slow
def test_fmt_rewrites_the_default_file_and_lists_it(tmp_path: Path) -> None:
    manifest = tmp_path / "telephony.yaml"
    manifest.write_text(UNFORMATTED)
    manifest.chmod(0o640)
    result = run_cli("fmt", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "formatted telephony.yaml\n", "")
    assert manifest.read_text() == "version: 1  # always 1\nagents:\n  a:\n    id: agent_1\n"
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["telephony.yaml"]  # no temporary file left
    again = run_cli("fmt", cwd=tmp_path)
    assert (again.returncode, again.stdout) == (0, "")


@pytest.mark.slow
def test_an_unparsable_or_missing_file_is_one_located_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("version: 1\nagents:\n  a: [\n")
    (tmp_path / "fine.yaml").write_text(UNFORMATTED)
    result = run_cli("fmt", "bad.yaml", "missing.yaml", "fine.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "bad.yaml:4:1: error: invalid YAML: did not find expected node content (while parsing a flow node)",
        "missing.yaml:1:1: error: cannot read the file: No such file or directory",
    ]
    assert result.stdout == "formatted fine.yaml\n"  # the others are still formatted
    assert (tmp_path / "bad.yaml").read_text() == "version: 1\nagents:\n  a: [\n"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = tmp_path / "telephony.yaml"
    manifest.write_text(UNFORMATTED)

    def fail(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        replace_atomically(manifest, "version: 1\n")
    assert manifest.read_text() == UNFORMATTED
    assert [p.name for p in tmp_path.iterdir()] == ["telephony.yaml"]


@pytest.mark.slow
def test_the_cli_loads_ruamel_only_for_fmt() -> None:
    probe = "import sys, provisioner.cli; print('ruamel' in sys.modules or 'ruamel.yaml' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
