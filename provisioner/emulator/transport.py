"""`EmulatorTransport`: run the emulator in-process with network-like failure behaviour.

A dropped connection under a real server reaches httpx as `RemoteProtocolError("Server
disconnected without sending a response.")`; in-process the app raises `DroppedConnection`
instead, and this transport converts it, so clients' retry code sees the same thing either way.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from provisioner.emulator.middleware import DroppedConnection


class EmulatorTransport(httpx.AsyncBaseTransport):
    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except DroppedConnection as exc:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request) from exc

    async def aclose(self) -> None:
        await self._inner.aclose()
        store = getattr(getattr(self.app, "state", None), "store", None)
        if store is not None:
            store.flush()  # a deferred (batched) state write lands when the client closes
