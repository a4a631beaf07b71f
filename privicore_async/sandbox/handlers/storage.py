"""Storage group: storage roles and device synchronisation (wire reference §b rows 42-45, §c3)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from aiohttp import web

from ..answers import iso_time, json_answer
from ..call import Call, Handler
from ..engine import Outcome
from ..state import Device, DeviceStatus, StorageRole

__all__ = ["HANDLERS"]


async def register(call: Call) -> web.StreamResponse:
    """``storage/register``: an approved device becomes a storage device on settle."""
    form = await call.form()
    identifier = form.identifier("deviceIdentifier")
    form.check()

    def promote(device: Device) -> Outcome:
        if device.status is not DeviceStatus.APPROVED:
            return Outcome.reject("device.not_approved")
        if device.storage is not None:
            return Outcome.reject("storage.already_registered")
        device.storage = StorageRole(time.time())
        return Outcome.success()

    return call.accept_for_device(identifier, promote)


async def list_storage(call: Call) -> web.StreamResponse:
    """``list-storage-devices``: the caller's storage devices and whether they are online."""
    return json_answer(
        [
            {
                "deviceIdentifier": d.identifier,
                "name": d.name,
                "online": d.online,
                "registeredAt": iso_time(d.storage.registered_at),
            }
            for d in call.ctx.state.devices_of(call.profile_id)
            if d.storage is not None
        ]
    )


async def sync_device(call: Call) -> web.StreamResponse:
    """``sync-device``: 422 for a bad identifier now; otherwise 202, empty body, id in the header.

    The seed page says "no body"; the header is the only way to track the command (§a4).
    """
    form = await call.form()
    identifier = form.identifier("deviceIdentifier")
    form.check()

    def synchronise(device: Device) -> Outcome:
        if device.storage is None:
            return Outcome.reject("device.not_a_storage_device")
        if not device.online:
            return Outcome.reject("device.offline")
        return Outcome.success()

    # The seed page documents "202, no body"; the wire reference (§a4b) and the independent
    # client say ordinary commands carry the id in the body. Like every command, the id goes
    # where id_shape says (the body by default); id_shape="header" is the seed's reading.
    return call.accept_for_device(identifier, synchronise)


async def remove(call: Call) -> web.StreamResponse:
    """``storage/remove``: the device loses its storage role on settle (the device stays)."""
    form = await call.form()
    identifier = form.identifier("deviceIdentifier")
    form.check()

    def demote(device: Device) -> Outcome:
        if device.storage is None:
            return Outcome.reject("storage.not_registered")
        device.storage = None
        return Outcome.success()

    return call.accept_for_device(identifier, demote)


HANDLERS: Mapping[str, Handler] = {
    "storage.register": register,
    "storage.list": list_storage,
    "storage.sync_device": sync_device,
    "storage.remove": remove,
}
