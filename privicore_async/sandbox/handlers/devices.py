"""Device group: onboarding, approval, configuration, removal (wire reference §b rows 34-41, §c2).

Every device lookup is scoped to the caller's profile: another profile's device answers exactly
like an unknown one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ..answers import iso_time, json_answer, not_found, validation_failed
from ..call import Call, Handler
from ..engine import Command, CommandState, Outcome
from ..state import Device, DeviceStatus

__all__ = ["HANDLERS", "RABBIT_HOST", "RABBIT_PORT"]

RABBIT_HOST = "127.0.0.1"
RABBIT_PORT = 5672


def device_view(device: Device) -> dict[str, Any]:
    """A device as ``retrieve-profile-devices`` lists it."""
    return {
        "deviceIdentifier": device.identifier,
        "name": device.name,
        "status": device.status.value,
        "createdAt": iso_time(device.created_at),
    }


async def request_unique_identifier(call: Call) -> web.StreamResponse:
    """``request-unique-identifier``: on settle a pending device exists, linked to the command."""
    form = await call.form()
    name = form.text("deviceName")
    form.check()
    state = call.ctx.state
    profile_id = call.profile_id

    def create(command: Command) -> Outcome:
        state.add_device(profile_id, name.strip(), command.command_id)
        return Outcome.success()

    return call.accept(create)


async def retrieve_unique_identifier(call: Call) -> web.StreamResponse:
    """``retrieve-unique-identifier`` form ``id``: 404 until the request command has settled."""
    form = await call.form()
    command_id = form.identifier("id")
    form.check()
    state = call.ctx.state
    command = state.commands.get(command_id)
    identifier = state.device_by_command.get(command_id)
    if (
        command is None
        or identifier is None
        or command.profile_id != call.profile_id
        or command.state is not CommandState.SUCCEEDED
    ):
        return not_found()
    return json_answer({"deviceIdentifier": identifier})


async def list_devices(call: Call) -> web.StreamResponse:
    """``retrieve-profile-devices``: the caller's devices, oldest first."""
    return json_answer([device_view(d) for d in call.ctx.state.devices_of(call.profile_id)])


async def configure_meta(call: Call) -> web.StreamResponse:
    """``configure-meta``: renames the device on settle when ``name`` is given."""
    form = await call.form()
    identifier = form.identifier("deviceIdentifier")
    name = form.optional("name")
    form.check()

    def configure(device: Device) -> Outcome:
        if name is not None:
            device.name = name
        return Outcome.success()

    return call.accept_for_device(identifier, configure)


def _decide(call: Call, identifier: str, verdict: DeviceStatus) -> web.Response:
    def decide(device: Device) -> Outcome:
        if device.status is not DeviceStatus.PENDING:
            return Outcome.reject("device.not_pending")
        device.status = verdict
        return Outcome.success()

    return call.accept_for_device(identifier, decide)


async def approve(call: Call) -> web.StreamResponse:
    """``approve-device``: pending → approved, on settle."""
    form = await call.form()
    identifier = form.identifier("deviceIdentifier")
    form.check()
    return _decide(call, identifier, DeviceStatus.APPROVED)


async def reject(call: Call) -> web.StreamResponse:
    """``reject-device``: pending → rejected, on settle."""
    form = await call.form()
    identifier = form.identifier("deviceIdentifier")
    form.check()
    return _decide(call, identifier, DeviceStatus.REJECTED)


async def retrieve_configuration(call: Call) -> web.StreamResponse:
    """``download-device-configuration``: the credentials of an approved device."""
    form = await call.form()
    identifier = form.identifier("deviceIdentifier")
    form.check()
    device = call.ctx.state.device_of(call.profile_id, identifier)
    if device is None:
        return not_found()
    if device.status is not DeviceStatus.APPROVED:
        return validation_failed({"deviceIdentifier": ["The device is not approved."]})
    return json_answer(
        {
            "device-identifier": device.identifier,
            "client-id": device.client_id,
            "client-secret": device.client_secret,
            "rabbit-user": f"device-{device.identifier}",
            "rabbit-pass": device.rabbit_password,
            "rabbit-host": RABBIT_HOST,
            "rabbit-port": RABBIT_PORT,
        }
    )


async def remove(call: Call) -> web.StreamResponse:
    """``device/remove``: the device and any storage role disappear on settle."""
    form = await call.form()
    identifier = form.identifier("deviceIdentifier")
    form.check()
    devices = call.ctx.state.devices

    def delete(device: Device) -> Outcome:
        del devices[device.identifier]
        return Outcome.success()

    return call.accept_for_device(identifier, delete)


HANDLERS: Mapping[str, Handler] = {
    "devices.request_unique_identifier": request_unique_identifier,
    "devices.retrieve_unique_identifier": retrieve_unique_identifier,
    "devices.list": list_devices,
    "devices.configure_meta": configure_meta,
    "devices.approve": approve,
    "devices.reject": reject,
    "devices.retrieve_configuration": retrieve_configuration,
    "devices.remove": remove,
}
