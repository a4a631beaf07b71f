"""The sandbox as a child process: ``python -m privicore_async.sandbox``, started and stopped.

:class:`SandboxProcess` reads what the child prints (its URLs, its admin token, its seeded
users), so a test or a benchmark keeps the server's work off its own process, and hands out a
:class:`~.admin.SandboxAdmin` for it::

    async with SandboxProcess("--user", "me:secret", "--devices", "2") as child:
        async with child.admin() as admin:
            await admin.set_latency(0.05)
        ...  # point a PrivicoreClient at child.api_url

The admin token is a secret: it appears in no ``repr``, exception message or log line here.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Self

import aiohttp
import attrs

from .admin import SandboxAdmin
from .process import (
    ADMIN_TOKEN,
    ADMIN_TOKEN_ENV,
    DOWNSTREAM_LISTENING,
    LISTENING,
    SEEDED,
    UPSTREAM_LISTENING,
    WS_LISTENING,
)

__all__ = ["SandboxProcess"]

_URL_LINES = {
    LISTENING: "api",
    WS_LISTENING: "ws",
    UPSTREAM_LISTENING: "upstream",
    DOWNSTREAM_LISTENING: "downstream",
}
_URL_EXPORTS = {
    "PRIVICORE_API_URL": "api",
    "PRIVICORE_WS_URL": "ws",
    "PRIVICORE_UPSTREAM_URL": "upstream",
    "PRIVICORE_DOWNSTREAM_URL": "downstream",
}


@attrs.define
class _Banner:
    """What the child prints at start, read line by line, in either of its two forms.

    Plain: ``privicore sandbox listening on URL``, ``... admin token TOKEN``, ``... websocket
    on URL``, ``... upstream on URL``, ``... downstream on URL``, one ``... seeded user NAME:
    devices ID ...`` per user. With ``--print-env`` the same lines start with ``# `` (the
    token's is left out) and ``export NAME=VALUE`` lines follow, the token's among them.
    :class:`SandboxProcess` always asks for ``--print-env``: its export lines come after every
    other line, so the token's export says the banner is complete, however many users it lists.
    Exported credentials of a seeded user are skipped: the parent does not keep a password.
    """

    urls: dict[str, str] = attrs.field(factory=dict)
    token: str | None = attrs.field(default=None, repr=False)
    seeded: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    complete: bool = False

    def read(self, line: str) -> None:
        """Take one printed line into account."""
        text = line.strip()
        if text.startswith("export "):
            self._export(text.removeprefix("export "))
            return
        text = text.removeprefix("# ")
        for prefix, key in _URL_LINES.items():
            if text.startswith(prefix + " "):
                self.urls[key] = text[len(prefix) :].strip()
                return
        if text.startswith(ADMIN_TOKEN + " "):
            self.token = text[len(ADMIN_TOKEN) :].strip()
        elif text.startswith(SEEDED + " "):
            # A username has no ':' (the sandbox refuses one), so the first ": " ends it.
            name, _, devices = text[len(SEEDED) + 1 :].partition(": devices ")
            ids = devices.split()
            self.seeded[name] = () if ids == ["(none)"] else tuple(ids)

    def _export(self, assignment: str) -> None:
        name, _, quoted = assignment.partition("=")
        if name != ADMIN_TOKEN_ENV and name not in _URL_EXPORTS:
            return  # the first user's name, password and devices: known from other lines
        words = shlex.split(quoted)
        value = words[0] if words else ""
        if name == ADMIN_TOKEN_ENV:
            self.token, self.complete = value, True
        else:
            self.urls[_URL_EXPORTS[name]] = value


class SandboxProcess:
    """``python -m privicore_async.sandbox`` as a child process, stopped on exit.

    ``args`` are the sandbox's command-line options (``"--user", "me:secret", "--devices",
    "2"``, ``"--status-shape", "object"``, ...); ``latency``, ``jitter`` and ``host`` are
    shorthands for theirs. The child listens on free ports (``--port 0`` unless ``args`` say
    otherwise). Use it as ``with SandboxProcess(...) as child:`` (blocks while the child
    starts) or ``async with`` (does not): either waits until the child has printed its URLs
    (:attr:`api_url`, :attr:`ws_url`, :attr:`upstream_url`, :attr:`downstream_url`), its
    :attr:`admin_token` and its :attr:`seeded` users, at most ``startup_timeout`` seconds, and
    on exit sends SIGTERM, then kills the child if it has not stopped after ``stop_timeout``.
    What the child printed stays readable after it stopped (``RuntimeError`` before it
    started). The child's stderr is this process's.
    """

    def __init__(
        self,
        *args: str,
        latency: float | None = None,
        jitter: float | None = None,
        host: str = "127.0.0.1",
        python: str = sys.executable,
        startup_timeout: float = 30.0,
        stop_timeout: float = 5.0,
    ) -> None:
        options = ["--host", host, "--port", "0"]
        if latency is not None:
            options += ["--latency", repr(float(latency))]
        if jitter is not None:
            options += ["--jitter", repr(float(jitter))]
        # Every URL, and the env form (see _Banner); the caller's args come last and win.
        options += ["--print-ws-url", "--print-data-urls", "--print-env"]
        self.argv = [python, "-m", "privicore_async.sandbox", *options, *args]
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.proc: subprocess.Popen[bytes] | asyncio.subprocess.Process | None = None
        """The child while it runs (``Popen`` under ``with``, asyncio's under ``async with``)."""
        self._banner = _Banner()

    def __repr__(self) -> str:
        pid = None if self.proc is None else self.proc.pid
        return f"SandboxProcess(pid={pid}, api_url={self._banner.urls.get('api')!r})"

    # -- what the child printed ------------------------------------------------------------

    def _printed(self, key: str) -> str:
        url = self._banner.urls.get(key)
        if url is None:
            raise RuntimeError("the sandbox process is not started")
        return url

    @property
    def api_url(self) -> str:
        """``http://HOST:PORT`` of the child's REST API."""
        return self._printed("api")

    @property
    def ws_url(self) -> str:
        """``ws://HOST:PORT`` of the child's WebSocket ack channel."""
        return self._printed("ws")

    @property
    def upstream_url(self) -> str:
        """``http://HOST:PORT`` of the child's upstream data host."""
        return self._printed("upstream")

    @property
    def downstream_url(self) -> str:
        """``http://HOST:PORT`` of the child's downstream data host."""
        return self._printed("downstream")

    @property
    def admin_token(self) -> str:
        """The token of the child's ``/_sandbox/`` admin API (a secret: keep it out of logs)."""
        if self._banner.token is None:
            raise RuntimeError("the sandbox process is not started")
        return self._banner.token

    @property
    def seeded(self) -> Mapping[str, tuple[str, ...]]:
        """``{username: device ids}`` of the users seeded by ``--user`` (no passwords)."""
        return dict(self._banner.seeded)

    def admin(self, *, session: aiohttp.ClientSession | None = None) -> SandboxAdmin:
        """A :class:`SandboxAdmin` of the child (``async with child.admin() as admin:``)."""
        return SandboxAdmin(self.api_url, self.admin_token, session=session)

    # -- blocking: with ----------------------------------------------------------------------

    def start(self) -> str:
        """Start the child and wait for its banner; its API URL. Blocks (see ``async with``)."""
        if self.proc is not None:
            raise RuntimeError("the sandbox process is already started")
        self._banner = _Banner()
        # Unbuffered: a line read must not leave the next one in a buffer select() cannot see.
        proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, bufsize=0
        )
        self.proc = proc
        assert proc.stdout is not None
        deadline = time.monotonic() + self.startup_timeout
        while not self._banner.complete:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
                raise RuntimeError(f"the sandbox did not start within {self.startup_timeout}s")
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the sandbox exited early (status {proc.wait()})")
            self._banner.read(line.decode(errors="replace"))
        return self.api_url

    def stop(self) -> int | None:
        """SIGTERM the child, wait, kill it if needed; its exit status (None: not started)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if not isinstance(proc, subprocess.Popen):
            raise RuntimeError("started with async with: stopped by it, not by stop()")
        try:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=self.stop_timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        finally:
            if proc.stdout is not None:
                proc.stdout.close()
        return proc.returncode

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:  # also Ctrl-C during start: no orphan child
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- asyncio: async with -----------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self.proc is not None:
            raise RuntimeError("the sandbox process is already started")
        self._banner = _Banner()
        proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE
        )
        self.proc = proc
        try:
            assert proc.stdout is not None
            async with asyncio.timeout(self.startup_timeout):
                while not self._banner.complete:
                    line = await proc.stdout.readline()
                    if not line:
                        status = await proc.wait()
                        raise RuntimeError(f"the sandbox exited early (status {status})")
                    self._banner.read(line.decode(errors="replace"))
        except TimeoutError:
            await self._astop()
            raise RuntimeError(
                f"the sandbox did not start within {self.startup_timeout}s"
            ) from None
        except BaseException:  # also a cancelled start: no orphan child
            await self._astop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._astop()

    async def _astop(self) -> None:
        proc, self.proc = self.proc, None
        if not isinstance(proc, asyncio.subprocess.Process):
            return
        try:
            with contextlib.suppress(ProcessLookupError):  # it may have exited meanwhile
                proc.send_signal(signal.SIGTERM)
            # communicate(), not wait(): it also reads the pipe to its end, so the transport
            # closes with nothing left behind.
            with contextlib.suppress(TimeoutError):  # killed below
                await asyncio.wait_for(proc.communicate(), self.stop_timeout)
        finally:
            if proc.returncode is None:  # it did not stop in time, or we were cancelled
                proc.kill()
                await proc.wait()
