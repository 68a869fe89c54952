"""`provisioner.grammar`: the one definition of every small value rule, and validate's use of it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner import grammar
from provisioner.cli import cli
from provisioner.diagnostics import Diagnostic, ManifestInvalid
from provisioner.grammar import Destination, DestinationKind
from provisioner.loader import load

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AGENT = "agent_3701k3ttaq12ewp8b7qv5rfyszkz"

# -- E.164 ---------------------------------------------------------------------------------------


def test_normalise_e164_drops_punctuation_including_slashes() -> None:
    assert grammar.normalise_e164("+1 415/555 0100") == "+14155550100"
    assert grammar.suggest_e164("+1 415/555 0100") == "+14155550100"
    assert grammar.normalise_e164("0044 (20) 7946-0958") == "+442079460958"
    assert grammar.suggest_e164("+14155550100") is None  # already E.164: nothing to suggest


def test_anchors_refuse_a_trailing_newline() -> None:
    # A YAML block scalar ends with a newline; `$` would have let it through.
    assert not grammar.is_e164("+14155550100\n")
    assert not grammar.DTMF.match("104\n")
    assert not grammar.SIP_HEADER_VALUE.match("value\n")
    assert grammar.exact_variable("{{desk}}\n") is None
    assert not grammar.is_variable_name("desk\n")


_NUMBERISH = st.text(alphabet="0123456789+ -().\u00a0/\t", max_size=24)


@FAST
@pytest.mark.slow  # a property test: hypothesis runs it many times
@given(st.one_of(_NUMBERISH, st.text(max_size=24)))
def test_normalise_e164_is_idempotent_and_agrees_with_the_suggestion(value: str) -> None:
    once = grammar.normalise_e164(value)
    assert grammar.normalise_e164(once) == once
    suggestion = grammar.suggest_e164(value)
    if suggestion is not None:
        assert suggestion == once
        assert grammar.is_e164(suggestion)


# -- {{var}} -------------------------------------------------------------------------------------


def test_variable_names_use_the_strict_name_grammar() -> None:
    assert grammar.variable_names("{{a}} {{ b.c-d }} {{desk:1}} {{ a b }} {{}}") == ["a", "b.c-d"]
    assert grammar.exact_variable("{{ desk }}") == "desk"
    assert grammar.exact_variable("{{desk:1}}") is None
    assert grammar.malformed_variables("{{a}} {{desk:1}} {{ a b }} {{}}") == ["{{desk:1}}", "{{ a b }}", "{{}}"]
    assert grammar.variable_problem("{{ok}}") is None
    problem = grammar.variable_problem("x {{desk:1}}")
    assert problem is not None and "'desk:1' is not a variable name" in problem


# -- transfer destinations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("+14155550100", Destination(DestinationKind.PHONE, "+14155550100")),
        ("SIP:desk@pbx.example.com", Destination(DestinationKind.SIP_URI, "sip:desk@pbx.example.com")),
        ("sips:desk@pbx.example.com", Destination(DestinationKind.SIP_URI, "sips:desk@pbx.example.com")),
        ("{{ desk }}", Destination(DestinationKind.PHONE_VARIABLE, "desk")),
        ("Sip:{{desk}}", Destination(DestinationKind.SIP_URI_VARIABLE, "desk")),
        ("{{desk:1}}", None),
        ("sips:{{desk}}", None),
        ("sip:{{desk}}@pbx", None),
        ("+1 415 555 0100", None),
    ],
)
def test_parse_destination(to: str, expected: Destination | None) -> None:
    assert grammar.parse_destination(to) == expected


@pytest.mark.parametrize(
    ("to", "fragment"),
    [
        ("{{desk:1}}", "'{{desk:1}}' is not a dynamic variable: 'desk:1' is not a variable name"),
        ("sips:{{desk}}", "the dynamic SIP destination holds only a variable name"),
        ("sip:{{desk:1}}", "'desk:1' is not a variable name"),
        ("sip:{{desk}}@pbx", "a dynamic destination is exactly sip:{{variable}}"),
        ("+1 415 555 0100", "write '+14155550100'"),
        ("sip:", "is not a SIP URI"),
        ("the desk", "is not a transfer destination"),
    ],
)
def test_destination_problem_explains_each_refusal(to: str, fragment: str) -> None:
    problem = grammar.destination_problem(to)
    assert problem is not None and fragment in problem
    assert grammar.destination_problem("sips:{{desk}}") is not None
    assert "use sip:{{desk}}" in str(grammar.destination_problem("sips:{{desk}}"))


def test_destination_problem_is_none_exactly_for_good_destinations() -> None:
    for good in ("+14155550100", "SIP:desk@pbx.example.com", "{{desk}}", "sip:{{ desk }}"):
        assert grammar.destination_problem(good) is None


_PIECES = ["sip:", "SIP:", "sips:", "Sips:", "{{", "}}", " ", "desk", "d.e-sk", ":1", "@", "pbx.example.com", "+1415"]
_DESTINATIONISH = st.lists(st.sampled_from(_PIECES), max_size=6).map("".join)


@FAST
@pytest.mark.slow  # a property test: hypothesis runs it many times
@given(st.one_of(_DESTINATIONISH, st.text(max_size=30)))
def test_the_canonical_destination_is_a_fixed_point(to: str) -> None:
    parsed = grammar.parse_destination(to)
    if parsed is not None:
        assert grammar.parse_destination(parsed.text) == parsed
        assert grammar.destination_kind(to) == parsed.kind.value
        assert grammar.destination_problem(parsed.text) == grammar.destination_problem(to)
    once = grammar.canonical_destination(to)
    assert grammar.canonical_destination(once) == once


# -- ${VAR} references ---------------------------------------------------------------------------


def test_the_escape_is_literal_text() -> None:
    assert grammar.references("$${literal}") == []
    assert not grammar.has_reference("$${literal}")
    assert grammar.resolve_references("$${literal}", {}) == "${literal}"
    assert grammar.unset_references("$${literal} ${REAL}", {}) == ["REAL"]


# Header values the manifest can hold, biased towards `$`, braces and `:-`. Jinja's own syntax
# (`${{`, `{%`, `${#`) is left out: the loader renders it before validation sees the value.
_HEADER_TEXT = st.text(
    alphabet=st.one_of(st.sampled_from("$${}:-_AZ "), st.characters(min_codepoint=0x20, max_codepoint=0x7E)),
    max_size=20,
).filter(lambda v: not any(s in v for s in ("${{", "{%", "${#")))


def _validate(headers: dict[str, str]) -> list[Diagnostic]:
    webhook = {"url": "https://crm.example.com/hook", "headers": headers}
    text = json.dumps({"version": 1, "pre_call_webhook": webhook})  # JSON is YAML: no quoting to get wrong
    try:
        return list(load(Path("t.yaml"), text=text, environ={}).diagnostics)
    except ManifestInvalid as exc:
        return list(exc.diagnostics)


@FAST
@pytest.mark.slow  # a property test: hypothesis runs it many times
@given(_HEADER_TEXT)
def test_a_value_without_a_reference_is_never_a_secret(value: str) -> None:
    if grammar.has_reference(value):
        return
    assert grammar.resolve_references(value, {}) == value.replace("$${", "${")
    found = _validate({"X-Source": value, "Authorization": value})
    # Not a secret anywhere: nothing unset is reported, and no value is named as a reference...
    assert [d for d in found if d.code == "unset-variable"] == []
    # ...and the credential header holds a literal, which is exactly what literal-secret reports.
    assert [d.code for d in found] == ["literal-secret"]


def test_a_reference_in_a_credential_header_is_a_secret() -> None:
    found = _validate({"Authorization": "Bearer ${CRM_TOKEN}", "X-Source": "$${literal}"})
    assert [(d.code, d.severity) for d in found] == [("unset-variable", "warning")]
    assert "CRM_TOKEN" in found[0].message


# -- telephony validate on the reproductions -----------------------------------------------------

_BAD_DESTINATIONS = f"""\
version: 1
agents:
  support:
    id: {AGENT}
    dynamic_variables: {{desk: "+14155550100"}}
    pre_call_webhook: {{url: "https://crm.example.com/hook", headers: {{X-Source: "$${{literal}}"}}}}
    transfers:
      - to: "SIP:desk@pbx.example.com"
        type: sip_refer
        condition: The caller asks for the desk
      - to: "{{{{desk:1}}}}"
        condition: The caller asks for desk one
      - to: "sips:{{{{desk}}}}"
        type: sip_refer
        condition: The caller asks for the secure desk
      - to: "sip:{{{{desk}}}}@pbx.example.com"
        type: sip_refer
        condition: The caller asks for the PBX desk
        sip_headers: {{X-Desk: "{{{{desk:1}}}}"}}
        handoff_message: "Caller for {{{{ the desk }}}}"
sip_trunks:
  pbx:
    outbound: {{address: pbx.example.com, credentials: {{username: u, password: "${{PBX_PASSWORD}}"}}}}
phone_numbers:
  line:
    number: "+14155550100"
    label: Line
    provider: sip_trunk
    sip_trunk: pbx
    agent: support
"""


def _run_validate(tmp_path: Path, text: str) -> tuple[int, list[str]]:
    (tmp_path / "telephony.yaml").write_text(text)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(cli, ["validate"], env={"PBX_PASSWORD": "p"})
    finally:
        os.chdir(cwd)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output.splitlines()


def test_validate_locates_each_bad_destination(tmp_path: Path) -> None:
    code, lines = _run_validate(tmp_path, _BAD_DESTINATIONS)
    name = "'.' and '-'"
    assert lines == [
        f"telephony.yaml:11:13: error: '{{{{desk:1}}}}' is not a dynamic variable: 'desk:1' is not a variable name "
        f"(letters, digits, '_', {name})",
        "telephony.yaml:13:13: error: the dynamic SIP destination holds only a variable name, "
        "so 'sips:' would be lost; use sip:{{desk}}",
        "telephony.yaml:16:13: error: 'sip:{{desk}}@pbx.example.com' is not a transfer destination: "
        "a dynamic destination is exactly sip:{{variable}}, nothing around it",
        "telephony.yaml:19:31: warning: '{{desk:1}}' is not a dynamic variable: 'desk:1' is not a variable name "
        f"(letters, digits, '_', {name}); it is sent as literal text",
        "telephony.yaml:20:26: warning: '{{ the desk }}' is not a dynamic variable: 'the desk' is not a variable name "
        f"(letters, digits, '_', {name}); it is sent as literal text",
        "invalid: 3 errors, 2 warnings",
    ]
    assert code == 1


def test_an_upper_case_sip_scheme_is_a_sip_uri(tmp_path: Path) -> None:
    text = f"""\
version: 1
agents:
  support:
    id: {AGENT}
    transfers:
      - {{to: "SIP:desk@pbx.example.com", type: sip_refer, condition: c}}
sip_trunks:
  pbx:
    outbound: {{address: pbx.example.com, credentials: {{username: u, password: "${{PBX_PASSWORD}}"}}}}
phone_numbers:
  line: {{number: "+14155550100", label: Line, provider: sip_trunk, sip_trunk: pbx, agent: support}}
"""
    assert _run_validate(tmp_path, text) == (0, ["valid: 0 errors, 0 warnings"])
    # Without sip_refer it is still recognised as a SIP URI (and so needs sip_refer).
    code, lines = _run_validate(tmp_path, text.replace(", type: sip_refer", ""))
    assert code == 1
    assert "a SIP URI destination needs type: sip_refer" in lines[0]


def test_malformed_dtmf_variable_names_the_variable(tmp_path: Path) -> None:
    text = f"""\
version: 1
agents:
  support:
    id: {AGENT}
    transfers:
      - {{to: "+14155550199", condition: c, post_dial_digits: "{{{{ext:1}}}}"}}
"""
    code, lines = _run_validate(tmp_path, text)
    assert code == 1
    assert lines[0].startswith("telephony.yaml:6:62: error: '{{ext:1}}' is not a dynamic variable: 'ext:1'")
    assert lines[0].endswith("post_dial_digits takes DTMF digits 0-9, *, #, and w/W (a pause), or exactly {{variable}}")


def test_a_number_punctuated_two_ways_is_declared_twice(tmp_path: Path) -> None:
    text = """\
version: 1
sip_trunks:
  pbx: {inbound: {allowed_addresses: [203.0.113.0/24]}}
phone_numbers:
  a: {number: "+1 415/555 0100", label: A, provider: sip_trunk, sip_trunk: pbx}
  b: {number: "+14155550100", label: B, provider: sip_trunk, sip_trunk: pbx}
"""
    code, lines = _run_validate(tmp_path, text)
    assert code == 1
    assert "number +14155550100 is declared twice" in "\n".join(lines)
