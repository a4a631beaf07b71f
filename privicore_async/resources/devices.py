"""Devices: onboarding (request → approve), metadata, configuration and removal."""

from __future__ import annotations

from ..commands import CommandHandle
from ..errors import ProtocolError
from ..models import Device, DeviceConfiguration, structure
from ._base import Resource

__all__ = ["Devices"]

_ID = "deviceIdentifier"


class Devices(Resource):
    """``client.devices``."""

    __slots__ = ()

    async def request_unique_identifier(
        self, device_name: str, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /device/request-unique-identifier``: register a new device.

        Once the handle settles, its ``command_id`` is the ``id`` that
        :meth:`retrieve_unique_identifier` takes.
        """
        return await self._client.command(
            "devices.request_unique_identifier", {"device_name": device_name}, timeout=timeout
        )

    async def retrieve_unique_identifier(self, command_id: str) -> str:
        """``POST /device/retrieve-unique-identifier``: the identifier of a requested device."""
        response = await self._client.call(
            "devices.retrieve_unique_identifier", {"command_id": command_id}
        )
        body = response.body
        if isinstance(body, dict) and isinstance(body.get(_ID), str) and body[_ID].strip():
            return str(body[_ID])
        if isinstance(body, str) and body.strip():
            return body.strip()
        raise ProtocolError(f"devices.retrieve_unique_identifier: no {_ID} in {body!r:.80}")

    async def list(self) -> list[Device]:
        """``GET /device/retrieve-profile-devices``: the profile's devices."""
        response = await self._client.call("devices.list")
        return structure(response.body, list[Device], endpoint="devices.list")

    async def configure_meta(
        self, device_identifier: str, *, name: str | None = None, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /device/configure-meta``: rename a device."""
        args = {"device_identifier": device_identifier, "name": name}
        return await self._client.command("devices.configure_meta", args, timeout=timeout)

    async def approve(
        self, device_identifier: str, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /device/approve-device``."""
        return await self._client.command(
            "devices.approve", {"device_identifier": device_identifier}, timeout=timeout
        )

    async def reject(
        self, device_identifier: str, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /device/reject-device``."""
        return await self._client.command(
            "devices.reject", {"device_identifier": device_identifier}, timeout=timeout
        )

    async def retrieve_configuration(self, device_identifier: str) -> DeviceConfiguration:
        """The device's configuration bundle (client id/secret, broker credentials).

        ``POST /device/download-device-configuration`` (probe-verified); on 404/405 the
        officially documented ``GET /device/retrieve-device-configuration/{id}`` is tried.
        The bundle holds secrets: they never show in its ``repr``.
        """
        response = await self._client.call(
            "devices.retrieve_configuration", {"device_identifier": device_identifier}
        )
        return structure(
            response.body, DeviceConfiguration, endpoint="devices.retrieve_configuration"
        )

    async def remove(
        self, device_identifier: str, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /device/remove``."""
        return await self._client.command(
            "devices.remove", {"device_identifier": device_identifier}, timeout=timeout
        )

    async def onboard(self, device_name: str, *, timeout: float | None = None) -> str:
        """Register and approve a device; returns its identifier. Chains four endpoints.

        request-unique-identifier → await → retrieve-unique-identifier → approve-device →
        await (wire reference §c2). ``timeout`` applies to each awaited command.
        """
        requested = await self.request_unique_identifier(device_name, timeout=timeout)
        await requested
        if not requested.has_id:
            raise ProtocolError("devices.request_unique_identifier: the 202 carried no command id")
        identifier = await self.retrieve_unique_identifier(requested.command_id)
        await (await self.approve(identifier, timeout=timeout))
        return identifier
