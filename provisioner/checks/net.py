"""Network probes for `doctor` and `webhook test`: resolve, connect, TLS handshake.

Every probe is bounded by a timeout and returns a `Probe` (never raises for a network problem).
Certificates are verified against the system's CAs plus certifi's (what httpx trusts); the
environment variable `TELEPHONY_CA_BUNDLE` (a PEM file) replaces both, for a private CA, and is
what the tests use to trust their self-signed certificates.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioner import grammar

CA_BUNDLE_VARIABLE = "TELEPHONY_CA_BUNDLE"
EXPIRY_WARNING_DAYS = 14

# OpenSSL X509_V_ERR_* codes that get a specific explanation.
_CERT_EXPIRED = 10
_CERT_NOT_YET_VALID = 9
_SELF_SIGNED = (18, 19)
_UNKNOWN_ISSUER = (2, 20, 21)


def ssl_context(environ: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """A verifying client context: `TELEPHONY_CA_BUNDLE` when set, else system CAs plus certifi's."""
    env = os.environ if environ is None else environ
    bundle = env.get(CA_BUNDLE_VARIABLE, "").strip()
    if bundle:
        return ssl.create_default_context(cafile=bundle)
    context = ssl.create_default_context()
    try:
        import certifi  # an httpx dependency: the CAs `plan`/`apply` already trust

        context.load_verify_locations(certifi.where())
    except (ImportError, OSError):
        pass
    return context


@dataclass
class Probe:
    ok: bool
    message: str
    fix: str | None = None
    warning: str | None = None  # ok, but worth a `warn` (a certificate about to expire)
    addresses: list[str] = field(default_factory=list)


async def resolve(host: str, port: int, timeout: float) -> Probe:
    if grammar.is_ip(host):
        return Probe(True, f"{host} is an IP address", addresses=[host])
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout)
    except TimeoutError:
        return Probe(
            False, f"{host} did not resolve within {timeout:g}s", "check the DNS name and this host's resolver"
        )
    except (socket.gaierror, UnicodeError) as exc:
        return Probe(False, f"{host} does not resolve ({_reason(exc)})", "check the host name (typo? DNS record?)")
    addresses = sorted({str(info[4][0]) for info in infos})
    return Probe(True, f"{host} resolves to {', '.join(addresses[:4])}", addresses=addresses)


async def connect(host: str, port: int, timeout: float) -> Probe:
    """A TCP connection to host:port, closed at once."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except TimeoutError:
        return Probe(
            False,
            f"{host}:{port} did not accept a TCP connection within {timeout:g}s",
            f"open port {port}/tcp on the PBX's firewall to ElevenLabs, and check the address",
        )
    except OSError as exc:
        return Probe(
            False,
            f"{host}:{port} refused or unreachable ({_reason(exc)})",
            f"check that the PBX listens on {port}/tcp and that the firewall allows it",
        )
    writer.close()
    await _closed(writer)
    return Probe(True, f"{host}:{port} accepts TCP connections")


async def tls_handshake(
    host: str,
    port: int,
    timeout: float,
    *,
    names: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    now: float | None = None,
) -> Probe:
    """A verified TLS handshake with host:port whose certificate is valid for `host` or one of `names`.

    The chain and dates are verified by OpenSSL; the name is matched here (so a `remote_domains`
    entry can stand in for the host name), against the certificate's subjectAltName entries.
    """
    verify = ssl_context(environ)
    verify.check_hostname = False  # matched below against host and `names`
    verify.verify_mode = ssl.CERT_REQUIRED  # chain and dates are still verified
    server_hostname = None if grammar.is_ip(host) else host
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=verify, server_hostname=server_hostname), timeout
        )
    except TimeoutError:
        return Probe(False, f"{host}:{port}: no TLS handshake within {timeout:g}s", "check that the port speaks TLS")
    except ssl.SSLCertVerificationError as exc:
        return _cert_problem(host, port, exc)
    except ssl.SSLError as exc:
        return Probe(
            False,
            f"{host}:{port}: TLS handshake failed ({_reason(exc)})",
            "check that this port speaks TLS (5061 for SIP over TLS) with a current protocol version",
        )
    except OSError as exc:
        return Probe(
            False,
            f"{host}:{port} refused or unreachable ({_reason(exc)})",
            f"check that the host listens on {port}/tcp and that the firewall allows it",
        )
    try:
        cert = writer.get_extra_info("peercert") or {}
    finally:
        writer.close()
        await _closed(writer)
    wanted = [host, *names]
    if not any(certificate_matches(cert, name) for name in wanted):
        listed = ", ".join(certificate_names(cert)) or "no names"
        return Probe(
            False,
            f"{host}:{port}: the certificate is for {listed}, not {' or '.join(wanted)}",
            "install a certificate for this host name, or list its name under the trunk's inbound.remote_domains",
        )
    return _expiry(host, port, cert, time.time() if now is None else now)


def _expiry(host: str, port: int, cert: Mapping[str, Any], now: float) -> Probe:
    not_after = cert.get("notAfter")
    if not isinstance(not_after, str):
        return Probe(True, f"{host}:{port}: TLS certificate valid for the host")
    expires = ssl.cert_time_to_seconds(not_after)
    days = (expires - now) / 86400
    message = f"{host}:{port}: TLS certificate valid for the host, expires {not_after}"
    if days < EXPIRY_WARNING_DAYS:
        return Probe(True, message, warning=f"the certificate expires in {max(days, 0):.0f} days: renew it")
    return Probe(True, message)


def _cert_problem(host: str, port: int, exc: ssl.SSLCertVerificationError) -> Probe:
    code = exc.verify_code
    where = f"{host}:{port}"
    if code == _CERT_EXPIRED:
        return Probe(False, f"{where}: the TLS certificate has expired", "renew the certificate on the server")
    if code == _CERT_NOT_YET_VALID:
        return Probe(False, f"{where}: the TLS certificate is not valid yet", "check the server's certificate dates")
    if code in _SELF_SIGNED:
        return Probe(
            False,
            f"{where}: the TLS certificate is self-signed, not from a trusted CA",
            f"use a certificate from a public CA (ElevenLabs must trust it); {CA_BUNDLE_VARIABLE} "
            "only changes what this check trusts",
        )
    if code in _UNKNOWN_ISSUER:
        return Probe(
            False,
            f"{where}: the TLS certificate's issuer is not trusted ({exc.verify_message})",
            "serve the full certificate chain, from a public CA",
        )
    return Probe(False, f"{where}: TLS certificate rejected ({exc.verify_message or _reason(exc)})", "check it")


def certificate_names(cert: Mapping[str, Any]) -> list[str]:
    """The DNS names and IPs in subjectAltName (the common name only when there are none)."""
    names = [str(value) for kind, value in cert.get("subjectAltName", ()) if kind in ("DNS", "IP Address")]
    if names:
        return names
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                names.append(str(value))
    return names


def certificate_matches(cert: Mapping[str, Any], name: str) -> bool:
    """RFC 6125 matching: exact (case-insensitive), or a `*.` wildcard standing for one left label."""
    wanted = name.lower().rstrip(".")
    if grammar.is_ip(wanted):
        return any(kind == "IP Address" and _same_ip(str(v), wanted) for kind, v in cert.get("subjectAltName", ()))
    for pattern in certificate_names(cert):
        pattern = pattern.lower().rstrip(".")
        if pattern == wanted:
            return True
        if pattern.startswith("*.") and "." in wanted:
            label, rest = wanted.split(".", 1)
            if label and rest == pattern[2:]:
                return True
    return False


def _same_ip(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a.strip()) == ipaddress.ip_address(b)
    except ValueError:
        return False


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).lower().replace("_", " ")
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


async def _closed(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
        await asyncio.wait_for(writer.wait_closed(), 1.0)
