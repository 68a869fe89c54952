"""`provisioner.diagnostic_codes` lists exactly the codes validate reports, with their severities.

The rule table of the docs is generated from that list, so a code added where a problem is found
but not listed (or listed with the wrong severity, or listed and never reported) fails here.
Two ways to find what is reported: the modules that report are scanned for the code argument of
each reporting call, and the fixture corpus is run (it reaches codes built at run time, such as
`sip-refer-transfer`).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from provisioner.diagnostic_codes import BY_CODE
from tests.test_validate_corpus import ENVIRON, INVALID, WARNINGS

ROOT = Path(__file__).parent.parent
# Reporting call → index of its `code` argument. Severity: `warning(...)` warns, the others are errors.
CODE_ARGUMENT = {
    "error": 2,
    "warning": 2,
    "_fail": 2,
    "TemplateProblem": 3,
    "YamlProblem": 2,
    "Diagnostic": 5,
}
# The packages that never read a manifest (they report API and network problems, not diagnostics).
NOT_MANIFEST = {"emulator", "api", "checks", "commands"}


@functools.cache
def written_codes(root: Path = ROOT / "provisioner") -> dict[str, set[str]]:
    """Code → severities, from every literal code argument of a reporting call."""
    found: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        if NOT_MANIFEST & set(path.relative_to(root).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name not in CODE_ARGUMENT:
                continue
            index = CODE_ARGUMENT[name]
            argument = node.args[index] if len(node.args) > index else None
            argument = next((k.value for k in node.keywords if k.arg == "code"), argument)
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                severity = "warning" if name == "warning" else "error"
                found.setdefault(argument.value, set()).add(severity)
    return found


@functools.cache
def reported_codes() -> dict[str, set[str]]:
    from provisioner.library import validate

    found: dict[str, set[str]] = {}
    for path in INVALID + WARNINGS:
        for d in validate(path, env=None, variables={}, strict=False, environ=ENVIRON):
            found.setdefault(d.code, set()).add(d.severity)
    return found


def _undocumented(found: dict[str, set[str]]) -> dict[str, set[str]]:
    return {
        code: severities
        for code, severities in found.items()
        if code not in BY_CODE or not severities <= set(BY_CODE[code].severities)
    }


def test_every_code_written_in_the_source_is_listed_with_its_severity() -> None:
    found = written_codes()
    assert len(found) > 50
    assert _undocumented(found) == {}, (
        "add them to provisioner/diagnostic_codes.py, then run python3 -m provisioner.docsgen"
    )


def test_every_code_the_corpus_reports_is_listed_with_its_severity() -> None:
    found = reported_codes()
    assert len(found) > 40
    assert "sip-refer-transfer" in found  # built at run time: only the corpus finds it
    assert _undocumented(found) == {}, (
        "add them to provisioner/diagnostic_codes.py, then run python3 -m provisioner.docsgen"
    )


def test_every_listed_code_is_reported_somewhere() -> None:
    reachable = set(written_codes()) | set(reported_codes())
    assert set(BY_CODE) - reachable == set()


def test_the_scan_finds_a_code_in_new_code(tmp_path: Path) -> None:
    # The scan is what guards codes the corpus does not reach: it must see each reporting form.
    (tmp_path / "rules.py").write_text(
        "context.warning(path, message, 'brand-new')\n"
        "raise _fail(file, 'msg', code='other-new')\n"
        "YamlProblem('m', mark, 'yaml-new')\n"
    )
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "client.py").write_text("context.error(p, m, 'not-a-diagnostic')\n")
    found = written_codes(tmp_path)
    assert found == {"brand-new": {"warning"}, "other-new": {"error"}, "yaml-new": {"error"}}
    assert _undocumented(found) == found
