"""The docs hold together: no markdown heading of README.md or docs/ is empty, and no relative link (or
`../path` pointer in code) leads outside the repository or to a file that does not exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
UP_POINTER = re.compile(r"`(\.\./[^`\s]+)`")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:, ...


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks; a fence line itself counts as content (a code block)."""
    lines: list[tuple[int, str]] = []
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            lines.append((number, "```"))
        elif not fenced:
            lines.append((number, line))
    return lines


def empty_headings(text: str) -> list[str]:
    """Headings with nothing under them before the next heading of the same or a higher level (or the end)."""
    lines = [(n, line) for n, line in prose_lines(text) if line.strip()]
    empty = []
    for i, (number, line) in enumerate(lines):
        heading = HEADING.match(line)
        if heading is None:
            continue
        level = len(heading.group(1))
        following = lines[i + 1] if i + 1 < len(lines) else None
        nxt = HEADING.match(following[1]) if following else None
        if following is None or (nxt is not None and len(nxt.group(1)) <= level):
            empty.append(f"line {number}: {line.strip()}")
    return empty


def bad_links(path: Path, text: str, root: Path = ROOT) -> list[str]:
    """Relative links and `../` pointers that leave `root` or name a missing file."""
    found = []
    for number, line in prose_lines(text):
        targets = [m.group(1) for m in LINK.finditer(line)] + [m.group(1) for m in UP_POINTER.finditer(line)]
        for target in targets:
            if EXTERNAL.match(target) or target.startswith("#"):
                continue
            file_part = target.split("#", 1)[0].split("?", 1)[0]
            resolved = (path.parent / file_part).resolve()
            if not resolved.is_relative_to(root.resolve()):
                found.append(f"line {number}: {target} leads outside the repository")
            elif not resolved.exists():
                found.append(f"line {number}: {target} does not exist")
    return found


def test_the_checks_find_what_they_look_for(tmp_path: Path) -> None:
    text = (
        "# Title\n\nintro\n\n## Empty\n\n## Full\n\ntext\n\n### Sub\n\n```bash\n# not a heading\n```\n\n"
        "## Last\n\n[ok](a.md) [gone](missing.md) [out](../../x.md) [web](https://e.org) [here](#full)\n"
        "See `../shared/DESIGN.md`.\n\n## Limits\n"
    )
    (tmp_path / "a.md").write_text("x")
    assert empty_headings(text) == ["line 5: ## Empty", "line 22: ## Limits"]
    assert bad_links(tmp_path / "README.md", text, tmp_path) == [
        "line 19: missing.md does not exist",
        "line 19: ../../x.md leads outside the repository",
        "line 20: ../shared/DESIGN.md leads outside the repository",
    ]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_empty_heading(path: Path) -> None:
    assert empty_headings(path.read_text()) == [], f"{path.relative_to(ROOT)}: headings with nothing under them"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_stay_in_the_repository_and_exist(path: Path) -> None:
    assert bad_links(path, path.read_text()) == [], f"{path.relative_to(ROOT)}: broken pointers"
