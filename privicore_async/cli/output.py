"""Where a command's results go: human lines, or JSON for scripts (``--json``).

With ``--json`` a command writes one JSON document, or one JSON value per line for a stream
(the devices of a sync); without it, lines of text. Either way stdout carries results only:
messages and progress go to stderr. Values are turned into JSON by :func:`jsonable` (attrs
classes, enums, datetimes), so a command hands over what it has, not a hand-made dict.
"""

from __future__ import annotations

import argparse
import datetime
import enum
import json
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import attrs

__all__ = ["Output", "add_output_options", "isatty", "jsonable", "table"]


def add_output_options(parser: argparse.ArgumentParser, *, repeated: bool = False) -> None:
    """Add ``--json``; ``repeated``: on a subcommand, where it repeats the global one (its
    default is then "not given", so a ``--json`` before the subcommand is kept)."""
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if repeated else False,
        help="print JSON for scripts: one document, or one line per item of a stream",
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """Aligned columns with a header line (``None`` shows as ``-``, a flag as yes/no)."""
    cells = [[_cell(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in [list(headers), *cells]) for i in range(len(headers))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [list(headers), *cells]
    ]


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def jsonable(value: object) -> Any:
    """``value`` as plain JSON types: attrs instances become objects of their fields.

    A field kept out of its class's ``repr`` may hold a secret (the SDK's convention): it is
    left out here too.
    """
    kind = type(value)
    if attrs.has(kind):
        # An attrs alias is the public name of a private field.
        return {
            (field.alias or field.name): jsonable(getattr(value, field.name))
            for field in attrs.fields(kind)
            if field.repr
        }
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)  # anything else the server sent: its text


class Output:
    """A command's stdout in one of two forms, chosen by ``--json``."""

    def __init__(self, stream: TextIO, *, json_mode: bool) -> None:
        self.stream = stream
        self.json = json_mode
        # Indented for a person reading a terminal, one line per value for a pipe.
        self._indent = 2 if isatty(stream) else None

    def document(self, value: object) -> None:
        """The command's one JSON document (``--json`` only)."""
        self._write(json.dumps(jsonable(value), indent=self._indent))

    def record(self, value: object) -> None:
        """One value of a JSON-lines stream: always on a single line."""
        self._write(json.dumps(jsonable(value)))

    def lines(self, *lines: str) -> None:
        """Human output."""
        for line in lines:
            self._write(line)

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def isatty(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (False for anything that cannot tell)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
