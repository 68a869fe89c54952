"""`provisioner.loader.load`: the interface the reconciler calls."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from provisioner.diagnostics import Diagnostic, ManifestInvalid
from provisioner.loader import MAX_FILE_BYTES, LoadResult, load
from provisioner.manifest import SipTrunkNumber, TwilioNumber, Webhook

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
SECRETS = {
    "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
    "TWILIO_AUTH_TOKEN": "t",
    "CRM_WEBHOOK_TOKEN": "c",
    "PBX_SIP_PASSWORD": "p",
    "PBX_INBOUND_PASSWORD": "q",
}


def write(tmp_path: Path, text: str, name: str = "telephony.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def errors(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(ManifestInvalid) as caught:
        load(path, **kwargs)  # type: ignore[arg-type]
    return [str(d) for d in caught.value.diagnostics]


def test_root_manifest_loads_with_references_kept() -> None:
    result = load(ROOT / "telephony.yaml", environ=SECRETS)
    assert isinstance(result, LoadResult)
    assert result.path == ROOT / "telephony.yaml"
    assert result.diagnostics == []
    support = result.manifest.phone_numbers["support-line"]
    assert isinstance(support, TwilioNumber)
    assert support.twilio.auth_token == "${TWILIO_AUTH_TOKEN}"  # resolved only where sent
    assert isinstance(result.manifest.phone_numbers["sales-pbx"], SipTrunkNumber)
    assert result.manifest.declares("pre_call_webhook")
    assert result.source_digest == hashlib.sha256((ROOT / "telephony.yaml").read_bytes()).hexdigest()


def test_warnings_are_returned_not_raised() -> None:
    result = load(ROOT / "telephony.yaml", environ={})
    assert {d.code for d in result.diagnostics} == {"unset-variable"}
    assert all(isinstance(d, Diagnostic) and d.severity == "warning" for d in result.diagnostics)


def test_strict_raises_on_warnings() -> None:
    with pytest.raises(ManifestInvalid) as caught:
        load(ROOT / "telephony.yaml", environ={}, strict=True)
    assert caught.value.errors and all(d.code == "unset-variable" for d in caught.value.errors)


def test_environment_vars_render_the_template() -> None:
    production = load(EXAMPLES / "environments.yaml", env="production", environ=SECRETS)
    staging = load(EXAMPLES / "environments.yaml", env="staging", environ=SECRETS)
    assert list(production.manifest.phone_numbers) == ["support-1", "support-2"]
    assert list(staging.manifest.phone_numbers) == ["support-1"]
    assert production.manifest.phone_numbers["support-2"].label == "Support line 2 (production)"
    assert production.manifest.workspace.prune is True and production.manifest.workspace.max_deletes == 1
    webhook = staging.manifest.pre_call_webhook
    assert isinstance(webhook, Webhook) and webhook.url == "https://staging-crm.example.com/elevenlabs/pre-call"
    assert production.source_digest != staging.source_digest


def test_var_overrides_the_environment() -> None:
    result = load(EXAMPLES / "environments.yaml", env="staging", variables={"lines": "+14155550130"}, environ={})
    assert result.manifest.phone_numbers["support-1"].number == "+14155550130"


def test_dynamic_variables_and_references_pass_through_jinja() -> None:
    result = load(EXAMPLES / "environments.yaml", env="production", environ=SECRETS)
    rule = (result.manifest.agents["support"].transfers or [])[0]
    assert rule.handoff_message == "{{customer_name}} needs help with order {{order_id}}."
    webhook = result.manifest.pre_call_webhook
    assert webhook is not None and webhook.headers["Authorization"] == "Bearer ${CRM_WEBHOOK_TOKEN}"


def test_undefined_template_variable_without_env(tmp_path: Path) -> None:
    assert errors(EXAMPLES / "environments.yaml", environ={})[0] == (
        f"{EXAMPLES / 'environments.yaml'}:11:10: error: undefined template variable 'prune'; "
        "choose an environment with --env NAME (declared: staging, production) or pass --var prune=VALUE"
    )


def test_undefined_in_chosen_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nworkspace:\n  region: ${{ vars.region }}\nenvironments:\n  dev: {vars: {}}\n")
    assert errors(path, env="dev") == [
        f"{path}:3:11: error: undefined template variable 'region'; environment 'dev' does not set it: "
        "add it under environments.dev.vars or pass --var region=VALUE"
    ]


def test_unknown_environment_points_at_the_block(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\n\nenvironments:\n  staging: {}\n  production: {}\n")
    assert errors(path, env="prod") == [
        f"{path}:3:1: error: unknown environment 'prod'; did you mean 'production'? (declared: staging, production)"
    ]


def test_error_after_a_loop_points_at_the_template_line(tmp_path: Path) -> None:
    text = (
        "version: 1\n"
        "sip_trunks:\n"
        "  pbx: {inbound: {allowed_addresses: [203.0.113.0/24]}}\n"
        "phone_numbers:\n"
        "{% for n in range(3) %}\n"
        "  line-${{ n }}:\n"
        '    number: "+1415555010${{ n }}"\n'
        "    label: Line ${{ n }}\n"
        "    provider: sip_trunk\n"
        "    sip_trunk: pbx\n"
        "{% endfor %}\n"
        "  extra:\n"
        '    number: "+1415555abcd"\n'
        "    label: Extra\n"
        "    provider: sip_trunk\n"
        "    sip_trunk: pbx\n"
    )
    path = write(tmp_path, text)
    assert errors(path) == [
        f"{path}:13:13: error: '+1415555abcd' is not an E.164 number ('+', country code, then up to 14 digits, "
        "e.g. '+14155550100')"
    ]


def test_comments_are_not_templates(tmp_path: Path) -> None:
    text = "# use ${{ vars.anything }} or {% for %} here\nversion: 1  # ${{ nothing }}\n"
    assert load(write(tmp_path, text), environ={}).manifest.version == 1


def test_yaml_anchors_and_merge_keys(tmp_path: Path) -> None:
    text = (
        "version: 1\n"
        "phone_numbers:\n"
        "  a:\n"
        "    {number: '+14155550100', label: A, provider: twilio,\n"
        "     twilio: &twilio {account_sid: '${TWILIO_ACCOUNT_SID}', auth_token: '${TWILIO_AUTH_TOKEN}'}}\n"
        "  b: {number: '+14155550101', label: B, provider: twilio, twilio: {<<: *twilio, caller_id_only: true}}\n"
    )
    result = load(write(tmp_path, text), environ=SECRETS)
    b = result.manifest.phone_numbers["b"]
    assert isinstance(b, TwilioNumber) and b.twilio.caller_id_only and b.twilio.auth_token == "${TWILIO_AUTH_TOKEN}"


def test_unknown_top_level_key_lists_the_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nzzz: 1\n")
    assert errors(path) == [
        f"{path}:2:1: error: unknown key 'zzz'; expected one of: "
        "version, requires, workspace, pre_call_webhook, agents, sip_trunks, phone_numbers, environments"
    ]


def test_manifest_invalid_lists_every_problem_and_never_a_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nworkspace: {region: mars, max_deletes: -1}\nagents: {a: {}}\n")
    with pytest.raises(ManifestInvalid) as caught:
        load(path)
    assert [d.code for d in caught.value.diagnostics] == ["enum", "schema", "missing-key"]
    assert str(caught.value).startswith(f"{path}:2:21: error: region: 'mars' is not")
    assert "(and 2 more)" in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    assert errors(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}:1:1: error: file not found"]


def test_crlf_and_bom_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "win.yaml"
    path.write_bytes(b"\xef\xbb\xbfversion: 1\r\nworkspace:\r\n  region: eu\r\n")
    assert load(path).manifest.workspace.region == "eu"


def test_template_that_spins_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("provisioner.templating.MAX_RENDER_SECONDS", 0.2)
    loops = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    path = write(tmp_path, f"version: 1\n{loops}\n")
    assert errors(path) == [f"{path}:2:1: error: template: rendering took longer than 0.2 seconds"]


def test_template_output_is_bounded(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\n{% for i in range(100000) %}${{ 'x' * 100 }}{% endfor %}\n")
    assert errors(path) == [f"{path}:1:1: error: the rendered manifest is larger than 2000000 characters"]


def test_endless_input_is_cut_at_the_limit() -> None:
    message = f"/dev/zero:1:1: error: file is too large (over {MAX_FILE_BYTES} bytes; the limit is {MAX_FILE_BYTES})"
    assert errors(Path("/dev/zero")) == [message]


def test_diagnostic_text_and_json() -> None:
    from provisioner.diagnostics import render_json, render_text

    found = [Diagnostic("warning", "w", "f.yaml", 3, 1, "x"), Diagnostic("error", "e", "f.yaml", 2, 5, "y")]
    assert str(found[1]) == "f.yaml:2:5: error: e"
    assert render_text(found) == "f.yaml:3:1: warning: w\nf.yaml:2:5: error: e\ninvalid: 1 error, 1 warning\n"
    assert '"valid": false' in render_json(found, file="f.yaml")


def test_columns_in_templated_lines_point_at_the_expression(tmp_path: Path) -> None:
    text = (
        "version: 1\n"
        "sip_trunks:\n"
        '  pbx: {outbound: {address: "${{ vars.host }}", transport: ${{ vars.t }}, headers: {X-A: "1"}}}\n'
    )
    path = write(tmp_path, text)
    assert errors(path, variables={"host": "pbx.example.com", "t": "tsl"}) == [
        f"{path}:3:3: warning: SIP trunk 'pbx' is not used by any phone number",  # rules still run on the rest
        f"{path}:3:9: warning: outbound without credentials means IP allow-listing, which needs the static-IP "
        "stack: set static_ip: true on the trunk (or add digest credentials)",
        f"{path}:3:60: error: transport: 'tsl' is not 'auto', 'udp', 'tcp' or 'tls'; did you mean 'tls'?",
    ]
    result = load(path, variables={"host": "pbx.example.com", "t": "tls"}, environ={})
    assert [(d.line, d.column, d.code) for d in result.diagnostics] == [
        (3, 3, "unused-trunk"),
        (3, 9, "acl-without-static-ip"),
    ]
    found = errors(path, variables={"host": "sip:pbx.example.com", "t": "tls"})
    assert f"{path}:3:29: error: the address takes no 'sip:' prefix; write 'pbx.example.com'" in found


@pytest.mark.parametrize(
    ("source", "output", "column", "expected"),
    [
        ("  region: ${{ v }}", "  region: europe", 14, 10),  # inside the value -> the expression
        ('a: "${{ x }}" # c', 'a: "abc" # c', 10, 15),  # after it -> the same literal text
        ('a: "${{ x }}"', 'a: "abc"', 2, 2),  # before it -> unchanged
        ("same line", "same line", 3, 3),
    ],
)
def test_column_map(source: str, output: str, column: int, expected: int) -> None:
    from provisioner.templating import _map_column

    assert _map_column(source, output, column) == expected


BINARY = "a binary file (it contains NUL bytes), not a YAML manifest"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("version: 1\n".encode("utf-16"), "1:1: error: the file is UTF-16 text; save it as UTF-8"),
        ("version: 1\n".encode("utf-16-le"), "1:1: error: the file is UTF-16 text; save it as UTF-8"),
        ("version: 1\n".encode("utf-16-be"), "1:1: error: the file is UTF-16 text; save it as UTF-8"),
        ("version: 1\n".encode("utf-32"), "1:1: error: the file is UTF-32 text; save it as UTF-8"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00\x00", f"1:8: error: {BINARY}"),
        (b"version: 1\nx: a\x00b\n", f"2:5: error: {BINARY}"),
        ("version: 1\nlabel: caf\u00e9\n".encode("latin-1"), "2:11: error: not UTF-8 text"),
    ],
)
def test_files_that_are_not_utf8_text_say_what_they_are(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "telephony.yaml"
    path.write_bytes(data)
    assert errors(path) == [f"{path}:{message}"]


def test_yaml_that_is_not_a_manifest_is_one_error_that_echoes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, "services:\n  db: {environment: {PASSWORD: hunter2}}\nroot:x:0:0: hunter3\n")
    found = errors(path)
    assert len(found) == 1 and "not a telephony manifest" in found[0]
    assert "hunter" not in found[0]
    empty = write(tmp_path, "{}  # nothing yet\n")
    message = "the manifest is an empty mapping; a manifest starts with 'version: 1'"
    assert errors(empty) == [f"{empty}:1:1: error: {message}"]
    # A misspelt manifest key is still a manifest: it gets its own "did you mean".
    misspelt = write(tmp_path, "agnets: {}\n")
    assert f"{misspelt}:1:1: error: unknown key 'agnets'; did you mean 'agents'?" in errors(misspelt)
