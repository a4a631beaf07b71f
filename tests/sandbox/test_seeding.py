"""Seed data: ``Sandbox(users=..., devices=...)`` and ``privicore sandbox --user --print-env``."""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import sys

import pytest

from privicore_async import CommandStatus, PollPolicy, PrivicoreClient, errors, gather
from privicore_async.sandbox import Sandbox
from privicore_async.sandbox.state import DeviceStatus

FAST = PollPolicy(initial_delay=0.01, min_interval=0.01, max_interval=0.1, timeout=10)


async def test_seeded_users_log_in_and_sync_their_devices_at_once() -> None:
    async with Sandbox(latency=0.01, users={"me": "secret", "you": "other"}, devices=3) as sb:
        me, you = sb.seeded["me"], sb.seeded["you"]
        assert len(me.device_ids) == len(you.device_ids) == 3
        assert not set(me.device_ids) & set(you.device_ids)
        for device_id in me.device_ids:
            device = sb.state.devices[device_id]
            assert device.profile_id == me.profile_id
            assert device.status is DeviceStatus.APPROVED
            assert device.storage is not None
            assert device.online
        assert sb.stats.commands_accepted == 0  # seeding sent no command
        async with PrivicoreClient(
            sb.api_url, username="me", password="secret", poll=FAST
        ) as client:
            listed = await client.devices.list()
            assert sorted(d.device_identifier for d in listed) == sorted(me.device_ids)
            handles = [await client.storage.sync_device(d) for d in me.device_ids]
            results = await gather(*handles)
            # Another user's device is unknown to this one.
            with pytest.raises(errors.CommandRejected):
                await (await client.storage.sync_device(you.device_ids[0]))
    assert [r.status for r in results] == [CommandStatus.SUCCEEDED] * 3


def test_a_seeded_password_never_shows_in_a_repr() -> None:
    sb = Sandbox(users={"me": "correct horse"}, devices=1)
    assert "correct horse" not in repr(sb.seeded) + repr(sb.seeded["me"])


@pytest.mark.parametrize(
    ("users", "devices", "message"),
    [
        (None, 2, "devices: needs users="),
        ({"me": "pw"}, -1, "devices: a count"),
        ({"me": "pw"}, True, "devices: a count"),
        ({"": "pw"}, 0, "is not a username"),
        ({"a:b": "pw"}, 0, "is not a username"),
        ({"me": ""}, 0, "password of 'me'"),
        ([("me", "pw")], 0, "users: a mapping"),
    ],
)
def test_bad_seed_arguments_are_refused_without_quoting_a_password(
    users: object, devices: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        Sandbox(users=users, devices=devices)  # type: ignore[arg-type]
    assert "pw" not in str(caught.value)


def test_a_taken_username_cannot_be_seeded_twice() -> None:
    sb = Sandbox(users={"me": "pw"})
    with pytest.raises(ValueError, match="already registered"):
        sb.seed_user("me", "other")
    more = sb.seed_user("late", "pw2", devices=2)
    assert sb.seeded["late"] is more
    assert list(sb.seeded) == ["me", "late"]


async def test_print_env_prints_a_shell_file_a_client_runs_from() -> None:
    argv = ("--port", "0", "--latency", "0.01", "--user", "me:s3 cret", "--devices", "2")
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "privicore_async.sandbox", *argv, "--print-env"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    exports: dict[str, str] = {}
    lines: list[str] = []
    try:
        while "PRIVICORE_SANDBOX_ADMIN_TOKEN" not in exports:
            line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
            assert line, "the sandbox ended before printing its environment"
            lines.append(line)
            if line.startswith("export "):
                [assignment] = shlex.split(line[len("export ") :])
                name, _, value = assignment.partition("=")
                exports[name] = value
            else:
                assert line.startswith("# privicore sandbox "), line  # all of it is shell
        assert set(exports) == {
            "PRIVICORE_API_URL",
            "PRIVICORE_WS_URL",
            "PRIVICORE_UPSTREAM_URL",
            "PRIVICORE_DOWNSTREAM_URL",
            "PRIVICORE_USERNAME",
            "PRIVICORE_PASSWORD",
            "PRIVICORE_DEVICE_IDS",
            "PRIVICORE_SANDBOX_ADMIN_TOKEN",
        }
        assert exports["PRIVICORE_PASSWORD"] == "s3 cret"  # quoted for the shell, and back
        device_ids = exports["PRIVICORE_DEVICE_IDS"].split()
        assert len(device_ids) == 2
        assert any(
            line == f"# privicore sandbox seeded user me: devices {' '.join(device_ids)}\n"
            for line in lines
        )
        saved = dict(os.environ)
        os.environ.update(exports)
        try:
            async with PrivicoreClient(poll=FAST) as client:  # everything from the environment
                assert client.ws_url == exports["PRIVICORE_WS_URL"]
                results = await gather(*[await client.storage.sync_device(d) for d in device_ids])
        finally:
            os.environ.clear()
            os.environ.update(saved)
        assert [r.status for r in results] == [CommandStatus.SUCCEEDED] * 2
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.communicate()
    assert proc.returncode == 0


def test_a_user_without_a_password_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from privicore_async.sandbox import process

    with pytest.raises(SystemExit) as exited:
        process.main(["--user", "me"])
    assert exited.value.code == 2
    assert "USERNAME:PASSWORD" in capsys.readouterr().err


# -- the command line builds the sandbox it describes ------------------------------------------


def _from_argv(*argv: str) -> Sandbox:
    from privicore_async.sandbox import process

    return process.from_args(process.parser().parse_args(list(argv)))


def test_the_command_line_defaults_are_the_real_wire() -> None:
    sb = _from_argv()
    assert (sb.settings.id_shape, sb.settings.id_header, sb.settings.status_shape) == (
        "json-string",
        False,
        "string",
    )
    assert sb._channel._progress is None
    assert sb._alternative_routes is False
    assert sb.seeded == {}


def test_the_command_line_turns_the_variety_on() -> None:
    sb = _from_argv(
        "--id-shape=mixed",
        "--id-header",
        "--status-shape=object",
        "--ws-progress-interval=0.5",
        "--alternative-routes=only",
        "--user=me:pw",
        "--user=you:pw2",
        "--devices=2",
    )
    assert (sb.settings.id_shape, sb.settings.id_header, sb.settings.status_shape) == (
        "mixed",
        True,
        "object",
    )
    assert sb._channel._progress == 0.5
    assert sb._alternative_routes == "only"
    assert [(u.username, len(u.device_ids)) for u in sb.seeded.values()] == [("me", 2), ("you", 2)]
