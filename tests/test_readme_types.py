"""The README's code passes ``mypy --strict``, as a user's project written from it would.

Every ```python block of README.md (the blocks tests/test_readme.py runs) is written to a
file of its own and all of them are checked by one mypy run, with no configuration of ours,
``privicore_async`` found in this checkout as a user finds the installed package. An error is
reported at its README.md line. Errors inside ``privicore_async`` itself are not the README's:
``mypy --strict privicore_async`` checks those.

A ``pytest`` block is a test module, whose test functions take fixtures unannotated as
pytest's own documentation writes them: mypy checks those blocks with ``allow-untyped-defs``
(the bodies are still checked, ``check-untyped-defs`` stays on) and everything else strictly.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import pytest

from tests.readme.blocks import README, Block, parse

ROOT = README.parent
PYTHON = [
    block
    for block in parse(README.read_text(encoding="utf-8"))
    if block.language in ("python", "py", "python3")
]
# Appended (so that the line numbers stay the README's): an inline mypy configuration comment.
TEST_MODULE_CONFIG = "\n# mypy: allow-untyped-defs\n"
CANARY = 'number: int = "not a number"\n'
"""A file checked in the same run, which must fail: the check is not vacuous."""

_ERROR = re.compile(r"^(?P<file>[^:\s]+\.py):(?P<line>\d+): error: (?P<message>.*)$")


def _file_name(block: Block) -> str:
    return f"readme_{block.line}.py"


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """mypy's errors (``README.md:LINE: message``) by checked file name."""
    if importlib.util.find_spec("mypy") is None:
        pytest.fail("mypy is not installed: pip install -e '.[dev]'")
    work = tmp_path_factory.mktemp("readme_types")
    names = []
    for block in PYTHON:
        code = block.code + (TEST_MODULE_CONFIG if "pytest" in block.kinds else "")
        (work / _file_name(block)).write_text(code, encoding="utf-8")
        names.append(_file_name(block))
    (work / "canary.py").write_text(CANARY, encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if not name.startswith("MYPY")}
    # The editable install's import hook is invisible to mypy: point it at the checkout.
    env["MYPYPATH"] = str(ROOT)
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--python-version=3.11",
            f"--cache-dir={work / '.mypy_cache'}",
            "--no-pretty",
            "--no-color-output",
            "--no-error-summary",
            "--show-error-codes",
            "canary.py",
            *names,
        ],
        cwd=work,  # no configuration file there: only the flags above
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode in (0, 1), f"mypy crashed:\n{finished.stdout}\n{finished.stderr}"
    lines = {_file_name(block): block.line for block in PYTHON}
    errors: dict[str, list[str]] = {}
    for line in finished.stdout.splitlines():
        if (error := _ERROR.match(line)) is None:
            continue
        file, number = error["file"], int(error["line"])
        where = f"README.md:{lines[file] + number - 1}" if file in lines else f"{file}:{number}"
        errors.setdefault(file, []).append(f"{where}: {error['message']}")
    return errors


@pytest.mark.parametrize("block", PYTHON, ids=[block.test_id for block in PYTHON])
def test_block_passes_mypy_strict(block: Block, mypy_errors: dict[str, list[str]]) -> None:
    found = mypy_errors.get(_file_name(block), [])
    assert not found, "mypy --strict:\n" + "\n".join(found)


def test_mypy_reports_errors_in_the_checked_files(mypy_errors: dict[str, list[str]]) -> None:
    assert mypy_errors.get("canary.py") == [
        'canary.py:1: Incompatible types in assignment (expression has type "str", '
        'variable has type "int")  [assignment]'
    ]
