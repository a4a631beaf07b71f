"""The README runs, exactly as written.

Every ```python block of README.md is a whole program. Each one runs here in a fresh
interpreter (``-W error``, an empty working directory) against a sandbox seeded like the Quick
start's ``privicore sandbox --user me:secret --devices 5 --print-env``, with nothing but that
command's ``export`` lines in its environment, and must exit 0 with nothing on stderr. The test
id is the block's first line in README.md.

A block that needs more says so on the line before its fence (``<!-- readme-test: KIND -->``,
see tests/readme/blocks.py for the kinds): it is a pytest module, it needs authenticators that
vote, or it needs Redis and a worker. Nothing is skipped: a block with an unknown kind fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from privicore_async.sandbox import Sandbox
from tests.readme.blocks import KINDS, README, Block, parse, stray_annotations
from tests.readme.runner import run_block

TIMEOUT = 30.0
"""Seconds one block may run (its interpreter's start included)."""

TEXT = README.read_text(encoding="utf-8")
PYTHON = [block for block in parse(TEXT) if block.language in ("python", "py", "python3")]


@pytest.fixture
async def seeded_sandbox() -> AsyncIterator[Sandbox]:
    """What ``privicore sandbox --user me:secret --devices 5`` serves, on a free port."""
    async with Sandbox(latency=0.05, users={"me": "secret"}, devices=5) as sb:
        yield sb


@pytest.mark.parametrize("block", PYTHON, ids=[block.test_id for block in PYTHON])
async def test_block_runs_as_written(block: Block, seeded_sandbox: Sandbox, tmp_path: Path) -> None:
    assert not block.unknown_kinds, (
        f"README.md:{block.annotation_line}: unknown readme-test kind(s) {block.unknown_kinds}; "
        f"known: {sorted(KINDS)}"
    )
    finished = await run_block(block.code, block.kinds, seeded_sandbox, tmp_path, timeout=TIMEOUT)
    assert finished.returncode == 0, finished.explain()
    # -W error turns warnings into exceptions; what a finaliser reports (an unclosed session,
    # "Exception ignored in ...") reaches only stderr, so stderr must stay empty.
    assert not finished.stderr.strip(), finished.explain()
    if "pytest" in block.kinds:
        assert " passed" in finished.stdout, finished.explain()
        assert "skipped" not in finished.stdout, finished.explain()


def test_the_readme_has_python_blocks() -> None:
    assert len(PYTHON) >= 10


def test_no_placeholder_in_python_blocks() -> None:
    # `...` would be an Ellipsis in code or an elision in a comment: either way, not runnable
    # as written.
    found = [
        f"README.md:{block.line + offset}: {line.strip()}"
        for block in PYTHON
        for offset, line in enumerate(block.code.splitlines())
        if "..." in line
    ]
    assert not found, "placeholders in python blocks:\n" + "\n".join(found)


def test_annotations_sit_right_before_a_python_fence() -> None:
    assert stray_annotations(TEXT) == []


def test_blocks_are_found_with_their_line_and_annotation() -> None:
    text = (
        "intro\n"
        "```python\nprint(1)\n```\n"
        "<!-- readme-test: votes, redis -->\n"
        "````python\n```python\nnested\n```\n````\n"
        "<!-- readme-test: pytest -->\n"
        "```sh\necho\n```\n"
        "<!-- readme-test: bogus -->\n"
        "```python\nx = 1\n"
    )
    blocks = parse(text)
    assert [(b.language, b.line, b.kinds) for b in blocks] == [
        ("python", 3, frozenset()),
        ("python", 7, frozenset({"votes", "redis"})),
        ("sh", 13, frozenset({"pytest"})),
        ("python", 17, frozenset({"bogus"})),
    ]
    assert blocks[1].code == "```python\nnested\n```\n"
    assert blocks[3].unknown_kinds == ["bogus"]
    assert stray_annotations(text) == [11]
