"""Run one README block in a fresh interpreter against a seeded sandbox, as a user would.

The block gets what a user of the Quick start has: the ``export`` lines of ``privicore sandbox
--user me:secret --devices 5 --print-env`` (:func:`~privicore_async.sandbox.process.env_lines`)
in an environment cleaned of every ``PRIVICORE_*`` of the developer's shell, an empty working
directory, and ``-W error``. Each annotation kind of :mod:`tests.readme.blocks` adds its part
here: a pytest run, an authenticator that approves every open voting pool, or a redis-server
with a ``privicore worker`` on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import pytest

from privicore_async.sandbox import Sandbox
from privicore_async.sandbox.process import env_lines
from tests.redis_server import redis_server

__all__ = ["Finished", "block_env", "run_block"]

ROOT = Path(__file__).resolve().parents[2]
WORKER_READY = "privicore worker: ready as "
_VOTE_EVERY = 0.02  # seconds between two looks at the open pools

PYTEST_OPTIONS = (
    "-W",
    "error",
    "-q",
    "-p",
    "no:cacheprovider",
    # No configuration file is found in the block's directory, so pytest-asyncio runs in its
    # strict mode (async tests and fixtures must say so: that works under "auto" too) and
    # would warn, as an error under -W error, that this one option is unset.
    "-o",
    "asyncio_default_fixture_loop_scope=function",
)
"""How a ``pytest`` block runs: as a user's test module, with no configuration of ours."""


@attrs.frozen
class Finished:
    """How a block's process ended."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def explain(self) -> str:
        return (
            f"$ {shlex.join(self.argv)}\nexit status {self.returncode}\n"
            f"--- stdout\n{self.stdout[-4000:]}\n--- stderr\n{self.stderr[-4000:]}"
        )


def block_env(sb: Sandbox) -> dict[str, str]:
    """This process's environment without ``PRIVICORE_*`` (and pytest's own variables),
    plus the sandbox's ``export`` lines, with this repository first on the import path."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PRIVICORE_", "PYTEST_"))
    }
    for line in env_lines(sb):
        name, _, value = line.removeprefix("export ").partition("=")
        (env[name],) = shlex.split(value) or [""]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


async def run_block(
    code: str, kinds: frozenset[str], sb: Sandbox, workdir: Path, *, timeout: float
) -> Finished:
    """Write ``code`` into ``workdir`` and run it there as ``kinds`` say; ``timeout`` bounds
    the block's own process (a block that hangs fails the test, it is never left running)."""
    env = block_env(sb)
    async with contextlib.AsyncExitStack() as stack:
        if "redis" in kinds:
            env["PRIVICORE_REDIS_URL"] = stack.enter_context(redis_server())
            await stack.enter_async_context(_sync_worker(env, workdir))
        if "votes" in kinds:
            await stack.enter_async_context(_approving_votes(sb))
        if "pytest" in kinds:
            script = workdir / "test_readme_block.py"
            argv = ["-m", "pytest", *PYTEST_OPTIONS, script.name]
        else:
            script = workdir / "readme_block.py"
            argv = [script.name]
        script.write_text(code)
        finished = await _run([sys.executable, "-W", "error", *argv], env, workdir, timeout)
    return finished


async def _run(argv: list[str], env: dict[str, str], cwd: Path, timeout: float) -> Finished:
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        stdout, stderr = await process.communicate()
        finished = Finished(tuple(argv), -9, stdout.decode(), stderr.decode())
        pytest.fail(f"the block did not finish within {timeout} s\n{finished.explain()}")
    assert process.returncode is not None
    return Finished(tuple(argv), process.returncode, stdout.decode(), stderr.decode())


@contextlib.asynccontextmanager
async def _approving_votes(sb: Sandbox) -> AsyncIterator[None]:
    """Every eligible authenticator approves every open pool (the authenticators' app)."""
    cast = 0

    async def vote() -> None:
        nonlocal cast
        while True:
            for pool in sb.pools(status="open"):
                for device in pool.eligible:
                    if device in pool.votes:
                        continue
                    # The pool may have been decided or expired since it was listed.
                    with contextlib.suppress(KeyError, ValueError):
                        sb.vote(pool.pool_id, device, approve=True)
                        cast += 1
            await asyncio.sleep(_VOTE_EVERY)

    voter = asyncio.create_task(vote())
    try:
        yield
    finally:
        voter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await voter
    # An annotation that is not needed would hide what the block really does.
    assert cast, "the block is annotated `votes` but opened no voting pool"


@contextlib.asynccontextmanager
async def _sync_worker(env: dict[str, str], workdir: Path) -> AsyncIterator[None]:
    """``privicore worker`` on ``env``'s Redis and sandbox, ready before the block starts and
    stopped (SIGTERM, then its exit status checked) after it."""
    log = workdir / "worker.log"
    with log.open("wb") as stderr:  # a file, not a pipe: a chatty worker never blocks on it
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "privicore_async.cli",
            "worker",
            cwd=workdir,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    assert process.stdout is not None
    try:
        try:
            line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        except TimeoutError:
            line = "(nothing in 30 s)"
        if not line.startswith(WORKER_READY):
            pytest.fail(f"the worker did not get ready: {line!r}\n{log.read_text()}")
        yield
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
    assert process.returncode == 0, f"worker exit status {process.returncode}\n{log.read_text()}"
