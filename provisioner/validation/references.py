"""Where a `${VAR}` may appear: only in the fields that hold secrets, and never the API key.

A `${VAR}` is resolved only where `grammar.may_hold_reference` says so (credential fields and
webhook header values); anywhere else it would be sent to the API as written. Non-secret values
that vary are templated instead (`${{ vars.NAME }}` with `--var NAME=VALUE` or an environment).
The tool's own API key may not be referenced anywhere: it would leave the machine in a request.
"""

from __future__ import annotations

from provisioner import grammar
from provisioner.locate import walk_strings
from provisioner.validation.context import Context


def _key_variables(data: object) -> set[str]:
    """The variables environments read their API key from (`environments.<name>.api_key_env`)."""
    environments = data.get("environments") if isinstance(data, dict) else None
    if not isinstance(environments, dict):
        return set()
    values = (e.get("api_key_env") for e in environments.values() if isinstance(e, dict))
    return {v for v in values if isinstance(v, str)}


def check(context: Context) -> None:
    configured = _key_variables(context.source.data)
    for path, value in walk_strings(context.source.data):
        if "${" not in value:  # what every reference starts with: most strings end here
            continue
        names = grammar.references(value)
        if not names:
            continue
        keys = [n for n in names if grammar.is_api_key_variable(n) or n in configured]
        for name in keys:
            message = (
                f"${{{name}}} names an ElevenLabs API key, which a manifest may not reference in any field "
                "(it would be sent to the API or stored as a workspace secret); use a credential of its own"
            )
            context.error(path, message, "api-key-reference")
        others = [n for n in names if n not in keys]
        if others and path[:1] != ("environments",) and not grammar.may_hold_reference(path):
            field = ".".join(str(p) for p in path)
            name = others[0]
            var = name.lower()
            message = (
                f"${{{name}}} in {field}: ${{VAR}} is for secrets only (credential fields and webhook header "
                f"values) and would be sent as written here; for a value that varies, write ${{{{ vars.{var} }}}} "
                f"and pass --var {var}=VALUE (or set it in an environment's vars)"
            )
            context.error(path, message, "secret-reference-outside-credentials")
