"""A user's app type-checks under ``mypy --strict``: the types the SDK hands out are precise.

``app_commands.py`` and ``app_flows.py`` (apps written against the README, with
``assert_type`` on what a user's code sees), the programs in ``examples/`` and every python
block of README.md are checked in one ``mypy --strict`` run against this checkout. A control
file with a wrong ``assert_type`` proves the run really checks: it must fail exactly there.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import privicore_async
from privicore_async import types
from tests.readme.blocks import README, parse

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
APPS = sorted(HERE.glob("app_*.py"))
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

CONTROL = """
from typing import assert_type

from privicore_async import CommandHandle


def control(handle: CommandHandle) -> None:
    assert_type(handle.command_id, str | None)  # wrong on purpose: it is a str
"""


def _readme_blocks(into: Path) -> list[Path]:
    files = []
    for block in parse(README.read_text(encoding="utf-8")):
        if block.language not in ("python", "py", "python3"):
            continue
        code = block.code
        if "pytest" in block.kinds:  # pytest's fixtures and tests are left unannotated there
            code = "# mypy: allow-untyped-defs\n" + code
        path = into / f"readme_{block.line}.py"
        path.write_text(code, encoding="utf-8")
        files.append(path)
    return files


def test_the_apps_and_the_readme_pass_mypy_strict(tmp_path: Path) -> None:
    blocks = tmp_path / "readme"
    blocks.mkdir()
    readme = _readme_blocks(blocks)
    control = tmp_path / "control" / "control_app.py"
    control.parent.mkdir()
    control.write_text(CONTROL, encoding="utf-8")
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n", encoding="utf-8")  # the checkout's own settings stay out
    env = {**os.environ, "MYPYPATH": str(ROOT)}  # this checkout, whatever is installed
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            str(config),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--follow-imports=silent",  # the package's own errors are the gate's business
            "--no-color-output",
            "--no-error-summary",
            *map(str, APPS),
            *map(str, EXAMPLES),
            *map(str, readme),
            str(control),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=180,
        check=False,
    )
    errors = [line for line in finished.stdout.splitlines() if ": error:" in line]
    assert len(APPS) >= 2
    assert len(readme) >= 10
    control_errors = [line for line in errors if "control_app.py" in line]
    assert len(control_errors) == 1, finished.stdout + finished.stderr
    assert re.search(r'"str", not "str \| None"', control_errors[0])
    assert [line for line in errors if line not in control_errors] == [], finished.stdout
    assert not finished.stderr.strip(), finished.stderr


def test_every_type_named_in_the_types_docstring_is_exported() -> None:
    doc = types.__doc__ or ""
    named = set(re.findall(r":(?:class|data):`(\w+)`", doc))
    assert named == set(types.__all__)
    for name in types.__all__:
        assert getattr(types, name) is not None


@pytest.mark.parametrize("name", ["JSON", "AcceptedCommand", "CommandResponse", "types"])
def test_the_new_names_resolve_at_the_top_level_too(name: str) -> None:
    value = getattr(privicore_async, name)
    assert value is (types if name == "types" else getattr(types, name))
    assert name in privicore_async.__all__
