"""Voting group: manual pools and pool status (wire reference §b rows 85-86, §c7 step 9).

A manual pool (``voting/create``) opens on settle under the command id; a policy-gated command
opens its pool at acceptance under its own command id (:mod:`..voting_state`). Both are read
with ``check-pool-status/{poolId}``; another profile's pool answers 404 like an unknown one.
``voting/cancel-pool`` (not in the seed: a guide's call, §b3) cancels an open pool.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ..answers import iso_time, json_answer, not_found
from ..call import Call, Handler
from ..engine import Command, Outcome
from ..voting_state import Pool
from .authenticators import JsonReader

__all__ = ["HANDLERS", "pool_view"]


def pool_view(pool: Pool) -> dict[str, Any]:
    """A pool as ``check-pool-status`` answers it."""
    approvals = sum(pool.votes.values())
    return {
        "poolId": pool.pool_id,
        "status": pool.refresh(time.time()).value,
        "description": pool.description,
        "configurationId": pool.configuration_id,
        "commandId": pool.command_id,
        "eligible": list(pool.eligible),
        "required": pool.required,
        "approvals": approvals,
        "rejections": len(pool.votes) - approvals,
        "votes": [{"deviceIdentifier": d, "approve": v} for d, v in pool.votes.items()],
        "createdAt": iso_time(pool.created_at),
        "expiresAt": iso_time(pool.expires_at),
    }


async def create(call: Call) -> web.StreamResponse:
    """``voting/create`` (JSON, all optional): a manual pool among the caller's authenticators.

    Rejected on settle: an unknown configuration, a device that is not an authenticator, or
    no authenticator at all (``vote.no_authenticators``).
    """
    body = await JsonReader.of(call)
    configuration_id = body.text("configurationId", required=False)
    devices = body.text_list("deviceIdentifiers", required=False)
    description = body.text("description", required=False)
    body.check()
    profile_id = call.profile_id
    records = call.ctx.state.voting

    def open_pool(command: Command) -> Outcome:
        configuration = None
        if configuration_id is not None:
            configuration = records.configuration(profile_id, configuration_id)
            if configuration is None:
                return Outcome.reject("voting_configuration.not_found")
        authenticators = records.authenticators_of(profile_id)
        if devices and any(d not in authenticators for d in devices):
            return Outcome.reject("authenticator.not_found")
        if not authenticators:
            return Outcome.reject("vote.no_authenticators")
        records.open_pool(
            command.command_id,
            profile_id,
            authenticators,
            configuration,
            devices=devices or None,
            description=description,
        )
        return Outcome.success()

    return call.accept(open_pool)


async def cancel_pool(call: Call) -> web.StreamResponse:
    """``voting/cancel-pool`` (JSON ``poolId``): an unknown pool (or another profile's) is 404
    at once; on settle the pool is ``cancelled`` and the command it held is rejected
    ``vote.cancelled``. A pool no longer open by then is rejected ``vote.pool_not_open``."""
    body = await JsonReader.of(call)
    pool_id = body.text("poolId")
    body.check()
    assert pool_id is not None
    records = call.ctx.state.voting
    pool = records.pools.get(pool_id)
    if pool is None or pool.profile_id != call.profile_id:
        return not_found()

    def cancel(_command: Command) -> Outcome:
        try:
            records.cancel(pool_id)
        except ValueError:
            return Outcome.reject("vote.pool_not_open")
        return Outcome.success()

    return call.accept(cancel)


async def check_pool_status(call: Call) -> web.StreamResponse:
    """``check-pool-status/{poolId}``: the pool's status and ballots, or 404."""
    pool = call.ctx.state.voting.pools.get(call.request.match_info["poolId"])
    if pool is None or pool.profile_id != call.profile_id:
        return not_found()
    return json_answer(pool_view(pool))


HANDLERS: Mapping[str, Handler] = {
    "voting.create": create,
    "voting.check_pool_status": check_pool_status,
    "voting.cancel_pool": cancel_pool,
}
