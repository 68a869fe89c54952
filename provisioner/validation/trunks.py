"""SIP trunks: addresses, ACLs, encryption, codecs, headers."""

from __future__ import annotations

from provisioner import grammar
from provisioner.manifest import InboundTrunk, OutboundTrunk, SipTrunk, SipTrunkNumber
from provisioner.validation.context import Context


def check(context: Context) -> None:
    used = _used(context)
    for name, trunk in context.manifest.sip_trunks.items():
        path = ("sip_trunks", name)
        written = not (context.unsure(*path, "outbound") or context.unsure(*path, "inbound"))
        if trunk.outbound is None and trunk.inbound is None and written:
            context.warning(path, f"SIP trunk '{name}' declares neither inbound nor outbound", "empty-trunk", at="key")
        if used is not None and name not in used:
            context.warning(path, f"SIP trunk '{name}' is not used by any phone number", "unused-trunk", at="key")
        if trunk.outbound is not None:
            _outbound(context, (*path, "outbound"), trunk, trunk.outbound)
        if trunk.inbound is not None:
            _inbound(context, (*path, "inbound"), trunk.inbound)


def _used(context: Context) -> set[str] | None:
    """Trunks the numbers use, counting numbers cut for schema errors by what the file says
    (None when the phone_numbers section itself is unreadable)."""
    used = {n.sip_trunk for n in context.manifest.phone_numbers.values() if isinstance(n, SipTrunkNumber)}
    if context.unsure("phone_numbers"):
        written = context.raw("phone_numbers")
        if not isinstance(written, dict):
            return None
        trunks = (n.get("sip_trunk") for n in written.values() if isinstance(n, dict))
        used |= {t for t in trunks if isinstance(t, str)}
    return used


def _outbound(context: Context, path: tuple[str, ...], trunk: SipTrunk, outbound: OutboundTrunk) -> None:
    value, _ = context.value_to_check((*path, "address"), outbound.address)
    problem = grammar.sip_address_problem(value) if value is not None else None
    if problem is not None:
        context.error((*path, "address"), problem, "sip-address")
    if outbound.transport == "udp":
        message = "transport udp: signalling is unencrypted and ElevenLabs documents UDP as unavailable; prefer tls"
        context.warning((*path, "transport"), message, "udp-transport")
    if outbound.transport == "tls" and outbound.media_encryption == "disabled":
        message = "TLS signalling with media_encryption: disabled sends the audio itself unencrypted; use required"
        context.warning((*path, "media_encryption"), message, "tls-unencrypted-media")
    if outbound.codecs and "PCMU/8000" not in outbound.codecs:
        message = "codecs leave out PCMU/8000 (μ-law 8 kHz), the format most carriers and ElevenLabs expect"
        context.warning((*path, "codecs"), message, "codecs-no-pcmu")
    cut = context.unsure(*path, "credentials") or context.unsure(*path[:-1], "static_ip")
    if outbound.credentials is None and not trunk.static_ip and not cut:
        message = (
            "outbound without credentials means IP allow-listing, which needs the static-IP stack: "
            "set static_ip: true on the trunk (or add digest credentials)"
        )
        context.warning(path, message, "acl-without-static-ip", at="key")
    _headers(context, (*path, "headers"), outbound.headers)
    _attributes(context, (*path, "attributes_to_headers"), outbound.attributes_to_headers)


def _inbound(context: Context, path: tuple[str, ...], inbound: InboundTrunk) -> None:
    cut = context.unsure(*path, "allowed_addresses") or context.unsure(*path, "credentials")
    if not inbound.allowed_addresses and inbound.credentials is None and not cut:
        message = "inbound accepts calls from anyone: set allowed_addresses or credentials"
        context.warning(path, message, "inbound-open", at="key")
    for index, address in enumerate(inbound.allowed_addresses):
        if not grammar.is_network(address):
            message = f"'{address}' is not an IP address or CIDR block (e.g. 203.0.113.0/24)"
            context.error((*path, "allowed_addresses", index), message, "ip-address")
    for index, number in enumerate(inbound.allowed_numbers or []):
        if not grammar.is_e164(number):
            context.error((*path, "allowed_numbers", index), grammar.e164_problem(number), "e164")
    for index, domain in enumerate(inbound.remote_domains or []):
        if not grammar.is_hostname(domain):
            context.error((*path, "remote_domains", index), f"'{domain}' is not a domain name", "hostname")
    _attributes(context, (*path, "attributes_to_headers"), inbound.attributes_to_headers)


def _headers(context: Context, path: tuple[str, ...], headers: dict[str, str]) -> None:
    for key in headers:
        if not (grammar.SIP_HEADER_KEY.match(key) and len(key) <= grammar.MAX_SIP_HEADER_KEY):
            message = f"'{key}' is not a SIP header name (letters and digits in dash-separated words, at most 64)"
            context.error((*path, key), message, "sip-header-key", at="key")
        elif not key.lower().startswith("x-"):
            message = f"custom SIP header '{key}' should start with 'X-' so it cannot clash with a standard header"
            context.warning((*path, key), message, "sip-header-key", at="key")


def _attributes(context: Context, path: tuple[str, ...], mapping: dict[str, str]) -> None:
    for variable, header in mapping.items():
        if not grammar.VARIABLE_NAME.match(variable):
            message = f"'{variable}' is not a dynamic variable name"
            context.error((*path, variable), message, "variable-name", at="key")
        if not grammar.SIP_HEADER_KEY.match(header):
            message = f"'{header}' is not a SIP header name (e.g. X-ElevenLabs-Caller-Id)"
            context.error((*path, variable), message, "sip-header-key")
