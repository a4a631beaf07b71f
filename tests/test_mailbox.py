"""Mailbox: messages that arrived before anybody asked, bounded in count and in age."""

from __future__ import annotations

from privicore_async.mailbox import Mailbox


def test_mailbox_is_bounded_in_size_and_age() -> None:
    box = Mailbox(size=2, age=60)
    for key in ("a", "b", "c"):
        box.put(key, key)
    assert box.take("a") is None  # evicted: the oldest of three
    assert box.take("c") == "c"
    assert box.take("c") is None
    old = Mailbox(size=10, age=0.0)
    old.put("x", 1)
    assert old.take("x") is None  # too old by the time anyone asks
