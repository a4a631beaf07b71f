"""``privicore`` against a Privicore: the command line as an OS process, the sandbox as another.

One sandbox process serves the whole module (user ``me`` with three storage devices); every
command runs as ``python -m privicore_async.cli`` with the environment a user's shell would
have. Every run checks that neither the password nor the sandbox's admin token ever shows.
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs
import pytest

from privicore_async import PrivicoreClient
from privicore_async.cli import main
from privicore_async.sandbox import SandboxProcess

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pw-7f3a9c-never-shown"
CLOSED_PORT_URL = "http://127.0.0.1:9"  # discard: nothing listens there on a test machine


@attrs.frozen
class Run:
    code: int
    out: str
    err: str

    def json_lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.out.splitlines()]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxProcess]:
    with SandboxProcess("--user", f"me:{PASSWORD}", "--devices", "3", latency=0.02) as child:
        yield child


@pytest.fixture(scope="module")
def devices(sandbox: SandboxProcess) -> tuple[str, ...]:
    return sandbox.seeded["me"]


def base_env() -> dict[str, str]:
    """This environment without any PRIVICORE_* of a developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVICORE_")}
    return {**env, "PYTHONPATH": str(ROOT)}


def api_env(sb: SandboxProcess, **overrides: str | None) -> dict[str, str]:
    """What `privicore sandbox --print-env` would have a user export, changed by ``overrides``
    (``None`` removes a variable)."""
    env = base_env() | {
        "PRIVICORE_API_URL": sb.api_url,
        "PRIVICORE_WS_URL": sb.ws_url,
        "PRIVICORE_UPSTREAM_URL": sb.upstream_url,
        "PRIVICORE_DOWNSTREAM_URL": sb.downstream_url,
        "PRIVICORE_USERNAME": "me",
        "PRIVICORE_PASSWORD": PASSWORD,
    }
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def privicore(
    *argv: str,
    env: Mapping[str, str],
    input: str | None = None,
    timeout: float = 30,
    secrets: tuple[str, ...] = (PASSWORD,),
) -> Run:
    """Run the command line; standard input is empty unless ``input`` is given."""
    done = subprocess.run(
        [sys.executable, "-m", "privicore_async.cli", *argv],
        env=dict(env),
        cwd=ROOT,
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    for secret in secrets:
        assert secret not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return Run(done.returncode, done.stdout, done.stderr)


def privicores(*argvs: tuple[str, ...], env: Mapping[str, str]) -> list[Run]:
    """Run several command lines at once (they are independent); their runs, in order."""
    with ThreadPoolExecutor(len(argvs)) as pool:
        return list(pool.map(lambda argv: privicore(*argv, env=env), argvs))


def on_terminal(*argv: str, env: Mapping[str, str], answer: bytes | None = None) -> Run:
    """Run with stderr (and stdin) on a pseudo-terminal; ``err`` is what the terminal showed.

    With ``answer``, it is typed once the terminal shows a password prompt.
    """
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "privicore_async.cli", *argv],
        env=dict(env),
        cwd=ROOT,
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=terminal,
        start_new_session=True,  # no controlling terminal: getpass uses stdin, the pty
    )
    os.close(terminal)
    shown = b""
    typed = answer is None
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # the child closed its end
                    break
                if not chunk:
                    break
                shown += chunk
            if not typed and b"Password for me: " in shown:
                assert answer is not None
                os.write(controller, answer)
                typed = True
            if process.poll() is not None and not ready:
                break
        assert process.stdout is not None
        out = process.stdout.read().decode()
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close() if process.stdout else None
        os.close(controller)
    text = shown.decode(errors="replace")
    assert PASSWORD not in out + text
    assert "Traceback" not in text
    return Run(code, out, text)


async def pending_command(sb: SandboxProcess, device: str) -> str:
    """The id of a sync that stays pending for a minute (the sandbox's latency raised for it)."""
    async with sb.admin() as admin:
        await admin.set_latency(60)
        try:
            async with PrivicoreClient(sb.api_url, username="me", password=PASSWORD) as client:
                handle = await client.storage.sync_device(device)
        finally:
            await admin.set_latency(0.02)
    assert handle.command_id is not None
    return handle.command_id


# -- the help ----------------------------------------------------------------------------


def test_help_documents_the_exit_statuses_and_the_environment(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    table = text[text.index("exit status:") :]
    for code, meaning in [
        (0, "done"),
        (1, "rejected or failed"),
        (2, "usage"),
        (3, "authentication"),
        (4, "unreachable"),
        (130, "interrupted"),
    ]:
        assert any(
            line.split()[:1] == [str(code)] and meaning in line for line in table.splitlines()
        )
    assert "PRIVICORE_PASSWORD" in text
    for command in ("health", "status", "wait", "devices", "storage", "sync", "store", "retrieve"):
        assert command in text


# -- reads -------------------------------------------------------------------------------


def test_health_human_and_json_and_without_login(sandbox: SandboxProcess) -> None:
    env = api_env(sandbox)
    human, document = privicores(("health",), ("--json", "health"), env=env)
    assert human.code == 0, human.err
    assert human.out.startswith(f"{sandbox.api_url}: ok (")
    assert document.code == 0, document.err
    health = json.loads(document.out)
    assert (health["status"], health["healthy"], health["api_url"]) == ("ok", True, sandbox.api_url)
    assert set(health) == {"api_url", "status", "healthy", "seconds", "details"}
    env = api_env(sandbox, PRIVICORE_USERNAME=None, PRIVICORE_PASSWORD=None)
    assert privicore("health", env=env).code == 0  # no login needed


def test_devices_and_storage_list_human_and_json(
    sandbox: SandboxProcess, devices: tuple[str, ...]
) -> None:
    human, document, storage_human, storage_document = privicores(
        ("devices", "list"),
        ("devices", "list", "--json"),
        ("storage", "list"),
        ("--json", "storage", "list"),
        env=api_env(sandbox),
    )
    assert human.code == 0, human.err
    header, *rows = human.out.splitlines()
    assert header.split() == ["IDENTIFIER", "NAME", "STATUS", "CREATED", "AT"]
    assert [row.split()[0] for row in rows] == list(devices)
    assert document.code == 0, document.err
    listed = json.loads(document.out)
    assert [d["device_identifier"] for d in listed] == list(devices)
    assert set(listed[0]) == {"device_identifier", "name", "status", "created_at"}

    assert storage_human.code == 0, storage_human.err
    header, *rows = storage_human.out.splitlines()
    assert header.split() == ["IDENTIFIER", "NAME", "ONLINE", "REGISTERED", "AT"]
    assert {row.split()[2] for row in rows} == {"yes"}
    listed = json.loads(storage_document.out)
    assert [d["device_identifier"] for d in listed] == list(devices)
    assert {d["online"] for d in listed} == {True}
    assert set(listed[0]) == {"device_identifier", "name", "online", "registered_at"}


# -- where and who -----------------------------------------------------------------------


def test_options_win_over_the_environment(sandbox: SandboxProcess) -> None:
    env = api_env(sandbox, PRIVICORE_API_URL=CLOSED_PORT_URL, PRIVICORE_USERNAME="nobody")
    url = sandbox.api_url
    before, after, sync = privicores(
        ("--api-url", url, "--username", "me", "storage", "list"),
        # After the command name, an option wins over the same one before it.
        ("--api-url", CLOSED_PORT_URL, "storage", "list", "--api-url", url, "--username", "me"),
        # The old place of sync's own options still works.
        ("sync", "--api-url", url, "--username", "me", "--json", "none-1"),
        env=env,
    )
    assert before.code == 0, before.err
    assert after.code == 0, after.err
    assert sync.json_lines()[-1]["total"] == 1


def test_no_password_and_no_terminal_exits_3(sandbox: SandboxProcess) -> None:
    no_password = api_env(sandbox, PRIVICORE_PASSWORD=None)
    no_username = api_env(sandbox, PRIVICORE_USERNAME=None)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(privicore, "devices", "list", env=no_password)
        second = pool.submit(privicore, "devices", "list", env=no_username)
    run = first.result()
    assert (run.code, run.out) == (3, "")
    assert "no password: set PRIVICORE_PASSWORD" in run.err
    run = second.result()
    assert run.code == 3
    assert "no username: give --username or set PRIVICORE_USERNAME" in run.err


def test_the_password_is_asked_on_a_terminal(sandbox: SandboxProcess) -> None:
    env = api_env(sandbox, PRIVICORE_PASSWORD=None)
    run = on_terminal("storage", "list", "--json", env=env, answer=PASSWORD.encode() + b"\n")
    assert run.code == 0, run.err
    assert "Password for me: " in run.err
    assert len(json.loads(run.out)) == 3


def test_bad_credentials_exit_3(sandbox: SandboxProcess) -> None:
    listing, sync = privicores(
        ("devices", "list"),
        ("sync", "a", "b"),  # the login is checked first: not one failed line per device
        env=api_env(sandbox, PRIVICORE_PASSWORD="wrong-one"),
    )
    assert listing.code == 3
    assert listing.err.startswith("privicore devices list: authentication failed: ")
    assert (sync.code, sync.out) == (3, "")


def test_an_unreachable_api_exits_4_fast() -> None:
    env = base_env() | {"PRIVICORE_USERNAME": "me", "PRIVICORE_PASSWORD": PASSWORD}
    started = time.monotonic()
    login, health = privicores(
        ("--api-url", CLOSED_PORT_URL, "--retry-time", "1", "storage", "list"),
        ("health", "--retry-time", "0", "--api-url", CLOSED_PORT_URL),
        env=env,
    )
    assert time.monotonic() - started < 5
    assert login.code == 4
    assert "privicore storage list: cannot reach the API: " in login.err
    assert health.code == 4


@pytest.mark.parametrize(
    "argv",
    [
        ["status"],  # no id
        ["wait", "c-1", "--timeout", "0"],
        ["sync"],  # no devices
        ["sync", "dev-1", "--from", "ids.txt"],
        ["sync", "dev-1", "--run-id", "r"],  # a run id needs a journal
        ["sync", "dev-1", "--journal", "j.db"],  # a journal needs a run id
        ["sync", "--status"],
        ["health", "--password", "x"],  # never an option
        ["store", "missing.bin", "--key-file", "k.key"],
        ["store", "-", "--key-file", "k.key"],  # stdin needs --name
        ["store", "ids.txt", "--key-file", "missing.key"],
        ["store", "ids.txt", "--key-file", "ids.txt"],  # not a key file
        ["retrieve", "dtk-1", "--key-file", "k.key"],  # no -o
        ["retrieve", "dtk-1", "--key-file", "k.key", "-o", "-", "--json"],  # stdout has the data
        ["retrieve", "dtk-1", "--key-file", "k.key", "-o", "out"],  # no WebSocket URL
        ["retrieve", "dtk-1", "--key-file", "k.key", "-o", "no/such/dir/out"],
        ["keygen"],
        ["devices"],
        ["--api-url", "ftp://example.test", "health"],
        ["health"],  # no API URL
    ],
)
def test_usage_errors_exit_2(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in [n for n in os.environ if n.startswith("PRIVICORE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ids.txt").write_text("dev-1\n")
    (tmp_path / "k.key").write_text("11" * 32)
    (tmp_path / "k.key").chmod(0o600)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "usage: privicore" in err
    assert "Traceback" not in err


def test_a_usage_error_of_the_console_script_exits_2() -> None:
    run = privicore("sync", env=base_env())
    assert run.code == 2
    assert "privicore sync: error: give device ids, or --from FILE" in run.err


# -- sync --------------------------------------------------------------------------------


async def test_a_sync_with_an_offline_and_an_unknown_device(
    sandbox: SandboxProcess, devices: tuple[str, ...], tmp_path: Path
) -> None:
    offline, *online = devices
    env = api_env(sandbox)
    async with sandbox.admin() as admin:
        await admin.set_device_online(offline, False)
        try:
            ids = "\n".join([*devices, "unknown-device-1", online[0]]) + "\n"  # one repeat
            run = await asyncio.to_thread(
                privicore, "sync", "--from", "-", "--json", "--concurrency", "2", env=env, input=ids
            )
            (tmp_path / "ids.txt").write_text(ids)
            human = await asyncio.to_thread(
                privicore, "sync", "--from", str(tmp_path / "ids.txt"), "--timeout", "20", env=env
            )
        finally:
            await admin.set_device_online(offline, True)
    assert run.code == 1, run.err
    *lines, summary = run.json_lines()
    assert [line["device_identifier"] for line in lines] == [*devices, "unknown-device-1"]
    outcomes = {line["device_identifier"]: line["outcome"] for line in lines}
    assert outcomes == {
        offline: "rejected",
        online[0]: "succeeded",
        online[1]: "succeeded",
        "unknown-device-1": "rejected",
    }
    assert {line["type"] for line in lines} == {"device"}
    assert all(isinstance(line["command_id"], str) for line in lines)
    assert set(lines[0]) == {
        "type",
        "device_identifier",
        "outcome",
        "command_id",
        "reason",
        "source",
    }
    assert summary["type"] == "summary"
    assert (summary["total"], summary["succeeded"], summary["rejected"]) == (4, 2, 2)
    assert summary["all_succeeded"] is False
    assert "1 repeated device id(s) left out" in run.err
    assert "[" not in run.err  # no progress with --json

    assert human.code == 1, human.err
    assert human.out.startswith("sync: 4 devices\n  succeeded  2\n  rejected   2\n")
    assert "not synchronised\n" in human.out
    assert f"  {offline}: rejected" in human.out
    assert "  unknown-device-1: rejected" in human.out
    assert human.err.splitlines()[-1].startswith("sync    [##############################]  4/4")


def test_a_sync_where_every_device_synchronises_exits_0(
    sandbox: SandboxProcess, devices: tuple[str, ...]
) -> None:
    run = privicore("sync", *devices, env=api_env(sandbox))
    assert run.code == 0, run.err
    assert run.out.startswith("sync: 3 devices\n  succeeded  3\n")
    assert "not synchronised" not in run.out


def test_a_journaled_run_and_its_status_in_json(
    sandbox: SandboxProcess, devices: tuple[str, ...], tmp_path: Path
) -> None:
    env = api_env(sandbox)
    journal = ("--run-id", "r1", "--journal", str(tmp_path / "run.db"))
    run = privicore("--json", "sync", *devices, "unknown-device-3", *journal, env=env)
    assert run.code == 1, run.err
    *lines, summary = run.json_lines()
    assert [line["source"] for line in lines] == ["submitted"] * 4
    assert (summary["run_id"], summary["succeeded"], summary["rejected"]) == ("r1", 3, 1)
    status = privicore("sync", *journal, "--status", "--json", env=env)
    assert status.code == 1
    document = json.loads(status.out)
    assert (document["type"], document["total"], document["succeeded"]) == ("summary", 4, 3)


# -- status and wait ---------------------------------------------------------------------


def test_status_and_wait_of_settled_commands(
    sandbox: SandboxProcess, devices: tuple[str, ...]
) -> None:
    env = api_env(sandbox)
    lines = privicore("sync", devices[0], "unknown-device-2", "--json", env=env).json_lines()
    succeeded, rejected = (str(line["command_id"]) for line in lines[:2])
    status, status_json, wait, wait_json, unknown = privicores(
        ("status", succeeded),
        ("status", rejected, "--json"),
        ("wait", succeeded),
        ("--json", "wait", rejected),
        ("status", "no-such-command"),
        env=env,
    )
    assert (status.code, status.out) == (0, f"command {succeeded}: succeeded\n")
    assert status_json.code == 1
    assert json.loads(status_json.out) == {
        "command_id": rejected,
        "status": "rejected",
        "body": None,
    }
    assert (wait.code, wait.out) == (0, f"command {succeeded}: succeeded\n")
    assert wait_json.code == 1
    document = json.loads(wait_json.out)
    assert set(document) == {"command_id", "status", "body", "timed_out", "seconds"}
    assert (document["status"], document["timed_out"]) == ("rejected", False)
    assert unknown.code == 1
    assert "privicore status: command no-such-command: not found" in unknown.err


async def test_wait_follows_a_pending_command_until_its_timeout(
    sandbox: SandboxProcess, devices: tuple[str, ...]
) -> None:
    command_id = await pending_command(sandbox, devices[1])
    status, run = await asyncio.to_thread(
        privicores,
        ("status", command_id, "--json"),
        ("wait", command_id, "--timeout", "0.5"),
        env=api_env(sandbox),
    )
    assert (status.code, json.loads(status.out)["status"]) == (0, "pending")
    assert run.code == 1
    assert run.out == f"command {command_id}: pending (not settled after 0.5 s)\n"


async def test_ctrl_c_during_a_long_wait_exits_130(
    sandbox: SandboxProcess, devices: tuple[str, ...]
) -> None:
    command_id = await pending_command(sandbox, devices[2])
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "privicore_async.cli", "wait", command_id),
        env=api_env(sandbox),
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await asyncio.sleep(1.5)  # logged in and following the command
        assert process.returncode is None
        process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), 15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 130
    assert err.decode() == "privicore wait: interrupted\n"
    assert out == b""


# -- the vault and its keys --------------------------------------------------------------


def test_store_then_retrieve_gives_the_same_bytes(sandbox: SandboxProcess, tmp_path: Path) -> None:
    env = api_env(sandbox)
    key_file = tmp_path / "data.key"
    assert main(["keygen", str(key_file)]) == 0
    secret = json.loads(key_file.read_text())["key"]
    originals = {}
    for method, size in (("exchange", 1_000), ("upload", 120_000)):  # inline, or streamed
        originals[method] = tmp_path / f"report-{method}.pdf"
        originals[method].write_bytes(os.urandom(size))
    small, large, human = privicores(
        ("store", str(originals["exchange"]), "--key-file", str(key_file), "--json"),
        ("--json", "store", str(originals["upload"]), "--key-file", str(key_file)),
        ("store", str(originals["upload"]), "-k", str(key_file), "--name", "r.pdf"),
        env=env,
    )
    stored = {}
    for run, method in ((small, "exchange"), (large, "upload")):
        assert run.code == 0, run.err
        stored[method] = json.loads(run.out)
        assert set(stored[method]) == {
            "token",
            "size",
            "context",
            "file_name",
            "extension",
            "path",
            "method",
        }
        size = originals[method].stat().st_size
        assert (stored[method]["size"], stored[method]["method"]) == (size, method)
        assert stored[method]["file_name"] == originals[method].name
    assert human.code == 0, human.err
    assert human.out.startswith("stored 120,000 bytes of r.pdf (upload)\ntoken: dtk-")

    other_key = tmp_path / "other.key"
    other_key.write_text("00" * 32)  # a bare DataKey.to_hex() is a key file too
    other_key.chmod(0o600)
    copies = {method: tmp_path / f"copy-{method}.pdf" for method in stored}
    wrong = tmp_path / "wrong.pdf"
    *fetched, wrong_key = privicores(
        *(
            ("retrieve", stored[method]["token"], "-k", str(key_file), "-o", str(copies[method]))
            for method in stored
        ),
        ("retrieve", stored["upload"]["token"], "-k", str(other_key), "-o", str(wrong)),
        env=env,
    )
    for run, method in zip(fetched, stored, strict=True):
        assert run.code == 0, run.err
        size = originals[method].stat().st_size
        assert run.out == f"wrote {size:,} bytes to {copies[method]}\n"
        assert copies[method].read_bytes() == originals[method].read_bytes()
        assert secret not in run.out + run.err
    assert wrong_key.code == 1
    assert "privicore retrieve: cannot decrypt" in wrong_key.err
    assert not wrong.exists()  # nothing partial, nothing at all

    to_stdout = ("-k", str(key_file), "-o", "-")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "privicore_async.cli",
            "retrieve",
            stored["upload"]["token"],
            *to_stdout,
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, originals["upload"].read_bytes())
    for output in (small.out, large.out, human.out, done.stderr.decode()):
        assert secret not in output


def test_keygen_writes_0600_and_never_overwrites_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "k.key"
    assert main(["keygen", str(key_file)]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith(f"wrote a new data key to {key_file} (mode 0600)")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_text()
    assert json.loads(first)["type"] == "privicore-data-key"
    assert json.loads(first)["key"] not in out

    assert main(["keygen", str(key_file), "--json"]) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"privicore keygen: {key_file} exists: --force replaces it\n")
    assert key_file.read_text() == first

    key_file.chmod(0o644)
    assert main(["keygen", str(key_file), "--force", "--json"]) == 0
    out, _ = capsys.readouterr()
    assert json.loads(out) == {
        "key_file": str(key_file),
        "mode": "0600",
        "type": "privicore-data-key",
    }
    assert key_file.read_text() != first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    pair_file = tmp_path / "pair.key"
    assert main(["--json", "keygen", "--pair", str(pair_file)]) == 0
    out, _ = capsys.readouterr()
    written = json.loads(pair_file.read_text())
    assert json.loads(out)["signed_public_key"] == written["signed_public_key"]
    assert len(written["signed_public_key"]) == 200
    assert written["private_key"] not in out
    assert stat.S_IMODE(pair_file.stat().st_mode) == 0o600
    # A key pair seals nothing: store and retrieve want a data key.
    assert main(["store", str(pair_file), "--key-file", str(pair_file)]) == 2
    assert "holds a key pair, not a data key" in capsys.readouterr().err


def test_a_key_file_others_can_read_is_used_with_a_warning(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    key_file = tmp_path / "k.key"
    key_file.write_text("ab" * 32)
    key_file.chmod(0o644)
    data = tmp_path / "d.txt"
    data.write_text("hello")
    run = privicore("store", str(data), "--key-file", str(key_file), env=api_env(sandbox))
    assert run.code == 0, run.err
    assert f"privicore: warning: {key_file} can be read by other users" in run.err


# -- pipes, and rich or not --------------------------------------------------------------


def test_a_closed_pipe_is_quiet(sandbox: SandboxProcess) -> None:
    env = api_env(sandbox)
    ids = "".join(f"unknown-{n}\n" for n in range(300))  # ~50 KB of JSON lines
    process = subprocess.Popen(
        [sys.executable, "-m", "privicore_async.cli", "sync", "--from", "-", "--json"],
        env=env,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    assert process.stderr is not None
    process.stdin.write(ids.encode())
    process.stdin.close()
    process.stdout.close()  # the reader is gone before the first line
    err = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=30) == 0
    assert err == b""

    done = subprocess.run(
        [
            "bash",
            "-o",
            "pipefail",
            "-c",
            f"{sys.executable} -m privicore_async.cli devices list | head -1",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("IDENTIFIER")


def test_a_terminal_shows_rich_progress_when_rich_is_installed(
    sandbox: SandboxProcess, devices: tuple[str, ...]
) -> None:
    pytest.importorskip("rich", reason="the cli extra is not installed")
    run = on_terminal("sync", *devices, env=api_env(sandbox))
    assert run.code == 0, run.err
    assert "━" in run.err  # rich's bar
    assert run.out.startswith("sync: 3 devices\n")


def test_every_command_works_without_rich(
    sandbox: SandboxProcess, devices: tuple[str, ...], tmp_path: Path
) -> None:
    no_rich = tmp_path / "no-rich"
    no_rich.mkdir()
    (no_rich / "rich.py").write_text("raise ImportError('rich is not installed')\n")
    env = api_env(sandbox) | {"PYTHONPATH": f"{no_rich}{os.pathsep}{ROOT}"}
    key_file = tmp_path / "k.key"
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(60_000))
    with ThreadPoolExecutor(4) as pool:
        # On a terminal, where rich would be used if it could be imported.
        sync = pool.submit(on_terminal, "sync", *devices, env=env)
        keygen = pool.submit(privicore, "keygen", str(key_file), env=env)
        health = pool.submit(privicore, "health", env=env)
        listing = pool.submit(privicore, "--json", "devices", "list", env=env)
        assert keygen.result().code == 0
        store = pool.submit(on_terminal, "store", str(data), "-k", str(key_file), env=env)
    run = sync.result()
    assert run.code == 0, run.err
    assert "sync    [##############################]  3/3" in run.err
    assert "━" not in run.err
    run = store.result()
    assert run.code == 0, run.err
    assert "store   [##############################]  60000/60000" in run.err
    assert health.result().code == 0
    assert listing.result().code == 0
