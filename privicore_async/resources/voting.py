"""Voting: manual voting pools and pool status (wire reference §b rows 85-86, §c7 step 9).

Policy-gated operations open their pools by themselves; ``create`` opens one by hand and
``cancel_pool`` (not in the seed: a guide's call, §b3) closes an open one. Votes are cast by the
authenticator devices in their own app, which this SDK does not cover.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..commands import CommandHandle
from ..models import VotingPool, structure
from ._base import Resource
from .authenticators import require_device_identifiers

__all__ = ["Voting"]


class Voting(Resource):
    """``client.voting``."""

    __slots__ = ()

    async def create(
        self,
        *,
        configuration_id: str | None = None,
        device_identifiers: Sequence[str] | None = None,
        description: str | None = None,
        timeout: float | None = None,
    ) -> CommandHandle:
        """``POST /voting/create`` (JSON): open a voting pool by hand.

        Sends only what is given: ``configurationId`` (a voting configuration; otherwise the
        profile-wide settings apply), ``deviceIdentifiers`` (a JSON array; otherwise every
        authenticator votes) and ``description``. The path and fields are **inferred** (no
        public evidence), and so is that the pool id is the handle's ``command_id`` (pass it
        to :meth:`check_pool_status` once settled); correct the path with
        ``PrivicoreClient(routes={"voting.create": ("POST", "/...")})``.
        """
        # Only what was given goes on the wire (the route checks the texts).
        args: dict[str, Any] = {}
        if configuration_id is not None:
            args["configuration_id"] = configuration_id
        if device_identifiers is not None:
            args["device_identifiers"] = require_device_identifiers(device_identifiers)
        if description is not None:
            args["description"] = description
        return await self._client.command("voting.create", args, timeout=timeout)

    async def cancel_pool(self, pool_id: str, *, timeout: float | None = None) -> CommandHandle:
        """``POST /voting/cancel-pool`` (JSON) ``poolId``: cancel an open voting pool.

        **Not in the seed**: only a guide names this call (§b3), and the encoding, field and
        phase are **inferred** (from ``voting/create`` and ``check-pool-status``); correct the
        path with ``PrivicoreClient(routes={"voting.cancel_pool": ("POST", "/...")})``. In the
        sandbox an unknown pool answers 404, a pool no longer open is rejected
        (``vote.pool_not_open``), and a cancelled pool's status reads ``cancelled``; the
        operation a policy held behind it is rejected ``vote.cancelled``.
        """
        return await self._client.command(
            "voting.cancel_pool", {"pool_id": pool_id}, timeout=timeout
        )

    async def check_pool_status(self, pool_id: str) -> VotingPool:
        """``GET /voting/check-pool-status/{poolId}`` (URL-quoted): a pool's status and votes;
        an unknown pool is a ``NotFoundError``.

        Where the pool id of a policy-gated operation comes from is undocumented (§c7 step 9);
        the sandbox uses the gated command's id. The answer's shape was never recorded:
        unknown keys are kept in ``extra``.
        """
        response = await self._client.call("voting.check_pool_status", {"pool_id": pool_id})
        return structure(response.body, VotingPool, endpoint="voting.check_pool_status")
