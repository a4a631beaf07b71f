"""Progress of long work on a stream (stderr): a bar on a terminal, a few plain lines otherwise.

:func:`progress_bar` picks the form: ``rich``'s bar when the stream is a terminal and ``rich``
is installed (the ``cli`` extra), else a :class:`ProgressLine`, which needs nothing. ``rich``
is imported only then, so neither the library nor any command requires it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TextIO

from .output import isatty

if TYPE_CHECKING:
    import rich.progress

__all__ = ["Progress", "ProgressLine", "RichBar", "progress_bar"]


class Progress(Protocol):
    """What a command reports its progress to."""

    def update(self, done: int, detail: str = "") -> None:
        """``done`` steps of the total are done; ``detail`` says more (counts so far)."""
        ...

    def finish(self) -> None:
        """The work ended (or stopped): show the last state; safe to call twice."""
        ...


def progress_bar(stream: TextIO, label: str, total: int) -> Progress:
    """The progress display for ``total`` steps on ``stream``: rich's bar on a terminal when
    rich is installed, else a :class:`ProgressLine`."""
    if isatty(stream):
        try:
            return RichBar(stream, label, total)
        except ImportError:
            pass
    return ProgressLine(stream, label, total)


_BAR_WIDTH = 30


class ProgressLine:
    """Shows ``label [#####.....]  done/total  detail`` for a task of ``total`` steps.

    On a terminal the line is redrawn with ``\\r`` at most ``max_rate`` times a second (the
    last step is always drawn). Anywhere else (a pipe, a log file) it prints one plain line
    each time another ``1/plain_lines`` of the work is done, so logs stay short.
    :meth:`finish` ends the line; it is safe to call twice and after an interruption.
    """

    def __init__(
        self,
        stream: TextIO,
        label: str,
        total: int,
        *,
        interactive: bool | None = None,
        max_rate: float = 20.0,
        plain_lines: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._label = label
        self._total = total
        self._interactive = stream.isatty() if interactive is None else interactive
        self._min_interval = 1.0 / max_rate
        self._plain_lines = max(1, plain_lines)
        self._clock = clock
        self._done = 0
        self._detail = ""
        self._drawn_at: float | None = None
        self._drawn_text = ""
        self._printed_done = -1
        self._finished = False

    def update(self, done: int, detail: str = "") -> None:
        """Record that ``done`` steps are done; draw if it is time to."""
        self._done, self._detail = done, detail
        if self._finished:
            return
        if self._interactive:
            now = self._clock()
            due = self._drawn_at is None or now - self._drawn_at >= self._min_interval
            if due or done >= self._total:
                self._redraw(now)
        elif self._plain_due(done):
            self._print_plain()

    def finish(self) -> None:
        """Draw the last state and end the line (a no-op the second time)."""
        if self._finished:
            return
        if self._interactive:
            if self.render() != self._drawn_text:
                self._redraw(self._clock())
            self._stream.write("\n")
        elif self._printed_done != self._done:
            self._print_plain()
        self._stream.flush()
        self._finished = True

    def render(self) -> str:
        """The line as it would be drawn now (without ``\\r``)."""
        total = max(self._total, 1)
        filled = min(_BAR_WIDTH, _BAR_WIDTH * self._done // total)
        bar = "#" * filled + "." * (_BAR_WIDTH - filled)
        width = len(str(self._total))
        line = f"{self._label:<7} [{bar}]  {self._done:>{width}}/{self._total}"
        return f"{line}  {self._detail}" if self._detail else line

    def _redraw(self, now: float) -> None:
        text = self.render()
        # Pad with spaces rather than an ANSI erase, so any terminal shows it right.
        padding = " " * max(0, len(self._drawn_text) - len(text))
        self._stream.write(f"\r{text}{padding}")
        self._stream.flush()
        self._drawn_at = now
        self._drawn_text = text

    def _plain_due(self, done: int) -> bool:
        if done == self._printed_done:
            return False
        if done >= self._total:
            return True
        step = self._total / self._plain_lines
        return int(done / step) > int(max(self._printed_done, 0) / step)

    def _print_plain(self) -> None:
        self._stream.write(self.render() + "\n")
        self._stream.flush()
        self._printed_done = self._done


class RichBar:
    """``rich``'s progress bar on a terminal stream; raises ImportError without ``rich``."""

    def __init__(self, stream: TextIO, label: str, total: int) -> None:
        from rich.console import Console  # the optional `cli` extra: imported only here
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self._bar: rich.progress.Progress = RichProgress(
            TextColumn("{task.description:<7}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=Console(file=stream),
        )
        self._task = self._bar.add_task(label, total=total, detail="")
        self._bar.start()
        self._finished = False

    def update(self, done: int, detail: str = "") -> None:
        """Record that ``done`` steps are done (rich redraws on its own clock)."""
        self._bar.update(self._task, completed=done, detail=detail)

    def finish(self) -> None:
        """Draw the last state and leave the bar on screen (a no-op the second time)."""
        if not self._finished:
            self._finished = True
            self._bar.stop()
