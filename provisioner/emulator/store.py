"""The in-memory workspace: phone numbers, agents, settings, secrets, batch calls.

Records are plain dicts (cheap to copy, persist and render). Public shapes are rendered by
`render.py`; rendered phone numbers are cached as JSON bytes because GETs dominate every
plan. Any write clears the caches. With a state file, every write is persisted atomically
(write a temporary file, fsync, rename), so a crash leaves either the old or the new state.
"""

from __future__ import annotations

import copy
import secrets as pysecrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticUndefined

from provisioner.emulator import agent_config, agent_schema, batches, models, persistence, render
from provisioner.emulator.clock import Clock
from provisioner.emulator.errors import EmulatorError, bad_request, not_found
from provisioner.emulator.ids import new_id
from provisioner.emulator.persistence import dumps
from provisioner.emulator.secrets_hygiene import fingerprint, new_salt
from provisioner.emulator.semantics import Semantics
from provisioner.emulator.usage import secret_used_by

STATE_VERSION = 1


class Store:
    """One emulated workspace. All methods run on the event loop thread, so no locking."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        state_file: Path | None = None,
        allow_duplicate_numbers: bool = False,
        semantics: Semantics | None = None,
    ) -> None:
        self.clock = clock or Clock()
        # The semantics switches (not persisted: they are server settings, not workspace state).
        self.initial_semantics = semantics or Semantics()
        self.semantics = self.initial_semantics
        self.allow_duplicate_numbers = allow_duplicate_numbers
        self.state_file = state_file
        self.save_interval: float | None = None  # None: every write is saved at once
        self._dirty = False
        self._saved_at = time.monotonic()
        self.salt = persistence.load_or_create_key(state_file, new_salt()) if state_file is not None else new_salt()
        self.numbers: dict[str, dict[str, Any]] = {}
        self.agents: dict[str, dict[str, Any]] = {}
        self.secrets: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.conversations: dict[str, dict[str, Any]] = {}
        self.settings: dict[str, Any] = render.default_settings()
        self.drop_fields: list[str] = []
        self._by_phone: dict[str, str] = {}  # phone_number -> id, for the duplicate check
        self._number_cache: dict[str, bytes] = {}
        self._list_cache: bytes | None = None

    # ----- persistence -------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        # The fingerprint key is not stored here (see persistence.key_file).
        return {
            "version": STATE_VERSION,
            "clock_offset": self.clock.offset,
            "phone_numbers": list(self.numbers.values()),
            "agents": list(self.agents.values()),
            "secrets": list(self.secrets.values()),
            "batch_calls": list(self.batches.values()),
            "conversations": list(self.conversations.values()),
            "settings": self.settings,
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.clock.offset = float(state.get("clock_offset", 0.0))
        self.numbers = {n["phone_number_id"]: n for n in state.get("phone_numbers", [])}
        self.agents = {a["agent_id"]: a for a in state.get("agents", [])}
        self.secrets = {s["secret_id"]: s for s in state.get("secrets", [])}
        self.batches = {b["id"]: b for b in state.get("batch_calls", [])}
        self.conversations = {c["conversation_id"]: c for c in state.get("conversations", [])}
        self.settings = {**render.default_settings(), **state.get("settings", {})}
        self._by_phone = {n["phone_number"]: i for i, n in self.numbers.items()}
        self.changed(persist=False)

    def remove_stale_temporaries(self) -> None:
        if self.state_file is not None:
            persistence.remove_stale_temporaries(self.state_file)

    def save(self) -> None:
        if self.state_file is not None:
            persistence.atomic_write(self.state_file, dumps(self.to_state()))
            self._dirty = False
            self._saved_at = time.monotonic()

    def flush(self) -> None:
        """Write the state now if a write is pending (deferred saving; see `changed`)."""
        if self._dirty:
            self.save()

    def changed(self, *, persist: bool = True) -> None:
        self._number_cache.clear()
        self._list_cache = None
        if not persist:
            return
        self._dirty = True
        # With `save_interval` set (the in-process sandbox), writes are batched: the whole state is
        # rewritten at most once per interval and on `flush`, so an apply is linear, not quadratic.
        if self.save_interval is None or time.monotonic() - self._saved_at >= self.save_interval:
            self.save()

    def set_semantics(self, semantics: Semantics) -> None:
        self.semantics = semantics
        self.changed(persist=False)  # rendered numbers depend on `codec_order`

    def reset(self) -> None:
        self.semantics = self.initial_semantics
        self.numbers, self.agents, self.secrets, self.batches, self.conversations = {}, {}, {}, {}, {}
        self._by_phone = {}
        self.settings = render.default_settings()
        self.drop_fields = []
        self.clock.offset = 0.0
        self.changed()

    # ----- seeding -----------------------------------------------------------------------

    def apply_seed(self, seed: Mapping[str, Any]) -> None:
        """Load a workspace from a seed mapping (agents, phone_numbers, settings, secrets)."""
        for i, agent in enumerate(seed.get("agents") or []):
            with _seed_item(f"agents[{i}]"):
                agent_body = models.CreateAgentRequest.model_validate({"conversation_config": {}, **agent})
                self.create_agent(models.agent_patch_dict(agent_body), agent_id=agent.get("agent_id"), persist=False)
        for i, secret in enumerate(seed.get("secrets") or []):
            with _seed_item(f"secrets[{i}]"):
                self.create_secret(
                    str(secret["name"]), str(secret["value"]), secret_id=secret.get("secret_id"), persist=False
                )
        for i, number in enumerate(seed.get("phone_numbers") or []):
            with _seed_item(f"phone_numbers[{i}]"):
                body = models.parse_create_phone_number(number)
                ident = self.create_number(body, phone_number_id=number.get("phone_number_id"), persist=False)
                # Fields only PATCH can set (livekit_stack, environment, …) are applied as a PATCH.
                extra = {k: number[k] for k in _PATCH_ONLY_FIELDS if k in number}
                if extra:
                    update = models.UpdatePhoneNumberRequest.model_validate(extra)
                    self.update_number(ident, {k: getattr(update, k) for k in update.model_fields_set})
        if seed.get("settings"):
            with _seed_item("settings"):
                self.patch_settings(models.PatchConvAISettingsRequest.model_validate(seed["settings"]), persist=False)
        self.changed()

    # ----- phone numbers -----------------------------------------------------------------

    def get_number_record(self, phone_number_id: str) -> dict[str, Any]:
        record = self.numbers.get(phone_number_id)
        if record is None:
            raise not_found("phone_number", phone_number_id)
        return record

    def number_json(self, phone_number_id: str) -> bytes:
        cached = self._number_cache.get(phone_number_id)
        if cached is None:
            record = self.get_number_record(phone_number_id)
            cached = self._number_cache[phone_number_id] = dumps(self.render_number(record))
        return cached

    def render_number(self, record: dict[str, Any]) -> dict[str, Any]:
        agent = self.agents.get(record["agent_id"]) if record.get("agent_id") else None
        return render.phone_number(record, agent, sort_codecs=self.semantics.codec_order == "sorted")

    def list_numbers_json(self, *, provider: str | None, agent_id: str | None, branch_id: str | None) -> bytes:
        if provider is None and agent_id is None and branch_id is None:
            if self._list_cache is None:
                self._list_cache = b"[" + b",".join(self.number_json(i) for i in self.numbers) + b"]"
            return self._list_cache
        chosen = self.filter_numbers(provider=provider, agent_id=agent_id, branch_id=branch_id)
        return b"[" + b",".join(self.number_json(n["phone_number_id"]) for n in chosen) + b"]"

    def filter_numbers(
        self, *, provider: str | None = None, agent_id: str | None = None, branch_id: str | None = None
    ) -> list[dict[str, Any]]:
        return [
            n
            for n in self.numbers.values()
            if (provider is None or n["provider"] == provider)
            and (agent_id is None or n.get("agent_id") == agent_id)
            and (branch_id is None or n.get("branch_id") == branch_id)
        ]

    def create_number(self, body: Any, *, phone_number_id: str | None = None, persist: bool = True) -> str:
        data: dict[str, Any] = body.model_dump()
        for path in self.drop_fields:
            agent_config.drop_path(data, path)
        phone = data.get("phone_number") or ""
        if phone in self._by_phone and not self.allow_duplicate_numbers:
            # 400, not 409: the SDK silently retries 409 twice.
            raise bad_request("phone_number_already_exists", f"Phone number {phone} already exists in this workspace.")
        if data.get("agent_id"):
            self.get_agent_record(data["agent_id"])
        ident = phone_number_id or new_id("phnum")
        record: dict[str, Any] = {
            "phone_number_id": ident,
            "phone_number": phone,
            "label": data.get("label") or "",
            "provider": data["provider"],
            "supports_inbound": data.get("supports_inbound", True),
            "supports_outbound": data.get("supports_outbound", True),
            "agent_id": data.get("agent_id"),
            "environment": None,
            "branch_id": None,
            "created_at": self.clock.now(),
        }
        if data["provider"] == "sip_trunk":
            if self.semantics.new_sip_stack == "standard":
                record["livekit_stack"] = "standard"
            else:
                record["livekit_stack"] = self.settings.get("default_livekit_stack") or "standard"
            record["store_sip_messages"] = True
            record["inbound_trunk"] = self._trunk(data.get("inbound_trunk_config"), None, models.INBOUND)
            record["outbound_trunk"] = self._trunk(data.get("outbound_trunk_config"), None, models.OUTBOUND)
        else:
            record["credentials"] = self._provider_credentials(data)
        self.numbers[ident] = record
        self._by_phone[phone] = ident
        self.changed(persist=persist)
        return ident

    def _provider_credentials(self, data: dict[str, Any]) -> dict[str, Any]:
        """Fingerprints of Twilio/Exotel secrets plus the non-secret settings; never echoed."""
        secret_keys = ("sid", "token", "account_auth_token", "api_key", "api_token")
        out: dict[str, Any] = {k: fingerprint(self.salt, data[k]) for k in secret_keys if data.get(k)}
        region = data.get("region_config")
        if region:
            out["region_config"] = {"region_id": region["region_id"], "edge_location": region["edge_location"]}
        for key in ("enable_sms", "account_sid", "api_subdomain", "app_id", "applet_url"):
            if key in data:
                out[key] = data[key]
        return out

    def _trunk(
        self, config: dict[str, Any] | None, old: dict[str, Any] | None, model: type[BaseModel]
    ) -> dict[str, Any] | None:
        if config is None:
            return None
        stored = {k: copy.deepcopy(v) for k, v in config.items() if k != "credentials"}
        for key, info in model.model_fields.items():  # a key the drop-fields switch removed
            if key not in config and key != "credentials":
                stored[key] = (
                    copy.deepcopy(old[key]) if old and key in old else info.get_default(call_default_factory=True)
                )
                if stored[key] is PydanticUndefined:
                    stored[key] = ""
        creds = config.get("credentials")
        stored["username"] = creds["username"] if creds else None
        stored["password_fp"] = None
        if creds:
            if creds.get("password") is not None:
                stored["password_fp"] = fingerprint(self.salt, creds["password"])
            elif old is not None:
                stored["password_fp"] = old.get("password_fp")  # "if not specified, remain unchanged"
        return stored

    def update_number(self, phone_number_id: str, patch: dict[str, Any]) -> None:
        record = self.get_number_record(phone_number_id)
        for path in self.drop_fields:
            agent_config.drop_path(patch, path)
        if "agent_id" in patch:
            if patch["agent_id"] is not None:
                self.get_agent_record(patch["agent_id"])
            record["agent_id"] = patch["agent_id"]
        for key in ("label",):
            if patch.get(key) is not None:  # required in GET: null cannot clear it, so it is ignored
                record[key] = patch[key]
        for key in ("environment", "branch_id"):
            if key in patch:
                record[key] = patch[key]
        if record["provider"] == "sip_trunk":
            for key in ("livekit_stack", "store_sip_messages"):
                if patch.get(key) is not None:
                    record[key] = patch[key]
            for key, field, model in (
                ("inbound_trunk_config", "inbound_trunk", models.INBOUND),
                ("outbound_trunk_config", "outbound_trunk", models.OUTBOUND),
            ):
                if key in patch:
                    record[field] = self._trunk(patch[key], record.get(field), model)
        self.changed()

    def delete_number(self, phone_number_id: str) -> None:
        record = self.get_number_record(phone_number_id)
        del self.numbers[phone_number_id]
        self._by_phone.pop(record["phone_number"], None)
        self.changed()

    # ----- agents ------------------------------------------------------------------------

    def get_agent_record(self, agent_id: str) -> dict[str, Any]:
        record = self.agents.get(agent_id)
        if record is None:
            raise not_found("agent", agent_id)
        return record

    def create_agent(self, body: dict[str, Any], *, agent_id: str | None = None, persist: bool = True) -> str:
        now = int(self.clock.now())
        ident = agent_id or new_id("agent")
        record: dict[str, Any] = {
            "agent_id": ident,
            "name": body.get("name") or "",
            "conversation_config": agent_config.default_conversation_config(),
            "platform_settings": agent_config.default_platform_settings(),
            "tags": list(body.get("tags") or []),
            "created_at_unix_secs": now,
            "updated_at_unix_secs": now,
        }
        tree = agent_config.known_fields()
        _pop_null_placeholders(body)  # never stored: a null placeholder is absent on a new agent
        for key in ("conversation_config", "platform_settings"):
            if body.get(key):
                agent_config.merge(record[key], body[key], tree[key])
        agent_config.drop_input_only_kinds(record)
        agent_schema.complete(record)
        self.agents[ident] = record
        self.changed(persist=persist)
        return ident

    def ensure_agent(self, agent_id: str, *, name: str | None = None) -> dict[str, Any]:
        """Create the agent with this id if it does not exist (used by the `--sandbox` mode)."""
        if agent_id not in self.agents:
            self.create_agent({"name": name or agent_id}, agent_id=agent_id)
        return self.agents[agent_id]

    def patch_agent(self, agent_id: str, patch: dict[str, Any]) -> None:
        record = self.get_agent_record(agent_id)
        for path in self.drop_fields:
            agent_config.drop_path(patch, path)
        tree = agent_config.known_fields()
        # A null placeholder value (the routes refuse it under `placeholder_null=reject`) removes the key.
        removed = _pop_null_placeholders(patch)
        replace = self.semantics.agent_patch == "replace"
        for key, fresh in (
            ("conversation_config", agent_config.default_conversation_config),
            ("platform_settings", agent_config.default_platform_settings),
        ):
            if isinstance(patch.get(key), dict):
                if replace:  # the section sent replaces the stored one; the API's defaults fill the rest
                    record[key] = fresh()
                agent_config.merge(record[key], patch[key], tree[key])
        placeholders = _placeholders(record)
        if placeholders is not None:
            for name in removed:
                placeholders.pop(name, None)
        agent_config.drop_input_only_kinds(record)
        agent_schema.complete(record)
        if patch.get("name") is not None:
            record["name"] = patch["name"]
        if patch.get("tags") is not None:
            record["tags"] = list(patch["tags"])
        record["updated_at_unix_secs"] = int(self.clock.now())
        self.changed()

    def delete_agent(self, agent_id: str) -> None:
        self.get_agent_record(agent_id)
        del self.agents[agent_id]
        for number in self.numbers.values():  # a number cannot point at a deleted agent
            if number.get("agent_id") == agent_id:
                number["agent_id"] = None
        self.changed()

    def agent_json(self, agent_id: str) -> dict[str, Any]:
        record = self.get_agent_record(agent_id)
        numbers = [self.render_number(n) for n in self.numbers.values() if n.get("agent_id") == agent_id]
        return render.agent(record, numbers)

    def list_agents(self, *, search: str | None, sort_by: str, descending: bool) -> list[dict[str, Any]]:
        agents = list(self.agents.values())
        if search:
            needle = search.lower()
            agents = [a for a in agents if needle in a["name"].lower()]
        key = (
            "name"
            if sort_by == "name"
            else "updated_at_unix_secs"
            if sort_by == "updated_at"
            else "created_at_unix_secs"
        )
        return sorted(agents, key=lambda a: (a[key], a["agent_id"]), reverse=descending)

    # ----- settings and secrets ----------------------------------------------------------

    def patch_settings(self, body: Any, *, persist: bool = True) -> None:
        sent: set[str] = body.model_fields_set
        if self.semantics.settings_patch == "defaults":
            # Every key the body lacks goes back to the request model's default.
            for key, value in settings_patch_defaults().items():
                if key not in sent:
                    self.settings[key] = value
        hook = body.conversation_initiation_client_data_webhook
        if hook is not None:
            for value in hook.request_headers.values():
                if getattr(value, "secret_id", None):
                    self.get_secret_record(value.secret_id)
        for key in sent:
            value = getattr(body, key)
            if value is None and key not in _NULLABLE_SETTINGS:
                continue  # not nullable in the response: a null leaves the stored value alone
            if key == "webhooks":
                # Replaced whole, defaults materialised; optional newer keys only when given.
                value = value.model_dump(mode="json", exclude_none=True)
                value.setdefault("post_call_webhook_id", None)
            elif hasattr(value, "model_dump"):
                value = value.model_dump(mode="json")
            self.settings[key] = value
        self.changed(persist=persist)

    def get_secret_record(self, secret_id: str) -> dict[str, Any]:
        record = self.secrets.get(secret_id)
        if record is None:
            raise not_found("secret", secret_id)
        return record

    def create_secret(
        self, name: str, value: str, *, secret_id: str | None = None, persist: bool = True
    ) -> dict[str, Any]:
        ident = secret_id or "".join(pysecrets.choice(_ALNUM) for _ in range(20))
        record = {
            "secret_id": ident,
            "name": name,
            "value_fp": fingerprint(self.salt, value),
            "created_at": self.clock.now(),
        }
        self.secrets[ident] = record
        self.changed(persist=persist)
        return record

    def update_secret(self, secret_id: str, name: str, value: str) -> dict[str, Any]:
        record = self.get_secret_record(secret_id)
        record["name"] = name
        record["value_fp"] = fingerprint(self.salt, value)
        self.changed()
        return record

    def secret_used_by(self, secret_id: str) -> dict[str, Any]:
        return secret_used_by(secret_id, self.settings, self.agents.values())

    def delete_secret(self, secret_id: str) -> None:
        self.get_secret_record(secret_id)
        used = self.secret_used_by(secret_id)
        if used["others"] or used["agents"]:
            raise bad_request("secret_in_use", f"Secret {secret_id} is in use and cannot be deleted.")
        del self.secrets[secret_id]
        self.changed()

    # ----- outbound calls and batches ----------------------------------------------------

    def record_conversation(self, agent_id: str, phone_number_id: str, to_number: str, channel: str) -> str:
        ident = new_id("conv")
        self.conversations[ident] = {
            "conversation_id": ident,
            "agent_id": agent_id,
            "phone_number_id": phone_number_id,
            "to_number": to_number,
            "channel": channel,
            "started_at": self.clock.now(),
        }
        self.save()
        return ident

    def submit_batch(self, body: Any) -> dict[str, Any]:
        data: dict[str, Any] = body.model_dump(mode="json")
        self.get_agent_record(data["agent_id"])
        provider = None
        if data.get("agent_phone_number_id"):
            provider = self.get_number_record(data["agent_phone_number_id"])["provider"]
        batch = batches.new_batch(data, provider, self.clock.now())
        self.batches[batch["id"]] = batch
        self.save()
        return batch

    def get_batch_record(self, batch_id: str) -> dict[str, Any]:
        record = self.batches.get(batch_id)
        if record is None:
            raise not_found("batch_call", batch_id)
        return record

    def batch_json(self, batch: dict[str, Any], *, detailed: bool) -> dict[str, Any]:
        agent = self.agents.get(batch["agent_id"])
        return batches.render(batch, agent["name"] if agent else "", self.clock.now(), detailed=detailed)

    def cancel_batch(self, batch_id: str) -> dict[str, Any]:
        batch = self.get_batch_record(batch_id)
        batches.cancel(batch, self.clock.now())
        self.save()
        return batch

    def retry_batch(self, batch_id: str) -> dict[str, Any]:
        batch = self.get_batch_record(batch_id)
        if batch.get("cancelled"):
            raise bad_request("batch_cancelled", f"Batch {batch_id} was cancelled and cannot be retried.")
        batches.retry(batch, self.clock.now())
        self.save()
        return batch

    def delete_batch(self, batch_id: str) -> None:
        self.get_batch_record(batch_id)
        del self.batches[batch_id]
        self.save()


_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_NULLABLE_SETTINGS = frozenset({"conversation_initiation_client_data_webhook", "conversation_embedding_retention_days"})


_PATCH_ONLY_FIELDS = ("livekit_stack", "store_sip_messages", "environment", "branch_id")
PLACEHOLDERS_PATH = ("conversation_config", "agent", "dynamic_variables", "dynamic_variable_placeholders")


def settings_patch_defaults() -> dict[str, Any]:
    """`PatchConvAISettingsRequest`'s defaults in the spec (checked against it by the tests):
    `can_use_mcp_servers` false, `rag_retention_period_days` 10, `default_livekit_stack` "standard",
    the nullable webhook and embedding retention null, and `webhooks` as the API stores `{}`."""
    return render.default_settings()


def _placeholders(body: Mapping[str, Any]) -> dict[str, Any] | None:
    node: Any = body
    for part in PLACEHOLDERS_PATH:
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def null_placeholders(body: Mapping[str, Any]) -> list[str]:
    """The placeholder names an agent create/PATCH body sets to null."""
    placeholders = _placeholders(body)
    return [k for k, v in placeholders.items() if v is None] if placeholders else []


def _pop_null_placeholders(body: Mapping[str, Any]) -> list[str]:
    placeholders = _placeholders(body)
    names = null_placeholders(body)
    for name in names:
        assert placeholders is not None
        del placeholders[name]
    return names


class SeedError(ValueError):
    """A seed entry that cannot be loaded; the message names it and never echoes its values."""


@contextmanager
def _seed_item(where: str) -> Iterator[None]:
    try:
        yield
    except ValidationError as exc:
        # pydantic's own message quotes the input, which may hold a token or password.
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SeedError(f"seed {where}: {problems}") from None
    except EmulatorError as exc:
        raise SeedError(f"seed {where}: {exc.detail['message']}") from None
    except (KeyError, TypeError) as exc:
        raise SeedError(f"seed {where}: missing or malformed {exc}") from None
