"""The exit statuses of ``privicore``: one table, and what each expected failure maps to.

Every command returns one of :class:`ExitCode`; :func:`exit_code_for` turns the exceptions a
command may meet on purpose (the SDK's errors, file errors, :class:`CommandFailed`) into one,
and :func:`epilog` is the table as ``privicore --help`` shows it. Anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import enum

from ..errors import AuthenticationError, InvalidArgumentError, PrivicoreError, TransportError

__all__ = ["CommandFailed", "ExitCode", "epilog", "exit_code_for", "failure_message"]


class ExitCode(enum.IntEnum):
    """What the exit status of a ``privicore`` command means."""

    OK = 0
    FAILED = 1
    USAGE = 2
    AUTHENTICATION = 3
    UNREACHABLE = 4
    INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


_MEANINGS = {
    ExitCode.OK: "done (a closed output pipe, as in `privicore ... | head`, counts as done)",
    ExitCode.FAILED: "some items were rejected or failed, or the command did not succeed",
    ExitCode.USAGE: "usage error: a bad option, argument or input file",
    ExitCode.AUTHENTICATION: "authentication: no username or password, or the API refused them",
    ExitCode.UNREACHABLE: "unreachable: the API did not answer (refused, DNS, timeout)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); the command stopped cleanly",
}

# What the message on stderr says before the error's own text, so that the status and the
# message always agree.
_PREFIXES = {
    ExitCode.AUTHENTICATION: "authentication failed: ",
    ExitCode.UNREACHABLE: "cannot reach the API: ",
}


class CommandFailed(Exception):
    """An expected failure the command itself detected; ``code`` is its exit status.

    The message is shown as it is on stderr: it must never quote a secret.
    """

    def __init__(self, message: str, code: ExitCode = ExitCode.FAILED) -> None:
        super().__init__(message)
        self.code = code


def exit_code_for(exc: BaseException) -> ExitCode | None:
    """The exit status for an expected failure; ``None`` for anything else (a bug).

    A group of errors (from a task group) has the status of its first expected member.
    """
    if isinstance(exc, BaseExceptionGroup):
        for member in exc.exceptions:
            code = exit_code_for(member)
            if code is not None:
                return code
        return None
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if isinstance(exc, CommandFailed):
        return exc.code
    if isinstance(exc, AuthenticationError):
        return ExitCode.AUTHENTICATION
    if isinstance(exc, TransportError):
        return ExitCode.UNREACHABLE
    if isinstance(exc, InvalidArgumentError):  # refused before anything was sent
        return ExitCode.USAGE
    if isinstance(exc, PrivicoreError | OSError):
        return ExitCode.FAILED
    return None


def failure_message(exc: BaseException) -> str:
    """The one line shown on stderr for an expected failure (without the command's name)."""
    if isinstance(exc, BaseExceptionGroup):
        for member in exc.exceptions:
            if exit_code_for(member) is not None:
                return failure_message(member)
    code = exit_code_for(exc)
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        text = f"{exc.filename}: {exc.strerror}"
    else:
        text = str(exc) or type(exc).__name__
    return _PREFIXES.get(code, "") + text if code is not None else text


def epilog() -> str:
    """The table for ``privicore --help``."""
    width = len(str(max(ExitCode)))
    rows = [f"  {code.value:>{width}}  {_MEANINGS[code]}" for code in ExitCode]
    return "exit status:\n" + "\n".join(rows)
