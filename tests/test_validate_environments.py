"""validate across environments: parse once, render each environment once, check each distinct
rendered text once, one template time budget for the whole command. Work is counted, not timed."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from provisioner import library, loader, templating, yamlsource

MANIFEST = """\
version: 1
workspace:
  region: ${{ vars.region }}
environments:
  staging: {vars: {region: eu}}
  production: {vars: {region: eu}}
  canary: {vars: {region: eu}}
  mars: {vars: {region: mars}}
"""


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    counted = {"render": 0, "parse": 0, "rules": 0}

    def counting(name: str, original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counted[name] += 1
            return original(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(templating, "render", counting("render", templating.render))
    monkeypatch.setattr(loader, "parse", counting("parse", yamlsource.parse))
    monkeypatch.setattr(loader.validation, "check", counting("rules", loader.validation.check))
    return counted


def test_each_environment_is_rendered_once_and_identical_texts_checked_once(
    tmp_path: Path, counts: dict[str, int]
) -> None:
    path = tmp_path / "telephony.yaml"
    path.write_text(MANIFEST)
    found = library.validate(path)
    assert [(d.line, d.code, d.message.endswith("(environment mars)")) for d in found] == [(3, "enum", True)]
    assert counts["render"] == 4  # one per environment
    assert counts["parse"] == 1 + 2  # the environments block once, then two distinct rendered texts
    assert counts["rules"] == 2  # once per distinct text (the rules run on what the schema salvages)


def test_diagnostics_of_a_shared_text_are_reported_for_each_environment(tmp_path: Path) -> None:
    path = tmp_path / "telephony.yaml"
    path.write_text(MANIFEST.replace("region: eu", "region: moon"))
    found = library.validate(path)
    messages = sorted(d.message for d in found)
    assert messages == [
        "region: 'mars' is not 'default', 'us', 'eu', 'in' or 'sg' (environment mars)",
        "region: 'moon' is not 'default', 'us', 'eu', 'in' or 'sg' (environment staging, production, canary)",
    ]


def test_one_template_budget_for_the_whole_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counts: dict[str, int]
) -> None:
    clock = iter(float(n) for n in range(100))  # each reading of the clock: one second later (a render: 1 s)
    monkeypatch.setattr(library, "time", SimpleNamespace(monotonic=lambda: next(clock)))
    path = tmp_path / "telephony.yaml"
    path.write_text(MANIFEST)
    found = library.validate(path, environ={"TELEPHONY_TEMPLATE_BUDGET": "1.5"})
    assert counts["render"] == 2  # staging and production; canary and mars find the budget spent
    assert sorted((d.line, d.code, d.message) for d in found if d.code == "template-timeout") == [
        (
            1,
            "template-timeout",
            "template: the rendering budget of 1.5 seconds for all environments together "
            f"(TELEPHONY_TEMPLATE_BUDGET) ran out at environment '{name}'",
        )
        for name in ("canary", "mars")
    ]


def test_the_budget_bounds_each_render(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float | None] = []
    original = templating.render

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("seconds"))
        return original(*args, **kwargs)

    monkeypatch.setattr(templating, "render", recording)
    path = tmp_path / "telephony.yaml"
    path.write_text(MANIFEST)
    library.validate(path, env="staging", environ={"TELEPHONY_TEMPLATE_BUDGET": "3"})
    assert len(seen) == 1 and seen[0] is not None and 0 < seen[0] <= 3
    assert library.template_budget({}) == 10.0
    assert library.template_budget({"TELEPHONY_TEMPLATE_BUDGET": "nonsense"}) == 10.0


def test_a_render_that_exhausts_the_budget_names_its_environment(tmp_path: Path) -> None:
    path = tmp_path / "telephony.yaml"
    spin = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    path.write_text(f"version: 1\n{spin}\nenvironments:\n  staging: {{vars: {{}}}}\n")
    found = library.validate(path, env="staging", environ={"TELEPHONY_TEMPLATE_BUDGET": "0.2"})
    assert [(d.line, d.code) for d in found] == [(2, "template-timeout")]
    assert found[0].message.endswith("(TELEPHONY_TEMPLATE_BUDGET) ran out at environment 'staging'")
