"""Storage devices: registration, listing, synchronisation (one or thousands) and removal."""

from __future__ import annotations

from collections.abc import Iterable

from ..arguments import require_callable, require_int, require_seconds
from ..commands import CommandHandle
from ..errors import InvalidArgumentError
from ..models import StorageDevice, structure
from ..results import ProgressCallback, SyncProgress, SyncReport
from ._base import Resource, require_text
from .bulk_sync import AcceptedCallback, BulkSync, InDoubt

__all__ = ["Storage"]


class Storage(Resource):
    """``client.storage``."""

    __slots__ = ()

    async def register(
        self, device_identifier: str, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /storage/register``: give an approved device the storage role."""
        return await self._client.command(
            "storage.register", {"device_identifier": device_identifier}, timeout=timeout
        )

    async def list(self) -> list[StorageDevice]:
        """``GET /storage/list-storage-devices``."""
        response = await self._client.call("storage.list")
        return structure(response.body, list[StorageDevice], endpoint="storage.list")

    async def sync_device(
        self,
        device_identifier: str,
        *,
        timeout: float | None = None,
        key: str | None = None,
        run_id: str | None = None,
    ) -> CommandHandle:
        """``POST /storage/sync-device``: ask a storage device to synchronise.

        The seed documents a 202 with no body; the id, when the server sends one, comes in the
        ``x-dpt-cab-id`` header. Without any id the handle is an
        :class:`~privicore_async.commands.AcceptedCommand` (``ACCEPTED``, already done,
        ``has_id`` false).
        With a journal the command is recorded under ``key`` (and ``run_id``), the device as
        its target.
        """
        return await self._client.command(
            "storage.sync_device",
            {"device_identifier": device_identifier},
            timeout=timeout,
            key=key,
            target=device_identifier,
            run_id=run_id,
        )

    async def remove(
        self, device_identifier: str, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /storage/remove``: take the storage role away (the device stays)."""
        return await self._client.command(
            "storage.remove", {"device_identifier": device_identifier}, timeout=timeout
        )

    async def sync_devices(
        self,
        device_identifiers: Iterable[str],
        *,
        concurrency: int = 256,
        timeout: float | None = None,
        on_progress: ProgressCallback[SyncProgress] | None = None,
        on_accepted: AcceptedCallback | None = None,
        run_id: str | None = None,
        in_doubt: InDoubt = "resubmit",
    ) -> SyncReport:
        """Synchronise many devices; one line per device, never raising for one device.

        ``concurrency`` bounds the commands outstanding at once (submitted, not yet settled).
        ``timeout`` is each command's deadline, counted from its own submission (default
        ``PollPolicy.timeout``). ``on_progress(SyncProgress)`` is called after every device;
        ``on_accepted(device_identifier, handle)`` the moment a device's 202 arrives, with its
        command id (save it yourself if you have no journal).

        ``run_id`` (with ``PrivicoreClient(journal=...)``) makes the run resumable: run it again
        with the same id after a crash and devices already settled are skipped, accepted ones
        are resumed, not resent, and in-doubt ones (maybe sent, id never recorded) are sent
        again (``in_doubt="resubmit"``; a sync is safe to repeat) or reported as
        ``SyncOutcome.IN_DOUBT`` (``in_doubt="report"``). ``report.sources()`` counts them.
        Cancelling the call stops submitting; already tracked commands keep their handles.
        """
        if isinstance(device_identifiers, str | bytes) or not isinstance(
            device_identifiers, Iterable
        ):
            # A string is iterable too: "dev-123" would sync seven "devices" d, e, v, ...
            raise InvalidArgumentError(
                "device_identifiers", "must be a collection of identifiers, not a single value"
            )
        # Each identifier is checked as its request is built: a bad one is that device's
        # FAILED line (nothing sent for it), not the end of the run.
        identifiers = list(device_identifiers)
        require_int("concurrency", concurrency, minimum=1)
        require_seconds("timeout", timeout)
        require_callable("on_progress", on_progress)
        require_callable("on_accepted", on_accepted)
        if in_doubt not in ("resubmit", "report"):
            raise InvalidArgumentError("in_doubt", 'must be "resubmit" or "report"')
        if run_id is not None:
            require_text("run_id", run_id)
            if self._client.command_service.recorder is None:
                raise InvalidArgumentError(
                    "run_id", "needs a journal: PrivicoreClient(journal=SqliteJournal(...))"
                )
            if len({repr(identifier) for identifier in identifiers}) != len(identifiers):
                raise InvalidArgumentError("device_identifiers", "a run lists each device once")
        sync = BulkSync(
            self.sync_device,
            self._client.command_service,
            identifiers,
            concurrency=concurrency,
            timeout=timeout,
            on_progress=on_progress,
            on_accepted=on_accepted,
            run_id=run_id,
            in_doubt=in_doubt,
        )
        return await sync.run()
