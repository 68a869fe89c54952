"""Every code `telephony validate` can report (`Diagnostic.code`), with its severity and meaning.

This is the one list the documentation's rule table is generated from (`provisioner.docsgen`,
docs/reference/validate-rules.md). The codes themselves are written where each problem is found
(the loader, the YAML reader, templating, the schema errors, `provisioner.validation`); a test
scans those modules and runs the fixture corpus, and fails when a code is reported that is not
listed here, listed with the wrong severity, or listed here but reported nowhere.

Pure data, no imports from the project: any layer may read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The order the loader works in: a later stage runs only on what the earlier ones let through
# (the schema and the rules run together on whatever parses, see `provisioner.salvage`).
Stage = Literal["read", "template", "schema", "rule"]
STAGES: dict[Stage, str] = {
    "read": "Reading the file",
    "template": "Templates and environments",
    "schema": "The schema",
    "rule": "Rules",
}

ERROR: tuple[str, ...] = ("error",)
WARNING: tuple[str, ...] = ("warning",)
BOTH: tuple[str, ...] = ("error", "warning")

# The code commands filter on: plan and drift list the secrets they need instead, and a CI job
# that holds no secrets by design drops it (`validate --ignore-unset`).
UNSET_VARIABLE = "unset-variable"


@dataclass(frozen=True)
class Code:
    code: str
    stage: Stage
    severities: tuple[str, ...]  # "error" (exit 1), "warning" (exit 0; an error with --strict), or both
    meaning: str  # Markdown: what is checked, and when a code that is both is which


CODES: tuple[Code, ...] = (
    # Reading the file: each of these stops the run (nothing after it can be checked).
    Code("file", "read", ERROR, "the file is missing, a directory, or cannot be read"),
    Code("too-large", "read", ERROR, "over 2,000,000 bytes: refused before parsing"),
    Code(
        "encoding",
        "read",
        ERROR,
        "not UTF-8 text: UTF-16 or UTF-32 text is named as such, a file with NUL bytes as binary",
    ),
    Code("empty", "read", ERROR, "the file (or its top-level mapping) is empty; a manifest starts with `version: 1`"),
    Code(
        "requires",
        "read",
        ERROR,
        "the running telephony version is outside the manifest's `requires:` range (the message says what to install)",
    ),
    Code("yaml-syntax", "read", ERROR, "invalid YAML, including several documents in one file"),
    Code("yaml-tab", "read", ERROR, "a tab in indentation (YAML indents with spaces)"),
    Code("yaml-depth", "read", ERROR, "nesting deeper than the reader accepts"),
    Code(
        "yaml-aliases",
        "read",
        ERROR,
        'aliases that expand past 100,000 values (a "billion laughs"), or refer to themselves',
    ),
    Code(
        "yaml-number",
        "read",
        ERROR,
        "an integer literal of more than 64 digits, in any base or sexagesimal (`1:2:3`): quote it if it is text",
    ),
    Code("duplicate-key", "read", ERROR, "the same key twice in one mapping"),
    Code("not-a-mapping", "read", ERROR, "the document is not a mapping of keys"),
    Code(
        "not-a-manifest",
        "read",
        ERROR,
        "some other YAML file (a workflow, a compose file): none of its top-level keys is a manifest key",
    ),
    # Templates: `${{ }}` / `{% %}` are rendered first, per environment.
    Code(
        "environments-template",
        "template",
        ERROR,
        "the `environments:` block uses a template (it is read as plain YAML before the rest is rendered)",
    ),
    Code("unknown-env", "template", ERROR, '`--env NAME` names no declared environment (with a "did you mean")'),
    Code("template-syntax", "template", ERROR, "a Jinja2 syntax error"),
    Code("template-undefined", "template", ERROR, "a template uses an undefined variable"),
    Code(
        "template-sandbox", "template", ERROR, "a template does something the sandbox forbids (attribute access, calls)"
    ),
    Code(
        "template-size",
        "template",
        ERROR,
        "over 2,000,000 characters rendered, a value over 2,000,000 characters or items, over 20,000,000 "
        "characters of values built in all, a width or precision over 10,000 in `%`, `format` or a padding "
        "filter, an integer over 20,000 bits: each checked before the value is built, and nothing is evaluated "
        "while compiling",
    ),
    Code(
        "template-timeout",
        "template",
        ERROR,
        "rendering took over 5 seconds (compilation included), or the command's budget for all environments "
        "(10 s, `TELEPHONY_TEMPLATE_BUDGET`) ran out: the message names the environment",
    ),
    Code("template-error", "template", ERROR, "any other error raised while rendering"),
    # The schema (the pydantic models in provisioner/manifest.py).
    Code("unknown-key", "schema", ERROR, 'a key the manifest does not have (with a "did you mean")'),
    Code("missing-key", "schema", ERROR, "a required key is missing"),
    Code(
        "type", "schema", ERROR, 'a value of the wrong type (`"3"` is not a number; an unquoted `+1415…` is not text)'
    ),
    Code("enum", "schema", ERROR, "a value that is not one of the allowed words"),
    Code("schema", "schema", ERROR, "a value outside its bounds (such as `max_deletes` ≥ 0, a length)"),
    # Rules: what the schema cannot say, across the whole manifest.
    Code(
        "e164",
        "rule",
        ERROR,
        "numbers (and inbound `allowed_numbers`) in E.164, with the normalised form to write instead",
    ),
    Code("duplicate-number", "rule", ERROR, "the same number declared twice (both places are reported)"),
    Code("unknown-agent", "rule", ERROR, "a number's `agent` names an alias not declared under `agents`"),
    Code("unknown-trunk", "rule", ERROR, "a number's `sip_trunk` names a trunk not declared under `sip_trunks`"),
    Code("duplicate-agent", "rule", ERROR, "two aliases for one agent id"),
    Code(
        "twilio-sid",
        "rule",
        ERROR,
        "`account_sid` is `AC` or `SK` + 32 hex digits (checked on the variable's value when it is set, "
        "without printing it)",
    ),
    Code(
        "twilio-api-key",
        "rule",
        BOTH,
        "an `SK…` API key needs `account_auth_token` (error); `account_auth_token` without an `SK…` key is unused "
        "(warning)",
    ),
    Code("caller-id-agent", "rule", ERROR, "a caller-ID-only number is outbound-only: it takes no `agent`"),
    Code(
        "sip-address", "rule", ERROR, "an outbound `address` is a host or IP with an optional `:port`, without `sip:`"
    ),
    Code("ip-address", "rule", ERROR, "`allowed_addresses` are IPs or CIDR blocks"),
    Code("hostname", "rule", ERROR, "`remote_domains` are domain names"),
    Code(
        "sip-refer-transfer",
        "rule",
        BOTH,
        "`sip_refer` needs an agent that answers a SIP trunk number: an error when it answers none, a warning "
        "when only some of its numbers are SIP trunk numbers (or none is declared)",
    ),
    Code(
        "blind-transfer",
        "rule",
        BOTH,
        "`blind` needs an agent that answers a Twilio number (the same error/warning split)",
    ),
    Code("sip-uri-needs-refer", "rule", ERROR, "a SIP URI destination needs `type: sip_refer`"),
    Code(
        "transfer-destination",
        "rule",
        ERROR,
        "`to` is an E.164 number, a SIP URI (`sip:`/`sips:`, any letter case), `{{variable}}` or "
        "`sip:{{variable}}`; a `{{...}}` that is not a variable name (`{{desk:1}}`) or `sips:{{variable}}` is refused",
    ),
    Code(
        "sip-header-key",
        "rule",
        BOTH,
        "SIP header names are `A-Za-z0-9` words joined by `-`, ≤ 64 characters (error); an outbound trunk "
        "header not starting with `X-` (warning)",
    ),
    Code(
        "sip-header-value",
        "rule",
        BOTH,
        "static values are 1–512 printable ASCII characters (error); a value that mixes text and `{{var}}` is "
        "sent literally (warning)",
    ),
    Code("sip-header-count", "rule", ERROR, "at most 20 SIP headers per transfer"),
    Code(
        "post-dial-digits",
        "rule",
        BOTH,
        "DTMF characters only (`0-9 * # w W`) or exactly `{{var}}` (error); digits on an agent without Twilio "
        "numbers (warning)",
    ),
    Code(
        "uui",
        "rule",
        BOTH,
        "the protocol discriminator is two hex digits (error); `uui` without `type: sip_refer` is not sent (warning)",
    ),
    Code("webhook-url", "rule", ERROR, "webhook URLs use https (plain http only for `localhost`)"),
    Code("http-header", "rule", ERROR, "webhook header names are HTTP tokens"),
    Code(
        "secret-name", "rule", ERROR, "a `{secret: NAME}` header names one of the tool's own secrets (`telephony:...`)"
    ),
    Code("reserved-variable", "rule", ERROR, "dynamic variables may not start with `system__`"),
    Code(
        "variable-name",
        "rule",
        BOTH,
        "a dynamic variable name that is not a variable name (error); a `{{...}}` in a transfer's text or SIP "
        "header that is not a variable name, such as `{{desk:1}}`, is sent literally (warning)",
    ),
    Code(
        "literal-secret",
        "rule",
        ERROR,
        "a password, token or credential header written as a literal instead of a `${VAR}`",
    ),
    Code(
        "secret-reference-outside-credentials",
        "rule",
        ERROR,
        "a `${VAR}` outside the credential fields and webhook header values (it would be sent as written): use "
        "`${{ vars.NAME }}` and `--var NAME=VALUE` for values that are not secret",
    ),
    Code(
        "api-key-reference",
        "rule",
        ERROR,
        "`${ELEVENLABS_API_KEY}` (or any `ELEVENLABS_…KEY…` variable) anywhere in the manifest, webhook headers "
        "included: the tool's own key never goes into a request",
    ),
    Code(
        "pre-call-webhook",
        "rule",
        BOTH,
        "`pre_call_webhook: true` on an agent while the file sets the workspace webhook to `null` (error); while "
        "the file does not declare it (warning: it may exist live)",
    ),
    Code("udp-transport", "rule", WARNING, "an outbound trunk uses UDP"),
    Code("tls-unencrypted-media", "rule", WARNING, "TLS signalling with `media_encryption: disabled`"),
    Code("codecs-no-pcmu", "rule", WARNING, "a codec list without μ-law 8 kHz (`PCMU/8000`)"),
    Code("inbound-open", "rule", WARNING, "an inbound trunk with neither allowed addresses nor credentials"),
    Code("acl-without-static-ip", "rule", WARNING, "outbound without credentials and without `static_ip`"),
    Code(
        "undefined-variable",
        "rule",
        WARNING,
        "a `{{var}}` in a transfer that no placeholder, system variable or inbound SIP header provides (skipped "
        "for agents with a pre-call webhook)",
    ),
    Code("empty-trunk", "rule", WARNING, "a SIP trunk declares neither `inbound` nor `outbound`"),
    Code("unused-trunk", "rule", WARNING, "a SIP trunk no phone number uses"),
    Code(
        UNSET_VARIABLE,
        "rule",
        WARNING,
        "a `${VAR}` that is not set where validate runs (validate does not need it; plan and apply will)",
    ),
)

BY_CODE: dict[str, Code] = {c.code: c for c in CODES}
