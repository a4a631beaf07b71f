"""Verified authenticators: the devices that vote on policy-gated operations, the profile-wide
voting settings, and named voting configurations (wire reference §b rows 46-57, §c7 steps 1-3).

Six of these routes are inferred (no public evidence), and a seventh,
:meth:`Authenticators.delete_voting_configuration`, is named only by a guide (not in the seed);
each says so, and any of them can be corrected without a release:
``PrivicoreClient(routes={"authenticators.list": ("GET", "/...")})``.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from ..commands import CommandHandle
from ..errors import InvalidArgumentError
from ..models import Authenticator, VotingConfiguration, VotingStrategy, structure
from ..models.converter import list_items
from ..models.voting import QuorumStrategy
from ._base import Resource, require_int, require_text, require_texts

__all__ = ["Authenticators", "require_device_identifiers", "require_strategy"]

_ID = "deviceIdentifier"
_DEFAULT_PARAMS = {
    QuorumStrategy.UNANIMOUS: 100,
    QuorumStrategy.CONSENSUS: 51,
    QuorumStrategy.AFFIRMATIVE: 1,
}
_MAX_TIME_LIMIT = 7 * 24 * 3600  # a week: the sandbox's bound; the real one is undocumented


def require_strategy(value: object, *, field: str = "strategy") -> QuorumStrategy:
    """A :class:`~privicore_async.models.QuorumStrategy` (or its wire string)."""
    text = require_text("strategy", value, field=field)
    try:
        return QuorumStrategy(text)
    except ValueError:
        choices = ", ".join(s.value for s in QuorumStrategy)
        raise InvalidArgumentError("strategy", f"must be one of {choices}", field=field) from None


def require_device_identifiers(value: object, *, argument: str = "device_identifiers") -> list[str]:
    """A list (never a single string) of non-blank device identifiers, without repeats."""
    return require_texts(
        argument, value, field="deviceIdentifiers", what="device identifiers", unique=True
    )


def _percentage(strategy: QuorumStrategy | None, percentage: object) -> int | None:
    """``percentageRequired``: 1-100, only (and always, on register) for minimum_percentage."""
    if percentage is None:
        return None
    value = require_int(
        "percentage_required", percentage, minimum=1, maximum=100, field="percentageRequired"
    )
    if strategy is not None and strategy is not QuorumStrategy.MINIMUM_PERCENTAGE:
        raise InvalidArgumentError(
            "percentage_required",
            "applies only to the minimum_percentage strategy",
            field="percentageRequired",
        )
    return value


class Authenticators(Resource):
    """``client.authenticators`` (the seed's "Verified authenticator" group)."""

    __slots__ = ()

    async def register(
        self, device_identifier: str, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /verified-authenticator/register`` form ``deviceIdentifier``: make an
        approved device a verified authenticator (it then votes on policy-gated operations).

        A device that is not approved is rejected when the command settles.
        """
        return await self._client.command(
            "authenticators.register", {"device_identifier": device_identifier}, timeout=timeout
        )

    async def remove(
        self, device_identifier: str, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /verified-authenticator/remove`` form ``deviceIdentifier``: take the
        authenticator role away; the device itself stays registered."""
        return await self._client.command(
            "authenticators.remove", {"device_identifier": device_identifier}, timeout=timeout
        )

    async def list(self) -> builtins.list[Authenticator]:
        """``GET /verified-authenticator/list-verified-authenticators``: the authenticators.

        The path and the answer are **inferred** (no public evidence); correct the path with
        ``PrivicoreClient(routes={"authenticators.list": ("GET", "/...")})``. A JSON array, an
        ``{"items": [...]}`` object and bare identifier strings are all accepted.
        """
        response = await self._client.call("authenticators.list")
        body: Any = list_items(response.body)
        if isinstance(body, builtins.list):
            body = [{_ID: item} if isinstance(item, str) else item for item in body]
        return structure(body, builtins.list[Authenticator], endpoint="authenticators.list")

    async def retrieve_voting_strategy(self) -> VotingStrategy:
        """``GET /verified-authenticator/retrieve-voting-strategy``: the profile-wide settings.

        The path and the answer are **inferred** (no public evidence); a guide says
        ``GET /verified-authenticator/retrieve-strategy``, which is tried once when the first
        path answers 404 or 405 (§b2; a 405 keeps the client on it). Correct the path with
        ``PrivicoreClient(routes={"authenticators.retrieve_voting_strategy": ("GET", "/...")})``.
        """
        response = await self._client.call("authenticators.retrieve_voting_strategy")
        return structure(
            response.body, VotingStrategy, endpoint="authenticators.retrieve_voting_strategy"
        )

    async def set_quorum_size(
        self, quorum_size: int, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /verified-authenticator/set-quorum-size`` form ``quorumSize`` (≥ 1).

        The path and the field name are **inferred** (no public evidence); correct them with
        ``PrivicoreClient(routes={"authenticators.set_quorum_size": ("POST", "/...")})``.
        """
        size = require_int("quorum_size", quorum_size, minimum=1, field="quorumSize")
        return await self._client.command(
            "authenticators.set_quorum_size", {"quorum_size": size}, timeout=timeout
        )

    async def set_quorum_strategy(
        self,
        strategy: QuorumStrategy | str,
        strategy_params: int | None = None,
        *,
        timeout: float | None = None,
    ) -> CommandHandle:
        """``POST /verified-authenticator/set-quorum-strategy`` form ``strategy`` and
        ``strategy_params`` (snake_case on the wire): the minimum yes-percentage, 0-100.

        ``strategy_params`` defaults to the official values (unanimous 100, consensus 51,
        affirmative 1); ``minimum_percentage`` needs it given.
        """
        chosen = require_strategy(strategy)
        if strategy_params is None:
            if chosen not in _DEFAULT_PARAMS:
                raise InvalidArgumentError(
                    "strategy_params",
                    "is required for the minimum_percentage strategy",
                    field="strategy_params",
                )
            strategy_params = _DEFAULT_PARAMS[chosen]
        params = require_int("strategy_params", strategy_params, minimum=0, maximum=100)
        return await self._client.command(
            "authenticators.set_quorum_strategy",
            {"strategy": chosen.value, "strategy_params": params},
            timeout=timeout,
        )

    async def set_voting_time_limit(
        self, time_limit: int, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /verified-authenticator/set-voting-time-limit`` form ``timeLimit`` (seconds,
        ≥ 1): how long one voting attempt stays open."""
        seconds = require_int("time_limit", time_limit, minimum=1, field="timeLimit")
        return await self._client.command(
            "authenticators.set_voting_time_limit", {"time_limit": seconds}, timeout=timeout
        )

    async def set_maximum_voting_attempts(
        self, number_of_attempts: int, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /verified-authenticator/set-maximum-voting-attempts`` form
        ``numberOfAttempts`` (≥ 1). A gated command may wait ``timeLimit * numberOfAttempts``
        seconds for its vote: size handle timeouts accordingly."""
        attempts = require_int(
            "number_of_attempts", number_of_attempts, minimum=1, field="numberOfAttempts"
        )
        return await self._client.command(
            "authenticators.set_maximum_voting_attempts",
            {"number_of_attempts": attempts},
            timeout=timeout,
        )

    async def register_voting_configuration(
        self,
        name: str,
        strategy: QuorumStrategy | str,
        time_limit: int,
        *,
        device_identifiers: Sequence[str] = (),
        percentage_required: int | None = None,
        timeout: float | None = None,
    ) -> CommandHandle:
        """``POST /verified-authenticator/voting-configuration/register`` (JSON): a named
        voting configuration.

        Sends ``name``, ``strategy``, ``timeLimit`` (a JSON integer, seconds) and
        ``deviceIdentifiers`` (a JSON array, always sent: ``[]`` means all authenticators),
        plus ``percentageRequired`` (1-100), which ``minimum_percentage`` requires and the
        other strategies refuse. The name is what ``policies.register`` links to.
        """
        chosen = require_strategy(strategy)
        seconds = require_int(
            "time_limit", time_limit, minimum=1, maximum=_MAX_TIME_LIMIT, field="timeLimit"
        )
        devices = require_device_identifiers(device_identifiers)
        percentage = _percentage(chosen, percentage_required)
        if chosen is QuorumStrategy.MINIMUM_PERCENTAGE and percentage is None:
            raise InvalidArgumentError(
                "percentage_required",
                "is required for the minimum_percentage strategy",
                field="percentageRequired",
            )
        args: dict[str, Any] = {
            "name": name,
            "strategy": chosen.value,
            "time_limit": seconds,
            "device_identifiers": devices,
        }
        if percentage is not None:  # JSON would carry a None as null: leave it out
            args["percentage_required"] = percentage
        return await self._client.command(
            "authenticators.register_voting_configuration", args, timeout=timeout
        )

    async def update_voting_configuration(
        self,
        configuration_id: str,
        *,
        name: str | None = None,
        strategy: QuorumStrategy | str | None = None,
        time_limit: int | None = None,
        device_identifiers: Sequence[str] | None = None,
        percentage_required: int | None = None,
        timeout: float | None = None,
    ) -> CommandHandle:
        """``POST /verified-authenticator/voting-configuration/update`` (JSON):
        ``configurationId`` (the configuration's name, as far as known) and only the fields
        to change; an update that changes nothing is refused before sending.

        The path and the fields are **inferred** (no public evidence; modelled on the register
        sibling); correct the path with ``PrivicoreClient(routes={
        "authenticators.update_voting_configuration": ("POST", "/...")})``.
        """
        # Checked here, not only by the route: a blank id must be refused as such, before
        # (and instead of) "nothing to update".
        require_text("configuration_id", configuration_id, field="configurationId")
        # Only the fields to change are sent (JSON would carry a None as null).
        args: dict[str, Any] = {"configuration_id": configuration_id}
        if name is not None:
            args["name"] = name
        chosen = None if strategy is None else require_strategy(strategy)
        if chosen is not None:
            args["strategy"] = chosen.value
        if time_limit is not None:
            args["time_limit"] = require_int(
                "time_limit", time_limit, minimum=1, maximum=_MAX_TIME_LIMIT, field="timeLimit"
            )
        if device_identifiers is not None:
            args["device_identifiers"] = require_device_identifiers(device_identifiers)
        percentage = _percentage(chosen, percentage_required)
        if percentage is not None:
            args["percentage_required"] = percentage
        if len(args) == 1:
            raise InvalidArgumentError(
                "configuration_id", "nothing to update: give at least one field to change"
            )
        return await self._client.command(
            "authenticators.update_voting_configuration", args, timeout=timeout
        )

    async def delete_voting_configuration(
        self, configuration_id: str, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /verified-authenticator/voting-configuration/delete`` (JSON)
        ``configurationId`` (the configuration's name, as far as known): remove a voting
        configuration.

        **Not in the seed**: only a guide names this call (§b3), and the encoding, field and
        phase are **inferred** from the register and update siblings; correct the path with
        ``PrivicoreClient(routes={
        "authenticators.delete_voting_configuration": ("POST", "/...")})``. The sandbox answers
        404 for an unknown configuration and rejects the command
        (``voting_configuration.in_use``) while a policy still links to it.
        """
        return await self._client.command(
            "authenticators.delete_voting_configuration",
            {"configuration_id": configuration_id},
            timeout=timeout,
        )

    async def list_voting_configurations(self) -> builtins.list[VotingConfiguration]:
        """``GET /verified-authenticator/voting-configuration/list``: the configurations.

        The path and the answer are **inferred** (no public evidence); correct the path with
        ``PrivicoreClient(routes={"authenticators.list_voting_configurations": ("GET", "/...")})``.
        A JSON array or an ``{"items": [...]}`` object is accepted.
        """
        response = await self._client.call("authenticators.list_voting_configurations")
        return structure(
            list_items(response.body),
            builtins.list[VotingConfiguration],
            endpoint="authenticators.list_voting_configurations",
        )

    async def retrieve_voting_configuration(self, configuration_id: str) -> VotingConfiguration:
        """``GET /verified-authenticator/voting-configuration/retrieve/{configurationId}``
        (URL-quoted): one configuration; an unknown one is a ``NotFoundError``.

        The path is **inferred** (no public evidence; modelled on ``retrieve-policy/{name}``);
        correct it with ``PrivicoreClient(routes={
        "authenticators.retrieve_voting_configuration": ("GET", "/...")})``.
        """
        response = await self._client.call(
            "authenticators.retrieve_voting_configuration",
            {"configuration_id": configuration_id},
        )
        return structure(
            response.body,
            VotingConfiguration,
            endpoint="authenticators.retrieve_voting_configuration",
        )
