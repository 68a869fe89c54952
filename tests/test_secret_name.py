"""`{secret: NAME}` webhook headers: an existing workspace secret, by name, never managed."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner import desired
from provisioner.api import codec, live, wire
from provisioner.manifest import Manifest
from provisioner.planner import MissingWorkspaceSecret, build_plan
from provisioner.state import SecretRef

HOOK = {"url": "https://crm.example.com/hook", "headers": {"Authorization": {"secret": "crm-token"}, "X-Plain": "a"}}


def manifest(**extra: Any) -> Manifest:
    return Manifest.model_validate({"version": 1, "pre_call_webhook": HOOK, **extra})


def workspace(secrets: list[wire.SecretResponse], headers: dict[str, Any] | None = None) -> live.LiveState:
    hook = wire.WebhookWire(url=HOOK["url"], request_headers=headers or {})
    settings = wire.SettingsResponse(conversation_initiation_client_data_webhook=hook)
    return live.decode(settings=settings, secrets=secrets)


def test_desired_is_a_secret_ref_and_not_a_tool_secret() -> None:
    value = manifest()
    hook = desired.workspace_webhook(value)
    assert hook is not None and dict(hook.headers)["Authorization"] == SecretRef(secret="crm-token")
    assert desired.secrets(value) == {}
    assert desired.named_secrets(value) == [("pre_call_webhook", "Authorization", "crm-token")]


def test_plan_is_empty_when_the_live_header_uses_the_secret() -> None:
    state = workspace(
        [wire.SecretResponse(secret_id="sec_1", name="crm-token")],
        {"Authorization": wire.SecretReference(secret_id="sec_1"), "X-Plain": "a"},
    )
    plan = build_plan(manifest(), state)
    assert not plan.has_changes
    assert [c for c in plan.changes if c.kind == "secret"] == []  # never created, rotated or deleted


def test_encode_uses_the_live_secret_id() -> None:
    hook = desired.workspace_webhook(manifest())
    encoded = codec.encode_webhook(hook, {"crm-token": "sec_1"})
    assert encoded is not None and encoded.request_headers["Authorization"] == wire.SecretReference(secret_id="sec_1")


def test_a_missing_secret_fails_the_plan_naming_it() -> None:
    with pytest.raises(MissingWorkspaceSecret) as failed:
        build_plan(manifest(), workspace([wire.SecretResponse(secret_id="sec_2", name="other")]))
    assert "pre_call_webhook.headers.Authorization uses secret 'crm-token'" in str(failed.value)
