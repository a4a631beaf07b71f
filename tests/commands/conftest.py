"""Shared by the tests of commands/: a scripted status source and a fast poll policy."""

from __future__ import annotations

import pytest

from tests.commands.scripted import ScriptedSource


@pytest.fixture
async def source() -> ScriptedSource:
    return ScriptedSource()
