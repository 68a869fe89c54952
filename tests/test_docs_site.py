"""The README and the docs site hang together: links resolve, the nav lists every page, the
README's test command is the one CI runs, and the exit-code tables equal `ExitCode`.

`mkdocs build --strict` (in .ci/run) checks the rendered site; these run without mkdocs installed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioner.exitcodes import ExitCode

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PAGES = sorted(DOCS.rglob("*.md"))
LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^([ \t]*)(```|~~~).*?^\1\2", re.MULTILINE | re.DOTALL)


def _prose(text: str) -> str:
    """The text without fenced code blocks and inline code, where a `[x](y)` is not a link."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def _slug(heading: str) -> str:
    """The anchor Python-Markdown's toc gives a heading (lowercase, punctuation dropped, spaces → -)."""
    text = re.sub(r"`|\*\*|<[^>]+>", "", heading).strip().lower()
    return re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", text))


def _anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    explicit = re.findall(r'<a id="([^"]+)"', text)  # an anchor placed by hand in the text
    return {_slug(h) for h in re.findall(r"^#{1,6} (.+?)\s*$", text, re.MULTILINE)} | set(explicit)


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(_prose(page.read_text())):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target} (no such heading)")
    return broken


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    assert broken_links(page) == []


def test_the_link_check_finds_broken_links(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A page\n\n## Some `code` here\n")
    page = tmp_path / "b.md"
    page.write_text(
        "[ok](a.md) [ok](a.md#some-code-here) [web](https://x.example/y) `[not](a link)`\n"
        "[gone](missing.md) [bad anchor](a.md#nope)\n```\n[in code](ignored.md)\n```\n"
    )
    assert broken_links(page) == ["missing.md (no such file)", "a.md#nope (no such heading)"]


class _Loader(yaml.SafeLoader):
    """mkdocs.yml names Python objects (`!!python/name:`); reading the nav needs none of them."""


_Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)


def _nav_pages(nav: Any) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [page for item in nav for page in _nav_pages(item)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _nav_pages(value)]
    return []


def test_nav_lists_every_page_once_and_only_pages_that_exist() -> None:
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=_Loader)  # a SafeLoader
    listed = _nav_pages(config["nav"])
    assert len(listed) == len(set(listed))
    assert set(listed) == {str(p.relative_to(DOCS)) for p in PAGES}


def test_snippets_name_files_that_exist() -> None:
    included = [
        (page.name, name) for page in PAGES for name in re.findall(r'^\s*--8<-- "([^"]+)"', page.read_text(), re.M)
    ]
    assert ("getting-started.md", "examples/ci/plan-on-pr.yml") in included
    assert [(page, name) for page, name in included if not (ROOT / name).is_file()] == []


def _quick_start() -> list[str]:
    section = README.read_text().split("## Quick start", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None
    return block.group(1).strip().splitlines()


def test_readme_quick_start_is_two_commands_and_ci_runs_the_second() -> None:
    install, test = _quick_start()
    assert install.startswith("pip install -e '.[test]' && telephony apply --sandbox --auto-approve")
    assert test == "python3 -m pytest -q -n auto"
    commands = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test in commands


def test_readme_stays_short() -> None:
    assert len(README.read_text().splitlines()) < 200


def _exit_rows(text: str) -> list[tuple[int, str]]:
    return [(int(code), rest) for code, rest in re.findall(r"^\| ([0-9]) \| (.*)\|$", text, re.MULTILINE)]


def test_exit_code_page_lists_exactly_the_exit_codes() -> None:
    rows = _exit_rows((DOCS / "exit-codes.md").read_text())
    names = [(code, re.match(r"`([A-Z_]+)`", rest)) for code, rest in rows]
    assert [(code, m.group(1) if m else None) for code, m in names] == [(c.value, c.name) for c in ExitCode]


def test_readme_exit_codes_list_exactly_the_exit_codes() -> None:
    section = README.read_text().split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    assert [code for code, _ in _exit_rows(section)] == [c.value for c in ExitCode]
