"""The README's code blocks and the annotations that say how a python block is run.

A python block is a whole program, run as it is written. A block that needs more than the
sandbox's environment says so with an HTML comment on the line right before its fence::

    <!-- readme-test: votes -->
    ```python

Several kinds may be given, separated by spaces or commas. :data:`KINDS` lists them (the
runner in :mod:`tests.readme.runner` implements each); anything else makes the block's test
fail, and so does an annotation that is not followed by a python fence.
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs

__all__ = ["KINDS", "README", "Block", "parse", "stray_annotations"]

README = Path(__file__).resolve().parents[2] / "README.md"

KINDS = {
    "pytest": "the block is a pytest test module: python -m pytest runs it (must pass, no skips)",
    "votes": "approving votes are cast on every open voting pool while it runs",
    "redis": "a real redis-server (PRIVICORE_REDIS_URL) and a `privicore worker` on it",
}
"""Every annotation kind, and what it makes the runner do."""

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")
_ANNOTATION = re.compile(r"^\s*<!--\s*readme-test:(?P<kinds>[^>]*?)-->\s*$")


@attrs.frozen
class Block:
    """One fenced code block: its language, first code line (1-based) and text."""

    language: str
    line: int
    code: str
    kinds: frozenset[str] = frozenset()
    """The kinds its annotation names (empty: a plain program)."""
    annotation_line: int | None = None

    @property
    def unknown_kinds(self) -> list[str]:
        return sorted(self.kinds - KINDS.keys())

    @property
    def test_id(self) -> str:
        return f"README.md:{self.line}"


def parse(text: str) -> list[Block]:
    """Every fenced block of ``text`` in order, with the annotation just before its fence.

    A fence opened by N backticks (or tildes) is closed by at least N of the same character,
    as in CommonMark, so a block may show a shorter fence inside it. An unclosed fence runs
    to the end of the text.
    """
    lines = text.splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence = opening["fence"]
        start = index + 1
        end = start
        while end < len(lines):
            closing = _FENCE.match(lines[end])
            if (
                closing is not None
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"]
            ):
                break
            end += 1
        kinds: frozenset[str] = frozenset()
        annotation_line = None
        if index > 0 and (annotation := _ANNOTATION.match(lines[index - 1])) is not None:
            kinds = frozenset(re.split(r"[\s,]+", annotation["kinds"].strip())) - {""}
            annotation_line = index  # 1-based number of the line before the fence
        code = "\n".join(lines[start:end]) + "\n"
        blocks.append(Block(opening["info"].lower(), start + 1, code, kinds, annotation_line))
        index = end + 1
    return blocks


def stray_annotations(text: str) -> list[int]:
    """Line numbers (1-based) of annotations that do not sit right before a python fence."""
    lines = text.splitlines()
    used = {b.annotation_line for b in parse(text) if b.language == "python"}
    return [
        number
        for number, line in enumerate(lines, start=1)
        if _ANNOTATION.match(line) is not None and number not in used
    ]
