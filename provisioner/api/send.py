"""The writes apply executes, each followed by the read-back it is verified with.

Every function takes the payload a typed change carries (a wire request with `${VAR}` text, or an
owned-field edit), resolves references at the moment of sending, writes, reads the resource back
and returns it decoded, so the caller compares canonical values and never sees JSON.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Collection, Mapping

from provisioner.api import codec, wire
from provisioner.api.client import ElevenLabsClient
from provisioner.errors import ReadBackMismatch
from provisioner.state import AgentScope, AgentState, NumberState, WebhookState

Resolve = Callable[[str], str]


async def create_secret(client: ElevenLabsClient, name: str, value_ref: str, resolve: Resolve) -> str:
    return await client.create_secret(name, resolve(value_ref))


async def rotate_secret(client: ElevenLabsClient, secret_id: str, name: str, value_ref: str, resolve: Resolve) -> None:
    await client.update_secret(secret_id, name, resolve(value_ref))


async def delete_secret(client: ElevenLabsClient, secret_id: str) -> None:
    await client.delete_secret(secret_id)


def _unowned(found: list[tuple[str, object, object]]) -> None:
    if found:
        shown = "; ".join(f"{path}: was {before!r}, now {after!r}" for path, before, after in found[:5])
        more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
        raise ReadBackMismatch(f"the write changed values the tool does not own: {shown}{more}")


async def update_webhook(
    client: ElevenLabsClient, hook: WebhookState | None, secret_ids: Mapping[str, str], *, clear_first: bool = False
) -> WebhookState | None:
    """Read-modify-write of the settings (see `codec.settings_patches`), then the read-back."""
    fresh = await client.get_settings()
    for request in codec.settings_patches(hook, secret_ids, fresh, clear_first=clear_first):
        await client.update_settings(request)
    settings = await client.get_settings()
    _unowned(codec.unowned_settings_changes(fresh, settings))
    names = {i: n for n, i in secret_ids.items()}
    return codec.decode_webhook(settings.conversation_initiation_client_data_webhook, names)


async def import_number(
    client: ElevenLabsClient,
    e164: str,
    request: wire.ImportRequest,
    settings: wire.UpdatePhoneNumberRequest | None,
    resolve: Resolve,
) -> tuple[str, NumberState]:
    number_id = await write_import(client, e164, request, settings, resolve)
    return number_id, codec.decode_number(await client.get_phone_number(number_id))


async def update_number(
    client: ElevenLabsClient, number_id: str, request: wire.UpdatePhoneNumberRequest, resolve: Resolve
) -> NumberState:
    await write_update(client, number_id, request, resolve)
    return codec.decode_number(await client.get_phone_number(number_id))


async def write_import(
    client: ElevenLabsClient,
    e164: str,
    request: wire.ImportRequest,
    settings: wire.UpdatePhoneNumberRequest | None,
    resolve: Resolve,
) -> str:
    """Import a number (and PATCH what the import body cannot take); its id. No read-back: see
    `read_numbers`."""
    number_id = await client.import_phone_number(e164, codec.resolved_import(request, resolve))
    if settings is not None:
        await client.update_phone_number(number_id, settings.body())
    return number_id


async def write_update(
    client: ElevenLabsClient, number_id: str, request: wire.UpdatePhoneNumberRequest, resolve: Resolve
) -> None:
    """PATCH a number. No read-back: see `read_numbers`."""
    await client.update_phone_number(number_id, codec.resolved_update(request, resolve))


async def read_numbers(client: ElevenLabsClient, number_ids: Collection[str], listed: int) -> dict[str, NumberState]:
    """The read-back of numbers written: id → decoded state, in the fewest round trips.

    One GET per number when that is no more requests than listing the workspace (`listed`: about
    how many numbers it holds), else the list pages once. A number the list does not hold is absent
    from the result (the caller reports it as a read-back mismatch)."""
    wanted = set(number_ids)
    pages = max(1, math.ceil(listed / client.number_page_size))
    if len(wanted) <= pages:
        read = await asyncio.gather(*(client.get_phone_number(i) for i in wanted))
        return {item.phone_number_id: codec.decode_number(item) for item in read}
    return {
        item.phone_number_id: codec.decode_number(item)
        for item in await client.list_phone_numbers()
        if item.phone_number_id in wanted
    }


async def delete_number(client: ElevenLabsClient, number_id: str) -> None:
    await client.delete_phone_number(number_id)


async def update_agent(
    client: ElevenLabsClient, agent_id: str, edit: codec.AgentEdit, scope: AgentScope, secret_ids: Mapping[str, str]
) -> AgentState:
    """Read-modify-write: the bodies are composed from a GET made just before the PATCH."""
    fresh = await client.get_agent(agent_id)
    for request in codec.agent_patches(edit, fresh, secret_ids):
        await client.update_agent(agent_id, request)
    after = await client.get_agent(agent_id)
    kept = codec.kept_after_removal(after, edit)
    if kept:
        names = ", ".join(repr(k) for k in kept)
        raise ReadBackMismatch(
            f"placeholder {names} is still set: the API keeps keys a PATCH leaves out (it merges this map) and "
            "its reference forbids null; remove it in the ElevenLabs dashboard (the agent's dynamic variables), "
            "then run `telephony plan`"
        )
    _unowned(codec.unowned_changes(fresh, after, edit))
    return codec.decode_agent(after, scope, {i: n for n, i in secret_ids.items()})
