"""Every relative link of the Markdown pages, and every ``docs/...md#section`` that code and settings name, leads to a
file and a section that exist: pages move and headings change, and a reader sent to a missing section is lost."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([*ROOT.glob("*.md"), *(ROOT / "docs").rglob("*.md"), *(ROOT / "model").glob("*.md")])
# Code, settings and scripts point readers at pages as plain text.
SOURCES = sorted(p for d in ("lib", "benchmarks", "configs", "sample-apps", "tests") for p in (ROOT / d).rglob("*.*"))
SOURCES += [ROOT / "main.py"]
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
NAMED_PAGE = re.compile(r"\b(docs/[\w./-]+\.md)(#[\w-]+)?")
HEADING = re.compile(r"^#{1,6} +(.+?) *$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation (anything but word characters, spaces and hyphens)
    dropped, spaces turned into hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings, with GitHub's -1, -2 ... for repeated ones."""
    seen: dict[str, int] = {}
    result = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def _broken(page: Path, target: str, section: str | None) -> str | None:
    path = page if not target else (page.parent / target).resolve()
    if not path.exists():
        return f"{target}: no such file"
    if section and path.suffix == ".md" and section not in anchors(path):
        return f"{target}#{section}: no such section"
    return None


def test_the_slug_is_githubs() -> None:
    assert slug("Step C1: result (2026-12-06): not passed, so nothing changed") == (
        "step-c1-result-2026-12-06-not-passed-so-nothing-changed"
    )
    assert slug("Copy-paste (written 2026-12-05 18:15)") == "copy-paste-written-2026-12-05-1815"
    assert slug("`mean_uncertainty` vs `epistemic`: 3.7×") == "mean_uncertainty-vs-epistemic-37"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_of_a_page_resolves(page: Path) -> None:
    broken = []
    for link in MARKDOWN_LINK.findall(FENCE.sub("", page.read_text())):
        if re.match(r"[a-z]+:", link):  # http:, https:, mailto: are not checked here (no network)
            continue
        target, _, section = link.partition("#")
        if problem := _broken(page, target, section or None):
            broken.append(problem)
    assert not broken, broken


def test_every_page_section_named_in_code_and_settings_exists() -> None:
    broken = []
    for source in SOURCES:
        if source == Path(__file__) or source.suffix not in (".py", ".yaml", ".sh", ".toml"):
            continue
        for target, section in NAMED_PAGE.findall(source.read_text(errors="replace")):
            if problem := _broken(ROOT / "README.md", target, section.lstrip("#") or None):
                broken.append(f"{source.relative_to(ROOT)}: {problem}")
    assert not broken, broken
