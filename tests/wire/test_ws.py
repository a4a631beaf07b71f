"""wire/ws.py: the WebSocket frames, written by the sandbox's builders and read by the client's."""

from __future__ import annotations

import json

import pytest

from privicore_async.wire.status import CommandStatus
from privicore_async.wire.ws import (
    JOIN_ACTION,
    KEEP_ALIVE_FRAME,
    Ack,
    ClientFrame,
    JoinAnswer,
    RequestMessage,
    ack_frame,
    join_frame,
    load_frame,
    read_client_frame,
    read_join_answer,
    read_message,
    reply_frame,
    request_frame,
    stream_ready_frame,
)


def test_the_join_frame_is_the_documented_one_and_reads_back() -> None:
    text = join_frame("T-secret", "corr-1")
    assert json.loads(text) == {
        "action": "joinChannel",
        "data": {"authorizationToken": "T-secret"},
        "correlationId": "corr-1",
    }
    frame = read_client_frame(text)
    assert isinstance(frame, ClientFrame)
    assert (frame.action, frame.token, frame.correlation_id) == (JOIN_ACTION, "T-secret", "corr-1")
    assert "T-secret" not in repr(frame)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("{not json", "Malformed JSON."), ("[1, 2]", "Expected a JSON object.")],
)
def test_a_client_frame_that_is_not_an_object_is_refused(text: str, reason: str) -> None:
    assert read_client_frame(text) == reason


@pytest.mark.parametrize(
    ("frame", "answer"),
    [
        (reply_frame("c", 200, {"channelId": "ch-1", "message": "joined"}), JoinAnswer.JOINED),
        (reply_frame(None, 401, {"message": "Unauthorized"}), JoinAnswer.REFUSED),
        (reply_frame("c", 200, {"message": "no channel id"}), JoinAnswer.OTHER),
        (KEEP_ALIVE_FRAME, JoinAnswer.OTHER),
        ("not json", JoinAnswer.OTHER),
    ],
)
def test_join_answers(frame: str, answer: JoinAnswer) -> None:
    assert read_join_answer(load_frame(frame)) is answer


@pytest.mark.parametrize(
    "status", [CommandStatus.PENDING, CommandStatus.SUCCEEDED, CommandStatus.REJECTED]
)
def test_acks_round_trip_with_their_codes(status: CommandStatus) -> None:
    text = ack_frame("cmd-1", status, "reason")
    code = {CommandStatus.PENDING: 1, CommandStatus.SUCCEEDED: 2, CommandStatus.REJECTED: 3}
    data = json.loads(text)["data"]
    assert (data["type"], data["id"], data["command_status"]) == (
        "X-DPT-CAB-ID",
        "cmd-1",
        code[status],
    )
    body = None if status is CommandStatus.PENDING else "reason"  # progress carries no body
    assert read_message(load_frame(text)) == Ack("cmd-1", status, body)


def test_request_and_stream_ready_messages_round_trip() -> None:
    answer = read_message(load_frame(request_frame("r-1", 1, "dl-token", "ctx")))
    assert answer == RequestMessage("X-DPT-CAB-REQUEST-ID", "r-1", 1, "dl-token", "ctx")
    assert "dl-token" not in repr(answer)
    ready = read_message(load_frame(stream_ready_frame("r-1", "http://down/?auth=x")))
    assert isinstance(ready, RequestMessage)
    assert (ready.type, ready.request_id, ready.stream_url) == (
        "STREAM-READY",
        "r-1",
        "http://down/?auth=x",
    )
    # The id may come as requestId only (one source says so).
    only = {"data": {"type": "STREAM-READY", "requestId": "r-2"}}
    assert read_message(only) == RequestMessage("STREAM-READY", "r-2")


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "text",
        {"data": "not an object"},
        {"data": {"type": "keep-alive"}},
        {"data": {"type": "telemetry", "id": "c"}},
        {"data": {"type": "X-DPT-CAB-ID", "id": "c", "command_status": 9}},
        {"data": {"type": "X-DPT-CAB-ID", "id": "c", "command_status": True}},
        {"data": {"type": "X-DPT-CAB-ID", "id": 5, "command_status": 2}},
        {"data": {"type": "X-DPT-CAB-REQUEST-ID", "output_type": 0}},
    ],
)
def test_frames_that_are_not_for_the_client_read_as_none(payload: object) -> None:
    assert read_message(payload) is None


def test_deeply_nested_json_is_not_a_frame() -> None:
    assert load_frame("[" * 100_000 + "]" * 100_000) is None
