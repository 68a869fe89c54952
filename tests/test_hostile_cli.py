"""`telephony plan` and `telephony apply` end to end against a real, misbehaving local server.

Every failure is one line naming the call and exit 1 (never a traceback); nothing printed holds
the API key, a resolved `${VAR}` value or the password of the API URL, even when the server
echoes the request in its error text. Most cases run the CLI in-process (`CliRunner`, fast);
a few run `python -m provisioner` as a subprocess.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from provisioner import redact
from provisioner.cli import cli
from tests.helpers import cli_env, run_cli
from tests.hostile import HostileServer, Reply, Seen, json_reply

pytestmark = pytest.mark.slow

KEY = "sk-hostile-api-key-1234"
HOOK_TOKEN = "hook-token-secret-999"
TWILIO_TOKEN = "twilio-token-secret-888"
URL_PASSWORD = "url-password-777"
SECRETS = (KEY, HOOK_TOKEN, TWILIO_TOKEN, URL_PASSWORD)

NUMBER = """\
phone_numbers:
  line:
    number: "+14155550100"
    label: Line
    provider: twilio
    twilio:
      account_sid: "${TWILIO_SID}"
      auth_token: "${TWILIO_TOKEN}"
"""
WEBHOOK = """\
pre_call_webhook:
  url: https://crm.example.com/hook
  headers:
    Authorization: "Bearer ${HOOK_TOKEN}"
"""
AGENT = """\
agents:
  support:
    id: agent_1
"""
EVERY_READ = "version: 1\n" + WEBHOOK + AGENT + NUMBER + "    agent: support\n"


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    redact.forget_all()
    yield
    redact.forget_all()


def environment(url: str, **extra: str) -> dict[str, str]:
    return {
        "ELEVENLABS_BASE_URL": url,
        "ELEVENLABS_API_KEY": KEY,
        "HOOK_TOKEN": HOOK_TOKEN,
        "TWILIO_SID": "AC" + "0" * 32,
        "TWILIO_TOKEN": TWILIO_TOKEN,
        "TELEPHONY_RETRY_ATTEMPTS": "1",
        "TELEPHONY_RETRY_BASE_DELAY": "0",
        "TELEPHONY_DEADLINE": "",
        **extra,
    }


def invoke(tmp_path: Path, manifest: str, url: str, *args: str, **extra: str) -> Result:
    path = tmp_path / "telephony.yaml"
    path.write_text(manifest)
    return CliRunner().invoke(cli, [*args, "-f", str(path)], env=environment(url, **extra))


def assert_clean(text: str) -> None:
    assert "Traceback" not in text
    for secret in SECRETS:
        assert secret not in text


def one_error_line(result: Result, *needles: str) -> str:
    assert result.exit_code == 1, result.output
    assert_clean(result.output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


JUNK = {
    "html": Reply(body=b"<html><body>Please log in to the Wi-Fi</body></html>", content_type="text/html"),
    "invalid-json": Reply(body=b'{"phone_numbers": [,'),
    "empty": Reply(body=b""),
    "list": json_reply([]),
    "null": json_reply(None),
    "string": json_reply("ok"),
    "wrong-items": json_reply({"phone_numbers": [{"label": 3}], "secrets": [7], "agent_id": 5}),
}
READS = {
    "numbers-v2": ("GET", "/v1/convai/v2/phone-numbers"),
    "numbers-v1": ("GET", "/v1/convai/phone-numbers"),
    "agent": ("GET", "/v1/convai/agents/agent_1"),
    "settings": ("GET", "/v1/convai/settings"),
    "secrets": ("GET", "/v1/convai/secrets"),
}


@pytest.mark.parametrize("junk", JUNK)
@pytest.mark.parametrize("read", READS)
def test_plan_names_the_read_whose_2xx_is_not_the_expected_json(
    hostile: HostileServer, tmp_path: Path, read: str, junk: str
) -> None:
    method, path = READS[read]
    if read == "numbers-v1":  # an API without the v2 list: the v1 array is read instead
        hostile.on("GET", "/v1/convai/v2/phone-numbers", json_reply({"detail": "Not Found"}, 404))
    if read == "settings" and junk == "wrong-items":
        hostile.on(method, path, json_reply({"conversation_initiation_client_data_webhook": 5}))
    elif read == "numbers-v1" and junk == "wrong-items":
        hostile.on(method, path, json_reply([{"label": 3}]))
    elif read == "numbers-v1" and junk == "list":  # [] is v1's empty answer; an object is the wrong shape
        hostile.on(method, path, json_reply({"phone_numbers": []}))
    else:
        hostile.on(method, path, JUNK[junk])
    result = invoke(tmp_path, EVERY_READ, hostile.url, "plan")
    one_error_line(result, f"{method} {path} failed (HTTP 200): ")


CREATES = {
    "number": ("POST", "/v1/convai/phone-numbers", "version: 1\n" + NUMBER),
    "read-back": ("GET", "/v1/convai/phone-numbers/phnum_1", "version: 1\n" + NUMBER),
    "secret": ("POST", "/v1/convai/secrets", "version: 1\n" + WEBHOOK),
}


@pytest.mark.parametrize("junk", ["html", "null", "wrong-items"])
@pytest.mark.parametrize("create", CREATES)
def test_apply_names_the_write_whose_2xx_is_not_the_expected_json(
    hostile: HostileServer, tmp_path: Path, create: str, junk: str
) -> None:
    method, path, manifest = CREATES[create]
    hostile.on(method, path, JUNK[junk])
    result = invoke(tmp_path, manifest, hostile.url, "apply", "--auto-approve")
    assert result.exit_code == 1, result.output
    assert_clean(result.output)
    failed = [line for line in result.output.splitlines() if line.strip().startswith("Failed:")]
    assert len(failed) == 1 and f"{method} {path} failed (HTTP 200): " in failed[0], result.output


def echoing(status: int) -> object:
    """A server that echoes the request's key header and body in its error message."""

    def reply(seen: Seen) -> Reply:
        text = f"rejected: xi-api-key={seen.headers.get('xi-api-key')} body={seen.body.decode()}"
        return json_reply({"detail": {"message": text}}, status)

    return reply


@pytest.mark.parametrize("status", [400, 500])
@pytest.mark.parametrize(
    ("method", "path", "manifest"),
    [
        ("POST", "/v1/convai/secrets", "version: 1\n" + WEBHOOK),
        ("POST", "/v1/convai/phone-numbers", "version: 1\n" + NUMBER),
        ("GET", "/v1/convai/v2/phone-numbers", "version: 1\n" + NUMBER),
    ],
)
def test_an_echoed_key_or_secret_is_redacted(
    hostile: HostileServer, tmp_path: Path, status: int, method: str, path: str, manifest: str
) -> None:
    hostile.on(method, path, echoing(status))  # type: ignore[arg-type]
    result = invoke(tmp_path, manifest, hostile.url, "apply", "--auto-approve")
    assert result.exit_code == 1, result.output
    assert_clean(result.output)
    assert f"{method} {path} failed (HTTP {status}): rejected: xi-api-key=***" in result.output
    assert hostile.calls(method, path), "the server was asked"


def test_credentials_in_the_api_url_are_never_shown(hostile: HostileServer, tmp_path: Path) -> None:
    url = hostile.url.replace("http://", f"http://user:{URL_PASSWORD}@")
    manifest = "version: 1\n" + NUMBER
    shown = json.loads(invoke(tmp_path, manifest, url, "plan", "--format", "json").stdout)
    assert shown["workspace"]["api_url"] == hostile.url
    markdown = invoke(tmp_path, manifest, url, "plan", "--format", "markdown")
    assert f"`{hostile.url}`" in markdown.stdout
    saved = tmp_path / "saved.plan"
    assert invoke(tmp_path, manifest, url, "plan", "--out", str(saved)).exit_code == 0
    assert URL_PASSWORD not in saved.read_text()
    shown_file = CliRunner().invoke(cli, ["show", str(saved), "--format", "json"])
    assert json.loads(shown_file.stdout)["workspace"]["api_url"] == hostile.url
    hostile.stop()  # now the URL cannot be reached: the error names it, without the password
    one_error_line(invoke(tmp_path, manifest, url, "plan"), "cannot connect to http://127.0.0.1:")


@pytest.mark.parametrize("suffix", ["?token=abc", "#frag", "/?x=1"])
def test_an_api_url_with_a_query_or_fragment_is_refused(tmp_path: Path, suffix: str) -> None:
    url = f"https://user:{URL_PASSWORD}@api.example.com{suffix}"
    one_error_line(invoke(tmp_path, "version: 1\n" + NUMBER, url, "plan"), "?query or #fragment")
    result = invoke(tmp_path, "version: 1\n" + NUMBER, "http://127.0.0.1:9", "plan", "--api-url", url)
    one_error_line(result, "--api-url 'https://api.example.com", "?query or #fragment")


# -- limits through the CLI: one line, exit 1 ---------------------------------------------------


def test_plan_with_a_repeating_cursor_is_one_line(hostile: HostileServer, tmp_path: Path) -> None:
    hostile.on("GET", "/v1/convai/v2/phone-numbers", json_reply({"phone_numbers": [], "next_cursor": "x"}))
    result = invoke(tmp_path, "version: 1\n" + NUMBER, hostile.url, "plan")
    one_error_line(result, "GET /v1/convai/v2/phone-numbers failed", "paging makes no progress")


def test_drift_over_the_size_cap_is_one_line(hostile: HostileServer, tmp_path: Path) -> None:
    hostile.on("GET", "/v1/convai/v2/phone-numbers", Reply(body=b" " * 65536, repeat=32))
    result = invoke(
        tmp_path, "version: 1\n" + NUMBER, hostile.url, "drift", TELEPHONY_MAX_RESPONSE_BYTES=str(1024 * 1024)
    )
    one_error_line(result, "GET /v1/convai/v2/phone-numbers failed (HTTP 200)", "TELEPHONY_MAX_RESPONSE_BYTES")


def test_a_bad_limit_setting_is_one_line(tmp_path: Path) -> None:
    result = invoke(tmp_path, "version: 1\n" + NUMBER, "http://127.0.0.1:9", "plan", TELEPHONY_MAX_PAGES="many")
    one_error_line(result, "TELEPHONY_MAX_PAGES='many' is not a positive number")
    result = invoke(tmp_path, "version: 1\n" + NUMBER, "http://127.0.0.1:9", "plan", TELEPHONY_DEADLINE="soon")
    one_error_line(result, "TELEPHONY_DEADLINE='soon'")


@pytest.mark.e2e
def test_plan_against_a_dripping_server_ends_at_the_deadline(hostile: HostileServer, tmp_path: Path) -> None:
    hostile.on("GET", "/v1/convai/v2/phone-numbers", Reply(body=b'{"phone_numbers": []}' * 20, drip=0.2))
    (tmp_path / "telephony.yaml").write_text("version: 1\n" + NUMBER)
    env = cli_env(**environment(hostile.url, TELEPHONY_DEADLINE="1.5"))
    result = run_cli("plan", cwd=tmp_path, env=env, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        "Error: GET /v1/convai/v2/phone-numbers: the run deadline of 1.5 s passed; nothing was changed. The API is "
        "slow or not answering: try again later, or raise the limit with --deadline SECONDS or TELEPHONY_DEADLINE "
        "(0: none)"
    ]


@pytest.mark.e2e
def test_apply_at_the_deadline_stops_starting_steps_and_exits_4(hostile: HostileServer, tmp_path: Path) -> None:
    # The secret's create takes ~1.5 s; the deadline (1 s) passes meanwhile. The create is not cut
    # (a write cut mid-flight may or may not land); the webhook that depends on it never starts.
    hostile.on("POST", "/v1/convai/secrets", Reply(body=b'{"secret_id": "sec_1"}', drip=0.07))
    (tmp_path / "telephony.yaml").write_text("version: 1\n" + WEBHOOK)
    env = cli_env(**environment(hostile.url))
    result = run_cli("apply", "--auto-approve", "--deadline", "1", cwd=tmp_path, env=env, timeout=60)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "Applied: secret.telephony:workspace:Authorization" in result.stdout
    assert "Skipped: workspace.pre_call_webhook (update): not started: the run deadline" in result.stdout
    assert "requests already sent may have been applied" in result.stdout
    assert not hostile.calls("PATCH", "/v1/convai/settings")
    assert_clean(result.stdout + result.stderr)


@pytest.mark.e2e
def test_the_subprocess_cli_redacts_an_echoed_key(hostile: HostileServer, tmp_path: Path) -> None:
    hostile.on("GET", "/v1/convai/v2/phone-numbers", echoing(400))  # type: ignore[arg-type]
    (tmp_path / "telephony.yaml").write_text("version: 1\n" + NUMBER)
    result = run_cli("plan", cwd=tmp_path, env=cli_env(**environment(hostile.url)), timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith(
        "Error: GET /v1/convai/v2/phone-numbers failed (HTTP 400): rejected: xi-api-key=***"
    )
    assert_clean(result.stdout + result.stderr)
