"""Argument types shared by the ``worker`` and ``sync`` subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

__all__ = ["at_least"]

N = TypeVar("N", int, float)


def at_least(minimum: N, kind: Callable[[str], N]) -> Callable[[str], N]:
    """An argparse ``type`` that parses with ``kind`` and refuses values below ``minimum``."""

    def parse(text: str) -> N:
        value = kind(text)
        if not value >= minimum:  # `not >=` also refuses nan
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g}, not {text}")
        return value

    parse.__name__ = getattr(kind, "__name__", "value")  # argparse names it in its errors
    return parse
