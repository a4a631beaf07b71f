"""The guides of the documentation site, cut mechanically out of README.md.

README.md stays the one source of the guides: its text is copied, never edited here, and
every ``##`` section of it lands on a page of :data:`PAGES` (a section not named there goes
with the section before it, so nothing is ever dropped). The only changes are the ones a
split needs: a page holding one section shows its headings one level up (``## Quick start``
becomes the page's ``# Quick start``), a link to a file of the repository points at the
repository, and a link to a heading points at the page that now holds it.

mkdocs runs this file as a hook (``hooks:`` in mkdocs.yml): the pages are made in memory on
every build, so they never go stale and are never committed. To read them as files::

    python docs/gen_from_readme.py OUTDIR
"""

from __future__ import annotations

import posixpath
import re
import sys
import unicodedata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
REPOSITORY = "https://github.com/privicore/privicore-async/blob/main/"
"""Where a link to a file of the repository goes (README links are relative to the root)."""

INTRO = "index.md"
"""The page of the text before the README's first ``##`` section."""

PAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "guides/getting-started.md": ("Getting started", ("Quick start",)),
    "guides/cli.md": ("The command line", ("The command line",)),
    "guides/commands.md": ("Commands and handles", ("Commands and handles",)),
    "guides/bulk-sync.md": (
        "Bulk sync and crash safety",
        ("Bulk device synchronisation", "Surviving crashes", "Many workers", "Rate limits"),
    ),
    "guides/api-groups.md": ("API groups and storing data", ("API groups", "Storing data")),
    "guides/client-options.md": ("Client options", ("Client options",)),
    "guides/errors.md": (
        "Errors, retries and observability",
        ("Errors", "Retries", "Limits and safety", "Observability", "Logging"),
    ),
    "guides/sandbox.md": ("The sandbox", ("The sandbox",)),
    "guides/testing.md": ("Testing your code", ("Testing your code",)),
    "guides/development.md": (
        "Documentation and development",
        ("Documentation", "Examples", "Development"),
    ),
}
"""Each guide: its title and the README's ``##`` sections it holds, in README order."""

NOTICE = (
    "<!-- Generated from README.md by docs/gen_from_readme.py on every build: "
    "edit README.md, not this page. -->\n\n"
)

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^(#{1,6}) +(.*?) *#*$")
_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)(?P<title>\s+\"[^\"]*\")?\)")


def _lines_outside_fences(lines: list[str]) -> list[bool]:
    """For each line: True if it is Markdown text, False inside (or on) a fenced code block.

    As in CommonMark, a fence of N backticks (or tildes) is closed by a line of at least N of
    the same character and nothing else.
    """
    outside: list[bool] = []
    fence: str | None = None
    for line in lines:
        marks = _FENCE.match(line)
        if fence is None:
            fence = marks[1] if marks is not None else None
        elif (
            marks is not None
            and marks[1][0] == fence[0]
            and len(marks[1]) >= len(fence)
            and not line[marks.end() :].strip()
        ):
            fence = None
            outside.append(False)
            continue
        outside.append(fence is None)
    return outside


def slug(text: str) -> str:
    """The anchor Python-Markdown's ``toc`` extension gives a heading (its default slugify)."""
    text = re.sub(r"[`*]", "", text)  # code and emphasis marks are not part of it
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def split(readme: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The README's lines before its first ``##`` section, and each ``##`` section's lines."""
    lines = readme.splitlines()
    outside = _lines_outside_fences(lines)
    intro: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    for line, is_text in zip(lines, outside, strict=True):
        heading = _HEADING.match(line) if is_text else None
        if heading is not None and len(heading[1]) == 2:
            sections.append((heading[2], [line]))
        elif sections:
            sections[-1][1].append(line)
        else:
            intro.append(line)
    return intro, sections


def pages(readme: str) -> dict[str, str]:
    """Every generated page (path under docs/ to Markdown text)."""
    intro, sections = split(readme)
    page_of = {title: page for page, (_, titles) in PAGES.items() for title in titles}
    missing = sorted(set(page_of) - {title for title, _ in sections})
    if missing:
        raise ValueError(f"README.md has no section {missing}: update PAGES in {__file__}")
    bodies: dict[str, list[tuple[str, list[str]]]] = {page: [] for page in PAGES}
    page = next(iter(PAGES))
    for title, lines in sections:
        page = page_of.get(title, page)  # an unknown section goes with the one before it
        bodies[page].append((title, lines))

    texts: dict[str, list[str]] = {INTRO: intro}
    for page, parts in bodies.items():
        title = PAGES[page][0]
        lines = [line for _, part in parts for line in part]
        if [section for section, _ in parts] == [title]:
            texts[page] = _promote(lines)  # its "## Title" is the page's "# Title"
        else:
            texts[page] = [f"# {title}", "", *lines]

    anchors = {
        slug(heading[2]): page
        for page, lines in texts.items()
        for line, is_text in zip(lines, _lines_outside_fences(lines), strict=True)
        if is_text and (heading := _HEADING.match(line)) is not None
    }
    return {
        page: NOTICE + _relink(lines, page, anchors).rstrip() + "\n"
        for page, lines in texts.items()
    }


def _promote(lines: list[str]) -> list[str]:
    """Every heading one level up (``##`` to ``#``), code blocks untouched."""
    return [
        line[1:] if is_text and line.startswith("##") and _HEADING.match(line) else line
        for line, is_text in zip(lines, _lines_outside_fences(lines), strict=True)
    ]


def _relink(lines: list[str], page: str, anchors: dict[str, str]) -> str:
    """Relative links made right for ``page``: repository files and moved headings."""

    def target(link: re.Match[str]) -> str:
        to = link["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:", to, re.IGNORECASE) or to.startswith("//"):
            new = to  # an absolute URL (https:, mailto:, ...)
        elif to.startswith("#"):
            home = anchors.get(to[1:], page)
            here = posixpath.dirname(page) or "."
            new = to if home == page else posixpath.relpath(home, here) + to
        else:
            new = REPOSITORY + to.removeprefix("./")
        return f"[{link['text']}]({new}{link['title'] or ''})"

    outside = _lines_outside_fences(lines)
    return "\n".join(
        _LINK.sub(target, line) if is_text else line
        for line, is_text in zip(lines, outside, strict=True)
    )


# -- mkdocs hook ---------------------------------------------------------------------------


def on_files(files: Any, config: Any) -> Any:
    """Add the generated pages to the build (they replace nothing: no such file exists)."""
    from mkdocs.structure.files import File

    for page, text in pages(README.read_text(encoding="utf-8")).items():
        if files.get_file_from_path(page) is not None:
            raise ValueError(f"docs/{page} exists, but it is generated from README.md")
        files.append(File.generated(config, page, content=text))
    return files


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(f"usage: python {Path(__file__).name} OUTDIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    for page, text in pages(README.read_text(encoding="utf-8")).items():
        (out / page).parent.mkdir(parents=True, exist_ok=True)
        (out / page).write_text(text, encoding="utf-8")
        print(out / page)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
