"""resources/devices.py: device identifiers, lists and configuration on the wire."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from privicore_async import errors
from privicore_async.models import Device, DeviceConfiguration
from tests.client_helpers import QUIET, assert_form_call, assert_get_call, make_client
from tests.wire_mock import API, all_calls, calls, mock_http


async def test_configure_meta_omits_name_when_none() -> None:
    with mock_http() as m:
        m.post(API + "/device/configure-meta", status=202, body='"cmd-1"')
        async with make_client(poll=QUIET) as c:
            await c.devices.configure_meta("dev-1")
    assert_form_call(calls(m, "POST", "/device/configure-meta")[0], {"deviceIdentifier": "dev-1"})


@pytest.mark.parametrize(
    ("answer", "expected"),
    [({"deviceIdentifier": "dev-77"}, "dev-77"), ("dev-78", "dev-78"), ('"dev-79"', "dev-79")],
    ids=["object", "bare-text", "json-string"],
)
async def test_retrieve_unique_identifier(answer: Any, expected: str) -> None:
    with mock_http() as m:
        if isinstance(answer, str):
            m.post(API + "/device/retrieve-unique-identifier", body=answer)
        else:
            m.post(API + "/device/retrieve-unique-identifier", payload=answer)
        async with make_client() as c:
            assert await c.devices.retrieve_unique_identifier("cmd-1") == expected
    (call,) = calls(m, "POST", "/device/retrieve-unique-identifier")
    assert_form_call(call, {"id": "cmd-1"})


@pytest.mark.parametrize("answer", [{"deviceId": "x"}, {"deviceIdentifier": " "}, [], None])
async def test_retrieve_unique_identifier_bad_answer(answer: Any) -> None:
    with mock_http() as m:
        m.post(API + "/device/retrieve-unique-identifier", payload=answer)
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match="deviceIdentifier"):
                await c.devices.retrieve_unique_identifier("cmd-1")


async def test_devices_list_models_keep_unknown_keys() -> None:
    answer = [
        {
            "deviceIdentifier": "dev-1",
            "name": "Phone",
            "status": "approved",
            "createdAt": "2026-01-02T03:04:05+01:00",
            "os": "android",
            "battery": 80,
        },
        {"deviceIdentifier": "dev-2"},
    ]
    with mock_http() as m:
        m.get(API + "/device/retrieve-profile-devices", payload=answer)
        async with make_client() as c:
            devices = await c.devices.list()
    assert devices == [
        Device(
            "dev-1",
            "Phone",
            "approved",
            datetime(2026, 1, 2, 2, 4, 5, tzinfo=UTC),
            {"os": "android", "battery": 80},
        ),
        Device("dev-2"),
    ]
    (call,) = calls(m, "GET", "/device/retrieve-profile-devices")
    assert_get_call(call)


async def test_devices_list_missing_identifier_is_protocol_error() -> None:
    with mock_http() as m:
        m.get(API + "/device/retrieve-profile-devices", payload=[{"name": "Phone"}])
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError) as info:
                await c.devices.list()
    message = str(info.value)
    assert "devices.list" in message
    assert "device_identifier" in message or "deviceIdentifier" in message


async def test_devices_list_missing_identifier_names_the_wire_field() -> None:
    with mock_http() as m:
        m.get(API + "/device/retrieve-profile-devices", payload=[{"name": "Phone"}])
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match="deviceIdentifier"):
                await c.devices.list()


@pytest.mark.parametrize("answer", [{"items": []}, "devices", [1]])
async def test_devices_list_wrong_shape_is_protocol_error(answer: Any) -> None:
    with mock_http() as m:
        m.get(API + "/device/retrieve-profile-devices", payload=answer)
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match=r"devices\.list"):
                await c.devices.list()


CONFIGURATION = {
    "device-identifier": "dev-1",
    "client-id": "cid-1",
    "client-secret": "cs-very-secret",
    "rabbit-user": "mq-user",
    "rabbit-pass": "mq-very-secret",
    "rabbit-host": "mq.privicore.test",
    "rabbit-port": 5672,
    "vhost": "/dpt",
}


def assert_configuration(config: DeviceConfiguration) -> None:
    assert config == DeviceConfiguration(
        "dev-1", "cid-1", "cs-very-secret", "mq-user", "mq-very-secret", "mq.privicore.test", 5672,
        {"vhost": "/dpt"},
    )  # fmt: skip
    for text in (repr(config), str(config)):
        assert "very-secret" not in text
        assert "cid-1" in text
        assert "mq.privicore.test" in text


async def test_retrieve_configuration_posts_form_and_hides_secrets() -> None:
    with mock_http() as m:
        m.post(API + "/device/download-device-configuration", payload=CONFIGURATION)
        async with make_client() as c:
            config = await c.devices.retrieve_configuration("dev-1")
    assert_configuration(config)
    (call,) = calls(m, "POST", "/device/download-device-configuration")
    assert_form_call(call, {"deviceIdentifier": "dev-1"})
    assert all_calls(m) == [("POST", "/device/download-device-configuration")]


@pytest.mark.parametrize("status", [404, 405])
async def test_retrieve_configuration_falls_back_to_the_official_get(status: int) -> None:
    with mock_http() as m:
        m.post(API + "/device/download-device-configuration", status=status)
        m.get(API + "/device/retrieve-device-configuration/dev%2F1", payload=CONFIGURATION)
        async with make_client() as c:
            config = await c.devices.retrieve_configuration("dev/1")
    assert_configuration(config)
    assert all_calls(m) == [
        ("POST", "/device/download-device-configuration"),
        ("GET", "/device/retrieve-device-configuration/dev%2F1"),
    ]
    (get,) = calls(m, "GET", "/device/retrieve-device-configuration/dev%2F1")
    assert_get_call(get)


async def test_retrieve_configuration_other_errors_do_not_fall_back() -> None:
    with mock_http() as m:
        m.post(API + "/device/download-device-configuration", status=403)
        async with make_client() as c:
            with pytest.raises(errors.PermissionDeniedError):
                await c.devices.retrieve_configuration("dev-1")
    assert all_calls(m) == [("POST", "/device/download-device-configuration")]


async def test_retrieve_configuration_fallback_404_is_raised() -> None:
    with mock_http() as m:
        m.post(API + "/device/download-device-configuration", status=404)
        m.get(API + "/device/retrieve-device-configuration/dev-1", status=404)
        async with make_client() as c:
            with pytest.raises(errors.NotFoundError) as info:
                await c.devices.retrieve_configuration("dev-1")
    # Both were tried; the probe-verified route's answer is the one reported.
    assert info.value.path == "/device/download-device-configuration"
    assert all_calls(m) == [
        ("POST", "/device/download-device-configuration"),
        ("GET", "/device/retrieve-device-configuration/dev-1"),
    ]


async def test_onboard_refuses_a_202_without_an_id_as_a_protocol_error() -> None:
    with mock_http() as m:
        m.post(API + "/device/request-unique-identifier", status=202, body="")
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match="carried no command id"):
                await c.devices.onboard("Phone")
    assert calls(m, "POST", "/device/retrieve-unique-identifier") == []
