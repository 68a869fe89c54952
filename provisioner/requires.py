"""`requires:`: a manifest pins the versions of telephony that may read it.

`requires: ">=0.2,<0.3"` is a PEP 440 specifier set (as in `pip install "telephony>=0.2,<0.3"`).
When the running version is outside it, the manifest is refused before anything else is read:
a file written for another version could fail in confusing ways (unknown keys, other defaults),
or worse, plan changes this version does not understand. So the one error names the running
version, the requirement and the command that installs a matching version.

The check reads the top-level `requires:` line from the raw text, before rendering, like the
`environments:` block: a pin must work even when the rest of the file uses template syntax or
keys this version does not know. A specifier that does not parse is left to the schema stage
(`Manifest.requires`), which reports it where it is written.
"""

from __future__ import annotations

import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from provisioner import __version__
from provisioner.diagnostics import Diagnostic, ManifestInvalid
from provisioner.yamlsource import MarkedDict, YamlError, parse

DESCRIPTION = (
    'Versions of telephony that may read this file, a PEP 440 specifier set such as ">=0.2,<0.3"; '
    "any other version refuses the file and says how to install a matching one."
)
_REQUIRES = re.compile(r"^requires\s*:(?=\s|$)")


def specifier(text: str) -> SpecifierSet:
    """`text` as a specifier set. Raises `ValueError` with a readable reason."""
    if not text.strip():
        raise ValueError('the version range is empty; write one such as ">=0.2,<0.3"')
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise ValueError(
            f'\'{text}\' is not a PEP 440 version specifier set; write e.g. ">=0.2,<0.3" or "~=0.2.0"'
        ) from None


def install_hint(requirement: str) -> str:
    """The command that installs a version matching `requirement` (pipx: see docs/install.md)."""
    return f"pipx install --force 'telephony[sandbox]{requirement.replace(' ', '')}'"


def check(text: str, file: str, running: str = __version__) -> None:
    """Raise `ManifestInvalid` (one located error) when `text` pins versions excluding `running`."""
    found = _declared(text)
    if found is None:
        return
    requirement, line, column = found
    try:
        accepted = specifier(requirement)
    except ValueError:
        return  # the schema stage reports it, located, with the manifest's other problems
    # A development build (0.3.0.dev1) counts as its version: the pin is about the format it reads.
    if accepted.contains(Version(running), prereleases=True):
        return
    message = (
        f"this manifest requires telephony {requirement} but this is telephony {running}; "
        f"install a matching version: {install_hint(requirement)}"
    )
    raise ManifestInvalid([Diagnostic("error", message, file, line, column, "requires")])


def _declared(text: str) -> tuple[str, int, int] | None:
    """The top-level `requires:` value as written, with its 1-based line and column, if a string."""
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if _REQUIRES.match(line)), None)
    if start is None:
        return None
    try:  # the line alone, at its own line number, so marks are positions in the file
        result = parse("\n" * start + lines[start] + "\n")
    except YamlError:
        return None  # unparsable here: the full parse reports it with the rest
    data = result.data
    if not isinstance(data, MarkedDict) or not isinstance(data.get("requires"), str):
        return None  # a number or a list: the schema stage says it must be a string
    mark = data.value_marks["requires"]
    return str(data["requires"]), mark.line + 1, mark.column + 1
