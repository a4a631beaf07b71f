"""Helpers shared by the benchmarks: the sandbox in its own process, statistics, machine facts.

The sandbox runs as ``python -m privicore_async.sandbox`` in a child process so that its
work is not charged to the client process (``time.process_time()`` of the benchmark measures
the client only) and the two can use different cores.
"""

from __future__ import annotations

import math
import os
import platform
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiohttp

__all__ = [
    "SandboxAdmin",
    "SandboxProcess",
    "git_revision",
    "machine_info",
    "percentile",
]

LISTENING = "privicore sandbox listening on"
ADMIN_TOKEN = "privicore sandbox admin token"
WS_LISTENING = "privicore sandbox websocket on"
UPSTREAM_LISTENING = "privicore sandbox upstream on"
DOWNSTREAM_LISTENING = "privicore sandbox downstream on"


class SandboxProcess:
    """``python -m privicore_async.sandbox --port 0 --print-ws-url`` as a child process.

    :meth:`start` waits for the ``listening on URL`` line and returns the URL, then for the
    ``admin token TOKEN`` line (:attr:`admin_token`, for :class:`SandboxAdmin`) and the
    ``websocket on ws://...`` line (:attr:`ws_url`, the ack channel's port); :meth:`stop`
    sends SIGTERM, waits, and kills if needed. Use it as a context manager so the child is
    stopped on any error, including KeyboardInterrupt. With ``data_urls=True`` it also passes
    ``--print-data-urls`` and waits for :attr:`upstream_url` and :attr:`downstream_url`.
    """

    def __init__(
        self,
        *,
        latency: float,
        jitter: float = 0.0,
        host: str = "127.0.0.1",
        startup_timeout: float = 30.0,
        data_urls: bool = False,
    ) -> None:
        self.argv = [
            sys.executable,
            "-m",
            "privicore_async.sandbox",
            "--host",
            host,
            "--port",
            "0",
            "--latency",
            repr(latency),
            "--jitter",
            repr(jitter),
            "--print-ws-url",
        ]
        if data_urls:
            self.argv.append("--print-data-urls")
        self.data_urls = data_urls
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.api_url: str | None = None
        self.admin_token: str | None = None
        self.ws_url: str | None = None
        self.upstream_url: str | None = None
        self.downstream_url: str | None = None

    def start(self) -> str:
        """Start the child and return its API URL (raises if it does not come up in time)."""
        # Unbuffered bytes: a line read must not leave the next one in a buffer that
        # select() cannot see.
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, bufsize=0
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"the sandbox did not start within {self.startup_timeout}s")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                continue
            line = self.proc.stdout.readline().decode()
            if not line:
                raise RuntimeError(f"the sandbox exited early (status {self.proc.wait()})")
            if line.startswith(LISTENING):
                self.api_url = line[len(LISTENING) :].strip()
            elif line.startswith(ADMIN_TOKEN):
                self.admin_token = line[len(ADMIN_TOKEN) :].strip()
            elif line.startswith(WS_LISTENING):
                self.ws_url = line[len(WS_LISTENING) :].strip()
            elif line.startswith(UPSTREAM_LISTENING):
                self.upstream_url = line[len(UPSTREAM_LISTENING) :].strip()
            elif line.startswith(DOWNSTREAM_LISTENING):
                self.downstream_url = line[len(DOWNSTREAM_LISTENING) :].strip()
            data_ready = not self.data_urls or (
                self.upstream_url is not None and self.downstream_url is not None
            )
            urls_ready = self.api_url is not None and self.ws_url is not None
            if urls_ready and self.admin_token is not None and data_ready:
                return self.api_url

    def stop(self) -> int | None:
        """Stop the child (SIGTERM, then SIGKILL after 5 s); returns its exit status."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        return proc.returncode

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:  # also SIGTERM/Ctrl-C during start: no orphan child
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


class SandboxAdmin:
    """The sandbox's ``/_sandbox/`` admin endpoints (not Privicore's API).

    ``admin_token`` is the sandbox's (``SandboxProcess.admin_token``); every request carries it.
    """

    def __init__(
        self, session: aiohttp.ClientSession, api_url: str, admin_token: str | None
    ) -> None:
        if not admin_token:
            raise ValueError("the sandbox's admin token is needed (SandboxProcess.admin_token)")
        self._session = session
        self._base = api_url.rstrip("/") + "/_sandbox"
        # Per request, not on the session: the session may also talk to other hosts.
        self._headers = {"X-Sandbox-Token": admin_token}

    def __repr__(self) -> str:
        return f"SandboxAdmin({self._base!r})"  # never the token

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        request = self._session.request(method, self._base + path, headers=self._headers, **kwargs)
        async with request as response:
            response.raise_for_status()
            return await response.json()

    async def stats(self) -> dict[str, Any]:
        """The sandbox's counters (``status_requests``, ``requests``, ...)."""
        result: dict[str, Any] = await self._json("GET", "/stats")
        return result

    async def settled(self) -> dict[str, float]:
        """``{command_id: settled_at}`` (wall clock, ``time.time()``) of every settled command."""
        result: dict[str, float] = await self._json("GET", "/settled")
        return result

    async def due(self) -> dict[str, float]:
        """``{command_id: due_at}`` (wall clock) of every pending command: when it will settle."""
        result: dict[str, float] = await self._json("GET", "/due")
        return result

    async def set_latency(self, latency: float, jitter: float) -> None:
        """Latency and jitter of commands accepted from now on."""
        await self._json("POST", "/latency", data={"latency": latency, "jitter": jitter})


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on."""
    usable: int | None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": usable,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "aiohttp": aiohttp.__version__,
    }


def git_revision(repo: Path) -> str:
    """``HEAD``'s short hash, with ``+dirty`` when the package has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--", "privicore_async"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")
