"""A real ``redis-server`` for the tests: its own process, a free loopback port, no disk.

The tests of Redis features run against Redis itself, never a stand-in. On a developer machine
without ``redis-server`` they are skipped with a loud reason; where
``PRIVICORE_REQUIRE_REDIS`` is set (``.ci/run`` sets it) a missing server fails them instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

__all__ = ["redis_server"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _require_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed: the Redis tests cannot run"
        if os.environ.get("PRIVICORE_REQUIRE_REDIS"):
            pytest.fail(message + " (PRIVICORE_REQUIRE_REDIS is set)")
        pytest.skip(message + " (apt-get install redis-server)")
    return binary


@contextmanager
def redis_server() -> Iterator[str]:
    """Start ``redis-server`` on a free port; yields ``redis://127.0.0.1:PORT/0``."""
    binary = _require_binary()
    with tempfile.TemporaryDirectory(prefix="privicore-redis-") as directory:
        port = _free_port()
        options = {"port": str(port), "bind": "127.0.0.1", "save": "", "appendonly": "no"}
        options |= {"dir": directory, "protected-mode": "no"}
        argv = [binary, *(part for name, value in options.items() for part in (f"--{name}", value))]
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                        conn.sendall(b"PING\r\n")
                        if conn.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start on port {port}")
                time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
