"""wire/status.py: the one table of command states, codes and words."""

from __future__ import annotations

import pytest

from privicore_async.errors import ProtocolError
from privicore_async.wire.status import (
    STATUS_BY_CODE,
    STATUS_CODE,
    STATUS_WORD,
    CommandStatus,
    status_from_code,
    status_from_word,
)


def test_codes_and_words_of_the_wire() -> None:
    assert dict(STATUS_BY_CODE) == {
        1: CommandStatus.PENDING,
        2: CommandStatus.SUCCEEDED,
        3: CommandStatus.REJECTED,
    }
    assert {STATUS_CODE[s]: s for s in STATUS_CODE} == dict(STATUS_BY_CODE)
    assert CommandStatus.ACCEPTED not in STATUS_CODE  # never on the wire
    assert set(STATUS_WORD.values()) == {"started", "succeeded", "rejected"}
    for status, word in STATUS_WORD.items():
        assert status_from_word(word) is status
        assert status_from_word(str(STATUS_CODE[status])) is status


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("Pending", CommandStatus.PENDING),
        (" processing ", CommandStatus.PENDING),
        ("COMPLETED", CommandStatus.SUCCEEDED),
        ("success", CommandStatus.SUCCEEDED),
        ("failed", CommandStatus.REJECTED),
        ("error", CommandStatus.REJECTED),
        (3, CommandStatus.REJECTED),
    ],
)
def test_synonyms(value: object, status: CommandStatus) -> None:
    assert status_from_word(value) is status


@pytest.mark.parametrize("value", ["finished", "", None, True, 4, 1.0, ["started"]])
def test_unknown_words_are_protocol_errors(value: object) -> None:
    with pytest.raises(ProtocolError, match="unknown value"):
        status_from_word(value)


@pytest.mark.parametrize("value", [0, 4, "2", True, None, 2.0])
def test_only_the_three_int_codes_are_codes(value: object) -> None:
    assert status_from_code(value) is None


def test_only_pending_is_not_final() -> None:
    assert [s for s in CommandStatus if not s.final] == [CommandStatus.PENDING]
