"""One progress line on a stream: redrawn in place on a terminal, a few plain lines otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["ProgressLine"]

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
