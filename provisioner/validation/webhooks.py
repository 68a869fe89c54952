"""Pre-call webhooks and secrets: https URLs, credentials only as `${VAR}`, unset variables."""

from __future__ import annotations

from provisioner import grammar
from provisioner.locate import strings_at
from provisioner.manifest import SecretName, Webhook
from provisioner.validation.context import Context

Path = tuple[str | int, ...]


def check(context: Context) -> None:
    manifest = context.manifest
    if manifest.pre_call_webhook is not None:
        _webhook(context, ("pre_call_webhook",), manifest.pre_call_webhook)
    for alias, agent in manifest.agents.items():
        if isinstance(agent.pre_call_webhook, Webhook):
            _webhook(context, ("agents", alias, "pre_call_webhook"), agent.pre_call_webhook)
    # Only where a ${VAR} may stand: walked once, not each of a large manifest's strings twice.
    strings = list(strings_at(context.source.data, grammar.REFERENCE_PATHS))
    _literal_secrets(context, strings)
    _unset_variables(context, strings)


def _webhook(context: Context, path: Path, webhook: Webhook) -> None:
    url, shown = context.value_to_check((*path, "url"), webhook.url)
    problem = grammar.webhook_url_problem(url) if url is not None else None
    if problem is not None:
        context.error((*path, "url"), f"{shown} {problem}", "webhook-url")
    for name, value in webhook.headers.items():
        if not grammar.HTTP_HEADER_NAME.match(name):
            context.error((*path, "headers", name), f"'{name}' is not an HTTP header name", "http-header", at="key")
        if isinstance(value, SecretName) and value.secret.startswith(grammar.TOOL_SECRET_PREFIX):
            message = (
                f"secret {value.secret!r}: names starting with {grammar.TOOL_SECRET_PREFIX!r} belong to secrets "
                "this tool creates from ${VAR} header values; write a ${VAR} instead, or use another name"
            )
            context.error((*path, "headers", name, "secret"), message, "secret-name")


def _literal_secrets(context: Context, strings: list[tuple[Path, str]]) -> None:
    for path, value in strings:
        if grammar.is_secret_field(path) and not grammar.has_reference(value):
            field = path[-1]
            message = (
                f"{field} holds a literal secret; write a ${{VAR}} reference (e.g. ${{{_suggest_name(path)}}}) "
                "and set the variable where plan and apply run"
            )
            context.error(path, message, "literal-secret")


def _suggest_name(path: Path) -> str:
    parts = [str(p) for p in path if not isinstance(p, int)]
    meaningful = [p for p in parts if p not in ("phone_numbers", "sip_trunks", "agents", "headers", "credentials")]
    return "_".join(meaningful).upper().replace("-", "_")


def _unset_variables(context: Context, strings: list[tuple[Path, str]]) -> None:
    reported: set[str] = set()
    for path, value in strings:
        if not grammar.may_hold_reference(path):  # elsewhere a reference is an error of its own
            continue
        for name in grammar.unset_references(value, context.environ):
            if name not in reported and not grammar.is_api_key_variable(name):
                reported.add(name)
                message = f"${{{name}}} is not set; validate does not need it, but plan and apply will"
                context.warning(path, message, "unset-variable")
