"""`telephony endpoints`: what to configure on the PBX for each SIP-trunk number (offline).

The SIP hosts and ports below are copied from the product references, not guessed; where the
references list no host for a region and stack, the answer says so and gives none:

* `shared/reference/elevenlabs-api.md` §1 "SIP signalling hosts" (source D, the docs):
  default `sip.rtc.elevenlabs.io` (port 5060 TCP, 5061 TLS); static-IP enterprise
  `sip-static.rtc.elevenlabs.io` and `sip-static.rtc.<eu|in|sg>.residency.elevenlabs.io`.
* `shared/reference/telephony-reference.md` "ElevenLabs SIP Endpoints": US/International
  `sip-static.rtc.elevenlabs.io`; EU "Contact support for regional endpoints"; "ACL (IP
  Allowlisting)": static IP infrastructure, "Requires /24 block allowlist (256 addresses)"; the
  troubleshooting table: "Check firewall allows SIP ports (5060 TCP, 5061 TLS)".
* `shared/reference/elevenlabs-api.md` §3.3, outbound `transport`: "The Aug 2025 docs said
  'UDP is not currently available'".

Neither reference gives the static /24 itself nor where to obtain it, so neither does this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from provisioner.manifest import Manifest, SipTrunkNumber

Stack = str  # "standard" | "static" (the API's livekit_stack)

# (region, stack) -> host, only where a reference names one (see the module docstring).
SIP_HOSTS: dict[tuple[str, Stack], str] = {
    ("default", "standard"): "sip.rtc.elevenlabs.io",  # elevenlabs-api.md §1
    ("default", "static"): "sip-static.rtc.elevenlabs.io",  # elevenlabs-api.md §1
    ("us", "static"): "sip-static.rtc.elevenlabs.io",  # telephony-reference.md: "US/International"
    ("eu", "static"): "sip-static.rtc.eu.residency.elevenlabs.io",  # elevenlabs-api.md §1
    ("in", "static"): "sip-static.rtc.in.residency.elevenlabs.io",  # elevenlabs-api.md §1
    ("sg", "static"): "sip-static.rtc.sg.residency.elevenlabs.io",  # elevenlabs-api.md §1
}
# Notes the references attach to a (region, stack).
HOST_NOTES: dict[tuple[str, Stack], str] = {
    ("eu", "static"): (
        "telephony-reference.md says to contact ElevenLabs support for EU regional endpoints; "
        "confirm this host with support"
    ),
}
TCP_PORT = 5060  # troubleshooting table: "5060 TCP"
TLS_PORT = 5061  # troubleshooting table: "5061 TLS"
UDP_WARNING = "the references say UDP is not currently available (Aug 2025 docs); use TCP or TLS"
STATIC_IP_NOTE = (
    "static IP stack: allow-list ElevenLabs' /24 block (256 addresses) on the PBX's firewall and ACL; "
    "the references give neither the range nor where to obtain it: ask ElevenLabs support"
)


@dataclass(frozen=True)
class Port:
    transport: str
    port: int | None
    available: bool
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"transport": self.transport, "port": self.port, "available": self.available, "note": self.note}


@dataclass(frozen=True)
class Endpoint:
    """What the PBX needs to send calls for one number to ElevenLabs."""

    alias: str
    number: str
    trunk: str
    region: str
    stack: Stack
    host: str | None  # None: the references list no host for (region, stack)
    ports: tuple[Port, ...]
    request_uri: str | None  # the Request-URI to send, when the host is known
    request_uri_user: str  # the number in the Request-URI's user part (E.164 as declared)
    digest_username: str | None  # None: no inbound credentials (IP allow-listing)
    notes: tuple[str, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def as_json(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "number": self.number,
            "sip_trunk": self.trunk,
            "region": self.region,
            "stack": self.stack,
            "host": self.host,
            "ports": [p.as_json() for p in self.ports],
            "request_uri": self.request_uri,
            "request_uri_user": self.request_uri_user,
            "digest_username": self.digest_username,
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }


def sip_host(region: str, stack: Stack) -> str | None:
    return SIP_HOSTS.get((region, stack))


def endpoints(manifest: Manifest) -> list[Endpoint]:
    """One `Endpoint` per SIP-trunk number, in manifest order."""
    region = manifest.workspace.region
    found: list[Endpoint] = []
    for alias, number in manifest.phone_numbers.items():
        if not isinstance(number, SipTrunkNumber):
            continue
        trunk = manifest.sip_trunks.get(number.sip_trunk)
        stack = "static" if trunk is not None and trunk.static_ip else "standard"
        host = sip_host(region, stack)
        notes: list[str] = []
        warnings: list[str] = []
        if host is None:
            warnings.append(
                f"the references list no ElevenLabs SIP host for region '{region}' on the {stack} stack: "
                "ask ElevenLabs support (this tool does not guess one)"
            )
        if note := HOST_NOTES.get((region, stack)):
            notes.append(note)
        if stack == "static":
            notes.append(STATIC_IP_NOTE)
        username: str | None = None
        if trunk is None:
            warnings.append(f"sip_trunk '{number.sip_trunk}' is not declared under sip_trunks")
        elif trunk.inbound is None:
            warnings.append(
                f"trunk '{number.sip_trunk}' has no inbound section: calls from the PBX to this number are not set up"
            )
        elif trunk.inbound.credentials is not None:
            username = trunk.inbound.credentials.username
        else:
            addresses = ", ".join(trunk.inbound.allowed_addresses) or "none listed"
            notes.append(f"no digest auth: ElevenLabs accepts calls from the allowed addresses ({addresses})")
        if trunk is not None and trunk.outbound is not None and trunk.outbound.transport == "udp":
            warnings.append(f"trunk '{number.sip_trunk}' outbound transport is udp: {UDP_WARNING}")
        ports = (
            Port("tcp", TCP_PORT, True),
            Port("tls", TLS_PORT, True),
            Port("udp", None, False, UDP_WARNING),
        )
        uri = f"sip:{number.number}@{host}" if host else None
        found.append(
            Endpoint(
                alias,
                number.number,
                number.sip_trunk,
                region,
                stack,
                host,
                ports,
                uri,
                number.number,
                username,
                tuple(notes),
                tuple(warnings),
            )
        )
    return found
