"""A local emulator of the ElevenLabs Agents Platform REST API (telephony surface).

Faithful enough that the official `elevenlabs` SDK, pointed at it with `base_url`, works
unchanged. Serve it with `telephony emulator serve`, or run it in-process:

    app = build_app(seed={...})
    async with httpx.AsyncClient(transport=EmulatorTransport(app), base_url="http://emulator") as c: ...
"""

from provisioner.emulator.app import build_app, load_seed_file
from provisioner.emulator.faults import FaultPlan, FaultSpecError
from provisioner.emulator.middleware import DroppedConnection
from provisioner.emulator.semantics import Semantics, SemanticsError
from provisioner.emulator.store import Store
from provisioner.emulator.transport import EmulatorTransport

__all__ = [
    "DroppedConnection",
    "EmulatorTransport",
    "FaultPlan",
    "FaultSpecError",
    "Semantics",
    "SemanticsError",
    "Store",
    "build_app",
    "load_seed_file",
]
