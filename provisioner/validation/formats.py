"""Value formats the API expects, as small pure functions (no manifest knowledge here)."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
TWILIO_SID = re.compile(r"^(AC|SK)[0-9a-fA-F]{32}$")
# custom_sip_headers key: 1..64 chars (PhoneNumberTransfer in the API reference).
SIP_HEADER_KEY = re.compile(r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")
SIP_HEADER_VALUE = re.compile(r"^[\x20-\x7e]{1,512}$")
MAX_SIP_HEADERS = 20
MAX_SIP_HEADER_KEY = 64
HTTP_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
DTMF = re.compile(r"^[0-9*#wW]+$")
PROTOCOL_DISCRIMINATOR = re.compile(r"^[0-9A-Fa-f]{2}$")
VARIABLE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
EXACT_VARIABLE = re.compile(r"^\{\{\s*([^{}\s]+)\s*\}\}$")
ANY_VARIABLE = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\.?$")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}

# Variables the platform fills in on every call (dynamic variables with the system__ prefix).
SYSTEM_VARIABLES = frozenset(
    {
        "system__agent_id",
        "system__current_agent_id",
        "system__caller_id",
        "system__called_number",
        "system__call_sid",
        "system__call_duration_secs",
        "system__conversation_id",
        "system__time",
        "system__time_utc",
        "system__timezone",
        "system__agent_turns",
    }
)


def is_e164(value: str) -> bool:
    return bool(E164.match(value))


def suggest_e164(value: str) -> str | None:
    """The E.164 form of a number written with spaces, dashes, dots, brackets or a 00 prefix."""
    digits = re.sub(r"[\s\-().\u00a0/]", "", value)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    # Without '+' or '00' the country code is unknown: guessing one would be worse than asking.
    return digits if E164.match(digits) and digits != value else None


def e164_problem(value: str) -> str:
    suggestion = suggest_e164(value)
    if suggestion:
        return f"'{value}' is not an E.164 number; write '{suggestion}'"
    if not value.lstrip().startswith(("+", "00")) and re.fullmatch(r"[\d\s\-().]+", value):
        return f"'{value}' is not an E.164 number: it needs '+' and the country code (e.g. '+14155550100')"
    return f"'{value}' is not an E.164 number ('+', country code, then up to 14 digits, e.g. '+14155550100')"


def sip_address_problem(address: str) -> str | None:
    """None when `address` is a host name or IP, optionally with :port, and nothing else."""
    lowered = address.lower()
    if lowered.startswith(("sip:", "sips:")):
        bare = address.split(":", 1)[1]
        return f"the address takes no 'sip:' prefix; write '{bare}'"
    if re.search(r"[/@\s]", address):
        return f"'{address}' is not a host name or IP address (optionally with :port), e.g. 'pbx.example.com:5061'"
    host, port = _split_port(address)
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        return f"'{address}' has an invalid port; use host:PORT with PORT between 1 and 65535"
    if not (is_ip(host) or HOSTNAME.match(host)):
        return f"'{address}' is not a host name or IP address (optionally with :port)"
    return None


def _split_port(address: str) -> tuple[str, str | None]:
    if address.startswith("["):  # [IPv6]:port
        host, _, rest = address[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else None
    if address.count(":") == 1:
        host, port = address.split(":")
        return host, port
    return address, None


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_network(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def is_hostname(value: str) -> bool:
    return bool(HOSTNAME.match(value))


def webhook_url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https") or not host:
        return "must be an https:// URL"
    if parts.scheme == "http" and host not in _LOCAL_HOSTS:
        return "must use https (plain http is allowed only for localhost)"
    return None


def sip_uri_problem(uri: str) -> str | None:
    rest = uri.split(":", 1)[1] if ":" in uri else ""
    host = rest.rsplit("@", 1)[-1].split(";")[0]
    if not rest or not host:
        return f"'{uri}' is not a SIP URI (sip:user@host)"
    return None


def variable_names(text: str) -> list[str]:
    """ElevenLabs `{{ name }}` dynamic variables used in `text`."""
    return ANY_VARIABLE.findall(text)


def exact_variable(text: str) -> str | None:
    """The variable name when `text` is exactly `{{ name }}`."""
    found = EXACT_VARIABLE.match(text)
    return found.group(1) if found else None


def destination_kind(to: str) -> str | None:
    """The API's transfer_destination.type for a rule's `to`, or None when it is none of them."""
    lowered = to.lower()
    if lowered.startswith(("sip:", "sips:")):
        return "sip_uri_dynamic_variable" if exact_variable(to.split(":", 1)[1]) else "sip_uri"
    if exact_variable(to):
        return "phone_dynamic_variable"
    if is_e164(to):
        return "phone"
    return None
