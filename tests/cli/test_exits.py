"""The parts of ``privicore`` that need no server: the exit-status table, JSON output, key
files and the connection options (in process)."""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import stat
from pathlib import Path

import attrs
import pytest

from privicore_async.cli import build_parser
from privicore_async.cli.connection import DEFAULT_RETRY_TIME, Connection
from privicore_async.cli.exits import (
    CommandFailed,
    ExitCode,
    epilog,
    exit_code_for,
    failure_message,
)
from privicore_async.cli.keys import read_data_key, write_key_file
from privicore_async.cli.output import Output, jsonable, table
from privicore_async.crypto import DataKey
from privicore_async.errors import (
    AuthenticationError,
    CommandRejected,
    DecryptionError,
    InvalidArgumentError,
    NotFoundError,
    TransportError,
)
from privicore_async.results import SyncOutcome


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (AuthenticationError(401, "no"), ExitCode.AUTHENTICATION),
        (TransportError("refused", may_have_arrived=False), ExitCode.UNREACHABLE),
        (InvalidArgumentError("api_url", "must be absolute"), ExitCode.USAGE),
        (NotFoundError(404), ExitCode.FAILED),
        (CommandRejected("c-1", "device.offline"), ExitCode.FAILED),
        (DecryptionError("wrong key"), ExitCode.FAILED),
        (FileNotFoundError(2, "No such file or directory", "x.bin"), ExitCode.FAILED),
        (CommandFailed("no password", ExitCode.AUTHENTICATION), ExitCode.AUTHENTICATION),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED),
        (ExceptionGroup("g", [ValueError("bug"), TransportError("x")]), ExitCode.UNREACHABLE),
        (ValueError("a bug"), None),
        (ExceptionGroup("g", [ValueError("bug")]), None),
    ],
)
def test_each_expected_failure_has_its_exit_status(
    error: BaseException, code: ExitCode | None
) -> None:
    assert exit_code_for(error) == code


def test_the_message_says_what_the_status_means() -> None:
    assert failure_message(AuthenticationError(401, "bad")).startswith("authentication failed: ")
    assert failure_message(TransportError("refused")) == "cannot reach the API: refused"
    missing = FileNotFoundError(2, "No such file or directory", "x.bin")
    assert failure_message(missing) == "x.bin: No such file or directory"
    group = ExceptionGroup("g", [TransportError("down")])
    assert failure_message(group) == "cannot reach the API: down"


def test_the_epilog_lists_every_status_once() -> None:
    text = epilog()
    assert text.startswith("exit status:\n")
    assert [int(line.split()[0]) for line in text.splitlines()[1:]] == [c.value for c in ExitCode]


def test_json_leaves_out_what_a_repr_hides() -> None:
    @attrs.frozen
    class Bundle:
        client_id: str
        client_secret: str = attrs.field(repr=False)
        when: datetime.datetime = datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC)
        outcome: SyncOutcome = SyncOutcome.TIMED_OUT

    value = jsonable([Bundle("id-1", "s3cr3t")])
    assert value == [
        {"client_id": "id-1", "when": "2024-01-02T00:00:00+00:00", "outcome": "timed_out"}
    ]
    stream = io.StringIO()
    Output(stream, json_mode=True).record({"key": DataKey.generate()})
    assert json.loads(stream.getvalue()) == {"key": {}}  # a key's secret is repr=False


def test_table_aligns_columns_and_shows_missing_cells() -> None:
    assert table(["ID", "ONLINE"], [("dev-1", True), ("d2", None)]) == [
        "ID     ONLINE",
        "dev-1  yes",
        "d2     -",
    ]


def test_key_files_read_back_and_never_exist_with_other_permissions(tmp_path: Path) -> None:
    key = DataKey.generate()
    path = tmp_path / "k.key"
    old = os.umask(0)  # a permissive umask: the file is 0600 all the same
    try:
        write_key_file(
            path, json.dumps({"type": "privicore-data-key", "key": key.to_hex()}), force=False
        )
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    err = io.StringIO()
    assert read_data_key(str(path), err) == key
    assert err.getvalue() == ""
    with pytest.raises(CommandFailed) as refused:
        write_key_file(path, "x", force=False)
    assert refused.value.code is ExitCode.FAILED
    path.write_text(key.to_hex() + "\n")  # the bare hex form
    path.chmod(0o640)
    assert read_data_key(str(path), err) == key
    assert "can be read by other users" in err.getvalue()
    for text in ("not hex", '{"type": "other"}', '{"type": "privicore-data-key", "key": "ab"}'):
        path.write_text(text)
        with pytest.raises(CommandFailed) as bad:
            read_data_key(str(path), err)
        assert bad.value.code is ExitCode.USAGE
        assert text not in str(bad.value)  # a key file's content is never quoted


def test_connection_options_resolve_flags_then_environment() -> None:
    parser = build_parser()
    args = parser.parse_args(["--username", "a", "health", "--api-url", "http://h.test"])
    env = {"PRIVICORE_USERNAME": "b", "PRIVICORE_PASSWORD": "pw"}
    connection = Connection.from_args(args, environ=env, stdin=io.StringIO())
    assert (connection.api_url, connection.username) == ("http://h.test", "a")
    assert connection.retry_time == DEFAULT_RETRY_TIME
    assert "pw" not in repr(connection)
    args = parser.parse_args(["health"])
    connection = Connection.from_args(args, environ=env | {"PRIVICORE_API_URL": "http://e.test"})
    assert (connection.api_url, connection.username) == (None, "b")  # the client reads the env
    with pytest.raises(CommandFailed) as failed:
        Connection.from_args(
            args, environ={"PRIVICORE_API_URL": "http://e.test"}, stdin=io.StringIO()
        )
    assert failed.value.code is ExitCode.AUTHENTICATION
    assert (
        Connection.from_args(args, login=False, environ={"PRIVICORE_API_URL": "x"}).login is False
    )


def test_a_subcommand_option_is_kept_unless_given_again() -> None:
    parser = build_parser()
    args = parser.parse_args(["--json", "--ws-url", "ws://a.test", "devices", "list"])
    assert (args.json, args.ws_url) == (True, "ws://a.test")
    args = parser.parse_args(["--ws-url", "ws://a.test", "sync", "d", "--ws-url", "ws://b.test"])
    assert (args.json, args.ws_url) == (False, "ws://b.test")
    assert isinstance(args, argparse.Namespace)
