"""The one grammar of small values: every rule about how a value is written lives here.

Validation, the API codec, the canonical forms used for diffs and the renderers all call these
functions; no other module holds its own regular expression for E.164 numbers, `{{var}}` dynamic
variables, `${VAR}` secret references, transfer destinations or credential fields. When two
modules need to agree about a value, they agree because they ask this one.

Pure functions only: no manifest, no API JSON, no I/O (the environment is passed in).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from provisioner.errors import ManifestError

# Anchors are `\Z`, not `$`: `$` also matches before a trailing newline, and a YAML block
# scalar (`|`) ends with one, so "+14155550100\n" would pass as a number.
E164 = re.compile(r"^\+[1-9][0-9]{6,14}\Z")
TWILIO_SID = re.compile(r"^(AC|SK)[0-9a-fA-F]{32}\Z")
# custom_sip_headers key: 1..64 chars (PhoneNumberTransfer in the API reference).
SIP_HEADER_KEY = re.compile(r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*\Z")
SIP_HEADER_VALUE = re.compile(r"^[\x20-\x7e]{1,512}\Z")
MAX_SIP_HEADERS = 20
MAX_SIP_HEADER_KEY = 64
HTTP_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
DTMF = re.compile(r"^[0-9*#wW]+\Z")
PROTOCOL_DISCRIMINATOR = re.compile(r"^[0-9A-Fa-f]{2}\Z")
# A dynamic variable name the platform accepts (the one definition; see the {{var}} section).
_VARIABLE_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.\-]*"
VARIABLE_NAME = re.compile(rf"^{_VARIABLE_NAME}\Z")
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = re.compile(rf"^(?=.{{1,253}}\Z){_LABEL}(\.{_LABEL})*\.?\Z")
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
    digits = normalise_e164(value)
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
    host, port = split_host_port(address)
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        return f"'{address}' has an invalid port; use host:PORT with PORT between 1 and 65535"
    if not (is_ip(host) or HOSTNAME.match(host)):
        return f"'{address}' is not a host name or IP address (optionally with :port)"
    return None


def split_host_port(address: str) -> tuple[str, str | None]:
    """`host`, `host:port` or `[v6]:port` → (host, port text or None)."""
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


# -- E.164 ---------------------------------------------------------------------------------------

_E164_PUNCTUATION = re.compile(r"[\s\-().\u00a0/]")


def normalise_e164(value: str) -> str:
    """The canonical form used for identity and diffs: punctuation dropped, `00` prefix → `+`.

    The same folding `suggest_e164` proposes, so a number the validator would suggest rewriting
    compares equal to its rewritten form.
    """
    compact = _E164_PUNCTUATION.sub("", value.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact


# -- {{var}} dynamic variables -------------------------------------------------------------------

# A name the platform accepts between the braces: the exact form is `{{ name }}` (spaces allowed).
EXACT_VARIABLE = re.compile(rf"^\{{\{{\s*({_VARIABLE_NAME})\s*\}}\}}\Z")
ANY_VARIABLE = re.compile(rf"\{{\{{\s*({_VARIABLE_NAME})\s*\}}\}}")
# Anything that looks like `{{...}}`, valid name or not: used to warn about near misses.
LOOKS_LIKE_VARIABLE = re.compile(r"\{\{[^{}]*\}\}")


def variable_text(name: str) -> str:
    """The canonical written form of a dynamic variable: `{{name}}`."""
    return "{{" + name + "}}"


def is_variable_name(name: str) -> bool:
    return bool(VARIABLE_NAME.match(name))


def malformed_variables(text: str) -> list[str]:
    """The `{{...}}` spans in `text` that hold no valid variable name (`{{desk:1}}`, `{{ a b }}`).

    The platform fills in only valid names, so these reach the caller as literal text: almost
    always a typo worth reporting.
    """
    return [span for span in LOOKS_LIKE_VARIABLE.findall(text) if not ANY_VARIABLE.fullmatch(span)]


def variable_problem(text: str) -> str | None:
    """Why the first malformed `{{...}}` in `text` is not a dynamic variable, or None."""
    spans = malformed_variables(text)
    if not spans:
        return None
    inner = spans[0][2:-2].strip()
    what = f"'{inner}' is not a variable name" if inner else "it names no variable"
    return f"'{spans[0]}' is not a dynamic variable: {what} (letters, digits, '_', '.' and '-')"


# -- ${VAR} secret references --------------------------------------------------------------------

# `${{` is Jinja and `{{` a dynamic variable: a reference needs an identifier right after `${`.
# `$${` is the escape for a literal `${`.
SECRET_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class MissingSecret(ManifestError, KeyError):
    """A `${VAR}` without a default is not set. The message names the variable, never a value."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"environment variable {self.name} is not set (referenced as ${{{self.name}}})"


def references(value: str) -> list[str]:
    """Names of the `${VAR}` references in `value`, in order, with repeats removed (`$${` is not one)."""
    names: list[str] = []
    for match in SECRET_REFERENCE.finditer(value):
        name = match.group(1)
        if name and name not in names:
            names.append(name)
    return names


def has_reference(value: str) -> bool:
    """Whether `value` holds at least one `${VAR}` (and so is a secret, resolved only when sent)."""
    return bool(references(value))


def has_default(value: str, name: str) -> bool:
    """Whether every `${name}` in `value` carries a `:-default`."""
    return all(m.group(2) is not None for m in SECRET_REFERENCE.finditer(value) if m.group(1) == name)


def resolve_references(value: str, environ: Mapping[str, str]) -> str:
    """`value` with every reference replaced and `$${` unescaped. Raises `MissingSecret`."""

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name is None:  # the `$${` escape
            return "${"
        found = environ.get(name)
        if found:
            return found
        if default is not None:
            return default
        if found is not None:  # set but empty, no default: an empty value is still a value
            return found
        raise MissingSecret(name)

    return SECRET_REFERENCE.sub(substitute, value)


def unset_references(value: str, environ: Mapping[str, str]) -> list[str]:
    """References in `value` that are unset and have no default (what resolving would refuse)."""
    return [name for name in references(value) if name not in environ and not has_default(value, name)]


# -- credential fields ---------------------------------------------------------------------------

# Manifest fields whose values are credentials: they must be `${VAR}` references, never literals.
# Paths use "*" for any mapping key (a name chosen by the user).
CREDENTIAL_FIELDS: frozenset[tuple[str, ...]] = frozenset(
    {
        ("phone_numbers", "*", "twilio", "account_sid"),
        ("phone_numbers", "*", "twilio", "auth_token"),
        ("phone_numbers", "*", "twilio", "account_auth_token"),
        ("sip_trunks", "*", "outbound", "credentials", "password"),
        ("sip_trunks", "*", "inbound", "credentials", "password"),
    }
)
# Of those, the ones that must hold a reference (an account SID is an identifier, not a secret).
MUST_BE_REFERENCE: frozenset[tuple[str, ...]] = CREDENTIAL_FIELDS - {("phone_numbers", "*", "twilio", "account_sid")}
# Webhook request headers whose names say they carry credentials.
CREDENTIAL_HEADER = re.compile(r"(?i)(auth|token|secret|api[-_]?key|password|cookie|signature|credential)")
# Workspace secrets the tool creates from `${VAR}` header values are named `telephony:<scope>:<header>`
# (`provisioner.state.secret_name`); a `{secret: NAME}` header may not use that prefix.
TOOL_SECRET_PREFIX = "telephony:"

_WEBHOOK_HEADERS: frozenset[tuple[str, ...]] = frozenset(
    {("pre_call_webhook", "headers", "*"), ("agents", "*", "pre_call_webhook", "headers", "*")}
)


# Every path where a `${VAR}` may stand (credential fields and webhook header values): the
# validation rules walk only these branches of a manifest, not each of its thousands of strings.
REFERENCE_PATHS: frozenset[tuple[str, ...]] = CREDENTIAL_FIELDS | _WEBHOOK_HEADERS


def _matches(keys: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    return len(keys) == len(pattern) and all(p in ("*", k) for k, p in zip(keys, pattern, strict=True))


def is_webhook_header(path: Sequence[str | int]) -> bool:
    keys = tuple(str(p) for p in path)
    return any(_matches(keys, pattern) for pattern in _WEBHOOK_HEADERS)


def is_credential_header(name: str) -> bool:
    return bool(CREDENTIAL_HEADER.search(name))


def is_secret_field(path: Sequence[str | int]) -> bool:
    """Whether the manifest value at `path` is a credential that must be a reference, never printed.

    Webhook headers count when their name looks like a credential (`Authorization`, `X-Api-Key`...).
    """
    keys = tuple(str(p) for p in path)
    if is_webhook_header(keys):
        return is_credential_header(keys[-1])
    return any(_matches(keys, pattern) for pattern in MUST_BE_REFERENCE)


def may_hold_reference(path: Sequence[str | int]) -> bool:
    """Whether a `${VAR}` is allowed at `path`: the credential fields and webhook header values.

    The one list validate, plan and apply share: anywhere else a `${VAR}` would be sent as
    written, so the loader refuses it (`secret-reference-outside-credentials`).
    """
    keys = tuple(str(p) for p in path)
    return is_webhook_header(keys) or any(_matches(keys, pattern) for pattern in CREDENTIAL_FIELDS)


# The variable the tool reads the ElevenLabs API key from (`provisioner.workspace`). A manifest may
# never reference it, nor anything named like another ElevenLabs key: a `${VAR}` is sent to the API
# (or stored as a workspace secret), and the key would then leave the machine that holds it.
API_KEY_VARIABLE = "ELEVENLABS_API_KEY"
# An environment variable's name, as `environments.<name>.api_key_env` gives one (POSIX shell rules).
ENV_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_API_KEY_LIKE = re.compile(r"(?i)^ELEVENLABS_\w*KEY")


def is_api_key_variable(name: str, configured: str = API_KEY_VARIABLE) -> bool:
    """Whether `${name}` would hand the tool's own API key (or another ElevenLabs key) to a manifest field."""
    return name == configured or bool(_API_KEY_LIKE.match(name))


# -- transfer destinations -----------------------------------------------------------------------


class DestinationKind(StrEnum):
    """The API's `transfer_destination.type` values."""

    PHONE = "phone"
    SIP_URI = "sip_uri"
    PHONE_VARIABLE = "phone_dynamic_variable"
    SIP_URI_VARIABLE = "sip_uri_dynamic_variable"


@dataclass(frozen=True)
class Destination:
    """A parsed transfer destination: its kind and the value the API stores for it.

    `value` is the E.164 number, the whole SIP URI (scheme lowercased), or the variable name.
    """

    kind: DestinationKind
    value: str

    @property
    def text(self) -> str:
        """The canonical manifest form: what `to:` reads as after a round trip through the API."""
        if self.kind is DestinationKind.PHONE_VARIABLE:
            return variable_text(self.value)
        if self.kind is DestinationKind.SIP_URI_VARIABLE:
            return "sip:" + variable_text(self.value)
        return self.value


def _scheme(to: str) -> tuple[str, str] | None:
    """(lowercased scheme, rest) for a `sip:`/`sips:` value in any letter case."""
    head, sep, rest = to.partition(":")
    if sep and head.lower() in ("sip", "sips"):
        return head.lower(), rest
    return None


def parse_destination(to: str) -> Destination | None:
    """Classify a rule's `to`; None when the API has no destination that keeps it.

    `sips:{{var}}` is refused: the dynamic SIP destination holds only a variable name, so the
    scheme would be lost. A value with `{{` that is not exactly one variable is refused too, rather
    than sent as a literal number or URI that can never be dialled.
    """
    text = to.strip()
    scheme = _scheme(text)
    if scheme is not None:
        name, rest = scheme
        exact = EXACT_VARIABLE.match(rest)
        if exact:
            return Destination(DestinationKind.SIP_URI_VARIABLE, exact.group(1)) if name == "sip" else None
        if "{{" in rest or "}}" in rest or not rest:
            return None
        return Destination(DestinationKind.SIP_URI, f"{name}:{rest}")
    exact = EXACT_VARIABLE.match(text)
    if exact:
        return Destination(DestinationKind.PHONE_VARIABLE, exact.group(1))
    if is_e164(text):
        return Destination(DestinationKind.PHONE, text)
    return None


def destination_problem(to: str) -> str | None:
    """Why `to` is not a transfer destination the API keeps, or None when it is one.

    The explanation for each way `parse_destination` refuses a value, with the fix where there
    is one; a SIP URI must also have a host.
    """
    parsed = parse_destination(to)
    if parsed is not None:
        return sip_uri_problem(parsed.value) if parsed.kind is DestinationKind.SIP_URI else None
    text = to.strip()
    scheme = _scheme(text)
    rest = scheme[1] if scheme else text
    exact = EXACT_VARIABLE.match(rest)
    if scheme is not None and exact:  # parse_destination refuses this only for sips:
        fix = "sip:" + variable_text(exact.group(1))
        return f"the dynamic SIP destination holds only a variable name, so '{scheme[0]}:' would be lost; use {fix}"
    if problem := variable_problem(rest):
        return problem
    if "{{" in rest or "}}" in rest:
        form = "sip:{{variable}}" if scheme else "{{variable}}"
        return f"'{text}' is not a transfer destination: a dynamic destination is exactly {form}, nothing around it"
    if scheme is not None:
        return f"'{text}' is not a SIP URI (sip:user@host)"
    if suggest_e164(text):
        return e164_problem(text)
    return f"'{text}' is not a transfer destination: an E.164 number, a sip: URI, or {{{{variable}}}}"


def destination_kind(to: str) -> str | None:
    """The API's transfer_destination.type for a rule's `to`, or None when it is none of them."""
    parsed = parse_destination(to)
    return parsed.kind.value if parsed else None


def canonical_destination(to: str) -> str:
    """The canonical form of `to` (its round-trip form); an unparseable value is returned as written."""
    parsed = parse_destination(to)
    return parsed.text if parsed else to


def templated(value: str) -> str:
    """A SIP header or DTMF value: exactly `{{ v }}` canonicalises to `{{v}}`, anything else stays."""
    name = exact_variable(value)
    return variable_text(name) if name else value
