"""`telephony doctor`: each check against real local listeners (tests/netservers.py).

Listener tests are `slow`; the certificates come from the `cryptography` package. The TLS
checks trust the test CA only through `TELEPHONY_CA_BUNDLE`, so an untrusted or self-signed
certificate fails as it would in production.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from provisioner.checks import doctor
from provisioner.checks.net import CA_BUNDLE_VARIABLE, certificate_matches
from provisioner.checks.result import Check
from provisioner.cli import cli
from provisioner.manifest import Manifest, SipTrunk, Webhook
from tests import netservers

pytest.importorskip("cryptography")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> netservers.Certs:
    return netservers.make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def trusted(certs: netservers.Certs) -> dict[str, str]:
    return {CA_BUNDLE_VARIABLE: str(certs.ca)}


def trunk(address: str, transport: str = "tcp", **extra: Any) -> SipTrunk:
    return SipTrunk.model_validate({"outbound": {"address": address, "transport": transport}, **extra})


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def trunk_checks(t: SipTrunk, environ: dict[str, str] | None = None) -> dict[str, Check]:
    return by_name(asyncio.run(doctor.check_trunk("pbx", t, 2.0, environ or {})))


# -- quick ---------------------------------------------------------------------------------------


def test_default_ports_follow_the_transport() -> None:
    assert doctor.split_address("pbx.example.com") == ("pbx.example.com", None)
    assert doctor.split_address("pbx.example.com:5080") == ("pbx.example.com", 5080)
    assert doctor.split_address("[2001:db8::1]:5061") == ("2001:db8::1", 5061)


def test_an_unresolvable_host_fails_and_names_the_default_port() -> None:
    checks = trunk_checks(trunk("pbx.invalid", "tls"))
    assert checks["trunk-dns"].status == "fail"
    assert "trunk-tls" not in checks


def test_codecs_need_pcmu_or_nothing() -> None:
    assert trunk_checks(trunk("pbx.invalid"))["codecs"].status == "ok"
    t = SipTrunk.model_validate({"outbound": {"address": "pbx.invalid", "codecs": ["G722/8000"]}})
    assert trunk_checks(t)["codecs"].status == "fail"
    t = SipTrunk.model_validate({"outbound": {"address": "pbx.invalid", "codecs": ["G722/8000", "PCMU/8000"]}})
    assert trunk_checks(t)["codecs"].status == "ok"


def test_variables_set_unset_and_defaulted() -> None:
    manifest = Manifest.model_validate(
        {
            "version": 1,
            "pre_call_webhook": {
                "url": "https://hooks.example.com/",
                "headers": {"Authorization": "Bearer ${SET}", "X-A": "${UNSET}", "X-B": "${DEFAULTED:-x}"},
            },
        }
    )
    checks = {c.subject: c.status for c in doctor.check_variables(manifest, {"SET": "value-never-printed"})}
    assert checks == {"SET": "ok", "UNSET": "fail", "DEFAULTED": "warn"}


def test_certificate_name_matching() -> None:
    cert = {"subjectAltName": (("DNS", "*.example.com"), ("DNS", "pbx.test"), ("IP Address", "127.0.0.1"))}
    assert certificate_matches(cert, "sip.example.com")
    assert not certificate_matches(cert, "a.sip.example.com")
    assert not certificate_matches(cert, "example.com")
    assert certificate_matches(cert, "PBX.test.")
    assert certificate_matches(cert, "127.0.0.1")
    assert not certificate_matches(cert, "127.0.0.2")


# -- real listeners ------------------------------------------------------------------------------


@pytest.fixture
def tls_port(certs: netservers.Certs) -> Iterator[int]:
    with netservers.tls_listener(*certs.good) as port:
        yield port


@pytest.mark.slow
def test_tcp_listener_ok_and_closed_port_fails() -> None:
    with netservers.tcp_listener() as port:
        assert trunk_checks(trunk(f"127.0.0.1:{port}"))["trunk-tcp"].status == "ok"
        assert trunk_checks(trunk(f"127.0.0.1:{port}", "auto"))["trunk-tcp"].status == "ok"
    closed = trunk_checks(trunk(f"127.0.0.1:{netservers.closed_port()}"))["trunk-tcp"]
    assert closed.status == "fail" and closed.fix


@pytest.mark.slow
def test_udp_is_not_probed_and_warns() -> None:
    check = trunk_checks(trunk(f"127.0.0.1:{netservers.closed_port()}", "udp"))["trunk-tcp"]
    assert check.status == "warn"
    assert "udp" in check.message


@pytest.mark.slow
def test_tls_with_a_trusted_certificate(tls_port: int, trusted: dict[str, str]) -> None:
    check = trunk_checks(trunk(f"127.0.0.1:{tls_port}", "tls"), trusted)["trunk-tls"]
    assert check.status == "ok", check


@pytest.mark.slow
def test_tls_with_an_untrusted_issuer_fails_without_the_override(tls_port: int) -> None:
    check = trunk_checks(trunk(f"127.0.0.1:{tls_port}", "tls"), {CA_BUNDLE_VARIABLE: ""})["trunk-tls"]
    assert check.status == "fail"
    assert "not trusted" in check.message


@pytest.mark.slow
def test_tls_self_signed_fails(certs: netservers.Certs, trusted: dict[str, str]) -> None:
    with netservers.tls_listener(*certs.self_signed) as port:
        check = trunk_checks(trunk(f"127.0.0.1:{port}", "tls"), trusted)["trunk-tls"]
    assert check.status == "fail"
    assert "self-signed" in check.message


@pytest.mark.slow
def test_tls_expired_certificate_fails(certs: netservers.Certs, trusted: dict[str, str]) -> None:
    with netservers.tls_listener(*certs.expired) as port:
        check = trunk_checks(trunk(f"127.0.0.1:{port}", "tls"), trusted)["trunk-tls"]
    assert check.status == "fail"
    assert "expired" in check.message


@pytest.mark.slow
def test_tls_name_must_match_the_host_or_a_remote_domain(certs: netservers.Certs, trusted: dict[str, str]) -> None:
    with netservers.tls_listener(*certs.other_name) as port:
        wrong = trunk_checks(trunk(f"127.0.0.1:{port}", "tls"), trusted)["trunk-tls"]
        listed = trunk_checks(trunk(f"127.0.0.1:{port}", "tls", inbound={"remote_domains": ["pbx.test"]}), trusted)
    assert wrong.status == "fail" and "pbx.test" in wrong.message
    assert listed["trunk-tls"].status == "ok"


@pytest.mark.slow
def test_tls_on_a_plain_tcp_port_fails() -> None:
    with netservers.tcp_listener() as port:
        check = trunk_checks(trunk(f"127.0.0.1:{port}", "tls"))["trunk-tls"]
    assert check.status == "fail"


@pytest.mark.slow
def test_webhook_host_resolves_and_handshakes(tls_port: int, trusted: dict[str, str]) -> None:
    hook = Webhook(url=f"https://127.0.0.1:{tls_port}/pre-call")
    assert by_name(asyncio.run(doctor.check_webhook("workspace", hook, 2.0, trusted)))["webhook-tls"].status == "ok"
    gone = by_name(asyncio.run(doctor.check_webhook("workspace", Webhook(url="https://hooks.invalid/"), 2.0, {})))
    assert gone["webhook-dns"].status == "fail"


@pytest.mark.slow
def test_cli_sandbox_one_line_per_check_and_exit_1_on_a_fail(
    tmp_path: Path, tls_port: int, certs: netservers.Certs, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "pbx-secret-Qw83"
    data = {
        "version": 1,
        "pre_call_webhook": {"url": f"https://127.0.0.1:{tls_port}/", "headers": {"Authorization": "${HOOK}"}},
        "agents": {"support": {"id": "agent_3701k3ttaq12ewp8b7qv5rfyszkz", "pre_call_webhook": True}},
        "sip_trunks": {
            "pbx": {
                "outbound": {
                    "address": f"127.0.0.1:{netservers.closed_port()}",
                    "credentials": {"username": "u", "password": "${PBX_PW}"},
                }
            }
        },
    }
    (tmp_path / "telephony.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.chdir(tmp_path)
    env = {"PBX_PW": secret, "HOOK": secret, CA_BUNDLE_VARIABLE: str(certs.ca), "ELEVENLABS_API_KEY": ""}
    result = CliRunner().invoke(cli, ["doctor", "--sandbox", "--timeout", "2"], env=env)
    assert result.exit_code == 1, result.output
    assert secret not in result.output
    lines = {line.split()[1]: line.split()[0] for line in result.stdout.splitlines() if not line.startswith("Doctor")}
    assert lines == {
        "api-key": "ok",
        "variable": "ok",
        "agent": "ok",
        "trunk-dns": "ok",
        "trunk-tcp": "fail",
        "codecs": "ok",
        "webhook-dns": "ok",
        "webhook-tls": "ok",
    }
    assert result.stdout.splitlines()[-1] == "Doctor: 8 ok, 0 warn, 1 fail."
