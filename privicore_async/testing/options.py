"""Per run: the sandbox a test gets when its marker says nothing else.

Three layers, the later winning: the plugin's defaults, the ini file (``privicore_latency``,
``privicore_devices``), the command line (``--privicore-latency``, ``--privicore-devices``).
They are read and checked once, at ``pytest_configure``, so a bad value stops the run with a
usage error naming the option instead of failing every test. Nothing here imports the sandbox:
this module loads in every pytest run of an environment where the package is installed.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import pytest

__all__ = [
    "DEFAULT_DEVICES",
    "DEFAULT_LATENCY",
    "DEFAULT_PASSWORD",
    "DEFAULT_USERNAME",
    "RUN_DEFAULTS",
    "RunDefaults",
    "add_options",
    "read_run_defaults",
]

DEFAULT_USERNAME = "tester"
DEFAULT_PASSWORD = "sandbox-password"  # a sandbox's only; it never leaves the process
DEFAULT_LATENCY = 0.05
"""Seconds a command takes to settle: short, but long enough that "pending" is observable."""
DEFAULT_DEVICES = 3


@attrs.frozen
class RunDefaults:
    """The keywords every ``privicore_sandbox`` of this run starts from."""

    latency: float = DEFAULT_LATENCY
    devices: int = DEFAULT_DEVICES

    def sandbox_kwargs(self) -> dict[str, Any]:
        """``Sandbox(...)`` keywords: one seeded user with ``devices`` storage devices."""
        return {
            "latency": self.latency,
            "devices": self.devices,
            "users": {DEFAULT_USERNAME: DEFAULT_PASSWORD},
        }


RUN_DEFAULTS = pytest.StashKey[RunDefaults]()
"""Where :func:`read_run_defaults` leaves its answer, in ``config.stash``."""


def add_options(parser: pytest.Parser) -> None:
    """Register the command-line and ini options (the ``pytest_addoption`` hook's work)."""
    group = parser.getgroup("privicore", "privicore-async sandbox fixtures")
    group.addoption(
        "--privicore-latency",
        dest="privicore_latency",
        metavar="SECONDS",
        default=None,
        help=f"seconds a sandbox command takes to settle (default {DEFAULT_LATENCY})",
    )
    group.addoption(
        "--privicore-devices",
        dest="privicore_devices",
        metavar="N",
        default=None,
        help=f"storage devices of the seeded sandbox user (default {DEFAULT_DEVICES})",
    )
    parser.addini(
        "privicore_latency", "default of --privicore-latency", type="string", default=None
    )
    parser.addini(
        "privicore_devices", "default of --privicore-devices", type="string", default=None
    )


def read_run_defaults(config: pytest.Config) -> RunDefaults:
    """The run's defaults from the command line, the ini file and the plugin, checked.

    Raises ``pytest.UsageError`` naming the option for a value that is not usable.
    """
    latency = _setting(config, "privicore_latency")
    devices = _setting(config, "privicore_devices")
    return RunDefaults(
        latency=DEFAULT_LATENCY if latency is None else _seconds(*latency),
        devices=DEFAULT_DEVICES if devices is None else _count(*devices),
    )


def _setting(config: pytest.Config, name: str) -> tuple[str, str] | None:
    """``(where it was given, raw text)`` of a setting, the command line first; else None."""
    given = config.getoption(name)
    if given is not None:
        return "--" + name.replace("_", "-"), str(given)
    configured = config.getini(name)
    if configured:
        return f"ini option {name}", str(configured)
    return None


def _seconds(where: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise pytest.UsageError(f"{where}: a number of seconds >= 0, not {raw!r}")
    return value


def _count(where: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise pytest.UsageError(f"{where}: a whole number >= 0, not {raw!r}")
    return value
