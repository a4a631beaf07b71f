"""A griffe extension: the library's reST docstring markup, shown as Markdown in the docs.

The docstrings of ``privicore_async`` are written for Sphinx (``:class:`~privicore_async.x.Y```
roles, ``::`` before a literal block); mkdocstrings renders Markdown. This rewrites, in the
loaded docstrings only (the library is not touched):

* a role to a code span of what Sphinx would show: ``:class:`~a.b.C``` to ```C```,
  ``:class:`a.b.C``` to ```a.b.C```, ``:meth:`close``` to ```close()```;
* ``text::`` ending a paragraph to ``text:`` (the indented block after it is a code block in
  Markdown too), and a paragraph that is only ``::`` to nothing.

Roles become code, not links: a link that does not resolve would fail ``mkdocs build
--strict``, and the API reference shows the public names, not every one a docstring names.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?P<role>[a-z]+):`(?P<target>[^`]+)`")
_CALLABLE_ROLES = {"meth", "func"}


def _show(role: re.Match[str]) -> str:
    target = role["target"].strip()
    if (labelled := re.fullmatch(r"(?P<label>.+?)\s*<[^>]+>", target)) is not None:
        return f"`{labelled['label']}`"
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    target = target.lstrip("!")
    if role["role"] in _CALLABLE_ROLES and not target.endswith(")"):
        target += "()"
    return f"`{target}`"


def markdown(text: str) -> str:
    """``text`` with its reST roles and literal-block markers made Markdown."""
    text = _ROLE.sub(_show, text)
    text = re.sub(r"(?m)^[ \t]*::[ \t]*\n", "\n", text)  # a "::" paragraph of its own
    return re.sub(r"(?m)(\S)::[ \t]*$", r"\1:", text)  # "example::" ends the paragraph


class ReSTRoles(griffe.Extension):
    """Rewrites every docstring griffe loads (see the module docstring)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)
