"""Reading form fields the way Privicore validates them, collecting every violation.

A handler reads all its fields, then calls :meth:`FormReader.check`, which raises a
:class:`~.answers.Refusal` carrying one 422 that names every bad field at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .answers import Refusal, validation_failed

__all__ = ["BLANK", "IDENTIFIER", "NOT_AN_IDENTIFIER", "FormReader"]

IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
BLANK = "This value should not be blank."
NOT_AN_IDENTIFIER = "This value is not a valid identifier."


class FormReader:
    """Typed access to a decoded form body, with violations gathered per wire field name."""

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self._fields = fields
        self.errors: dict[str, list[str]] = {}

    def _violation(self, field: str, text: str) -> None:
        self.errors.setdefault(field, []).append(text)

    def _value(self, field: str) -> str | None:
        value = self._fields.get(field)
        # A file upload where text belongs counts as blank, like a missing field.
        return value if isinstance(value, str) and value.strip() else None

    def optional(self, field: str) -> str | None:
        """The stripped value, or ``None`` when the field is absent or blank."""
        value = self._value(field)
        return None if value is None else value.strip()

    def text(self, field: str) -> str:
        """A required value; a missing or blank one is a violation (and ``""`` is returned)."""
        value = self._value(field)
        if value is None:
            self._violation(field, BLANK)
            return ""
        return value

    def identifier(self, field: str) -> str:
        """A required identifier matching :data:`IDENTIFIER`."""
        value = self.text(field).strip()
        if value and IDENTIFIER.fullmatch(value) is None:
            self._violation(field, NOT_AN_IDENTIFIER)
        return value

    def integer(self, field: str, low: int, high: int) -> int:
        """A required whole number in ``[low, high]``."""
        raw = self.text(field).strip()
        if not raw:
            return 0
        try:
            value = int(raw)
        except ValueError:
            self._violation(field, "This value should be a valid number.")
            return 0
        if not low <= value <= high:
            self._violation(field, f"This value should be between {low} and {high}.")
        return value

    def check(self) -> None:
        """Raise the 422 :class:`~.answers.Refusal` if any field was refused."""
        if self.errors:
            raise Refusal(validation_failed(self.errors))
