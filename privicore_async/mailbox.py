"""A bounded buffer of messages by id that arrived before anybody asked for them.

Pushed messages can beat the HTTP answer that tells the client to expect them (an ack before
its 202 is processed, a data request's answer before its waiter exists). They wait here,
bounded in count and in age, until somebody asks.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Mailbox"]

T = TypeVar("T")


class Mailbox(Generic[T]):
    """Messages by id that arrived before anybody asked: at most ``size`` ids, ``age`` seconds."""

    def __init__(self, size: int, age: float) -> None:
        self._size, self._age = size, age
        self._items: OrderedDict[str, list[tuple[float, T]]] = OrderedDict()

    def put(self, key: str, item: T) -> None:
        """Keep ``item`` under ``key``; the oldest ids and items past ``age`` make way."""
        now = time.monotonic()
        self._items.setdefault(key, []).append((now, item))
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)
        while self._items:
            first = next(iter(self._items.values()))
            if now - first[0][0] <= self._age:
                break
            self._items.popitem(last=False)

    def take(self, key: str, accept: Callable[[T], bool] | None = None) -> T | None:
        """The oldest fresh item under ``key`` (``accept(item)`` true, if given), removed."""
        entries = self._items.get(key)
        if not entries:
            return None
        now = time.monotonic()
        for index, (when, item) in enumerate(entries):
            if now - when <= self._age and (accept is None or accept(item)):
                del entries[index]
                if not entries:
                    del self._items[key]
                return item
        return None

    def __len__(self) -> int:
        """Items held, under all ids."""
        return sum(len(entries) for entries in self._items.values())
