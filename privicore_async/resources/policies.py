"""Policies: templates, registration and activation of voting-gated operations (wire reference
§b rows 58-66, §b2, §c7 steps 4-7 and 10).

A policy applies a template's events (``applyingEventIds``) and, while active, makes the
operations behind those events wait for the verified authenticators' vote: their command acks
arrive late (up to ``timeLimit * numberOfAttempts``) and a denied vote rejects them. Four routes
are inferred (no public evidence); each says so.
"""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import Mapping, Sequence
from typing import Any

from .._json import JSONInput
from ..commands import CommandHandle
from ..errors import InvalidArgumentError, NotFoundError
from ..models import Policy, PolicyTemplate, structure
from ..models.converter import list_items
from ..models.voting import parse_templates
from ._base import Resource, require_text

__all__ = ["Policies"]

_FIRST_RETRY = 0.2  # seconds before the first retry of retrieve(wait=...); doubles each time
_MAX_RETRY = 1.0


def _require_event_ids(value: object) -> builtins.list[str]:
    field = "applyingEventIds"
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise InvalidArgumentError(
            "event_ids", "must be a list of event ids, not a single string", field=field
        )
    ids = [require_text("event_ids", item, field=field) for item in value]
    if not ids:
        raise InvalidArgumentError("event_ids", "must name at least one event", field=field)
    return ids


class Policies(Resource):
    """``client.policies``."""

    __slots__ = ()

    async def list_templates(self) -> dict[str, PolicyTemplate]:
        """``GET /policy/list-policy-templates``: the templates, keyed by template id.

        The wire answer is an object keyed by template id whose ``events`` are keyed by event
        id (§b2; the docset's array shape is stale). Each :class:`PolicyTemplate` carries its
        ``template_id`` and each event its ``event_id``: the values :meth:`register` takes.
        """
        response = await self._client.call("policies.list_templates")
        return parse_templates(response.body)

    async def register(
        self,
        name: str,
        template_id: str,
        event_ids: Sequence[str],
        configuration: Mapping[str, JSONInput],
        *,
        voting_configuration_id: str | None = None,
        also_configuration_id: bool = False,
        timeout: float | None = None,
    ) -> CommandHandle:
        """``POST /policy/register`` (JSON): a new policy, **inactive** until :meth:`activate`.

        Sends ``name``, ``policyTemplateId``, ``applyingEventIds`` (a JSON array of event ids
        of that template) and ``configuration`` (a non-empty JSON object). A voting
        configuration (its name) is sent as ``votingConfigurationId``, the key the probe sends
        and the only one any public client sends. The official page calls the link
        ``configurationId`` instead (§b2, open question 1); ``also_configuration_id=True``
        sends the same value under that key too, for a server that reads only that one.
        The policy's id for activate/deactivate/delete comes from :meth:`retrieve`.
        """
        events = _require_event_ids(event_ids)
        if not isinstance(configuration, Mapping) or not configuration:
            raise InvalidArgumentError(
                "configuration", "must be a non-empty mapping", field="configuration"
            )
        args: dict[str, Any] = {
            "name": name,
            "template_id": template_id,
            "event_ids": events,
            "configuration": dict(configuration),
        }
        if voting_configuration_id is not None:  # JSON would carry a None as null
            # The route does not check these two (it takes them as values): checked here.
            require_text(
                "voting_configuration_id", voting_configuration_id, field="votingConfigurationId"
            )
            args["voting_configuration_id"] = voting_configuration_id
            if also_configuration_id:
                args["configuration_id"] = voting_configuration_id
        return await self._client.command("policies.register", args, timeout=timeout)

    async def list_active(self) -> builtins.list[Policy]:
        """``GET /policy/list-active-policies``: the policies in force.

        The path and the answer are **inferred** (no public evidence); correct the path with
        ``PrivicoreClient(routes={"policies.list_active": ("GET", "/...")})``.
        """
        return await self._listing("policies.list_active")

    async def list_inactive(self) -> builtins.list[Policy]:
        """``GET /policy/list-inactive-policies``: registered but not in force.

        The path and the answer are **inferred** (no public evidence); correct the path with
        ``PrivicoreClient(routes={"policies.list_inactive": ("GET", "/...")})``.
        """
        return await self._listing("policies.list_inactive")

    async def list(self) -> builtins.list[Policy]:
        """``GET /policy/list-policies``: every registered policy.

        The path and the answer are **inferred** (no public evidence); correct the path with
        ``PrivicoreClient(routes={"policies.list": ("GET", "/...")})``.
        """
        return await self._listing("policies.list")

    async def retrieve(self, name: str, *, wait: float = 0.0) -> Policy:
        """``GET /policy/retrieve-policy/{name}`` (URL-quoted): the policy, with its id.

        Registration is eventually consistent: right after the register ack the policy may
        still answer 404. ``wait`` is how many seconds to keep retrying a 404 (backing off
        from 0.2 s, doubling, at most 1 s apart, never sleeping past the deadline); the
        default 0 asks once. The last ``NotFoundError`` is raised when time is up.
        """
        if isinstance(wait, bool) or not isinstance(wait, int | float) or not wait >= 0:
            raise InvalidArgumentError("wait", "must be a number of seconds >= 0")
        deadline = time.monotonic() + wait
        delay = _FIRST_RETRY
        while True:
            try:
                response = await self._client.call("policies.retrieve", {"name": name})
            except NotFoundError:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise
                await asyncio.sleep(min(delay, left))
                delay = min(delay * 2, _MAX_RETRY)
                continue
            return structure(response.body, Policy, endpoint="policies.retrieve")

    async def activate(self, policy_id: str, *, timeout: float | None = None) -> CommandHandle:
        """``POST /policy/activate`` form ``policyId`` (the ``id`` from :meth:`retrieve`, not
        the name): from the settle on, the policy's events wait for a vote."""
        return await self._by_id("policies.activate", policy_id, timeout)

    async def deactivate(self, policy_id: str, *, timeout: float | None = None) -> CommandHandle:
        """``POST /policy/deactivate`` form ``policyId``: the events settle normally again."""
        return await self._by_id("policies.deactivate", policy_id, timeout)

    async def delete(self, policy_id: str, *, timeout: float | None = None) -> CommandHandle:
        """``POST /policy/delete`` form ``policyId``: remove a policy.

        The path and the field are **inferred** (no public evidence; modelled on activate and
        deactivate); correct them with ``PrivicoreClient(routes={"policies.delete":
        ("POST", "/...")})``.
        """
        return await self._by_id("policies.delete", policy_id, timeout)

    async def _by_id(self, name: str, policy_id: str, timeout: float | None) -> CommandHandle:
        return await self._client.command(name, {"policy_id": policy_id}, timeout=timeout)

    async def _listing(self, name: str) -> builtins.list[Policy]:
        response = await self._client.call(name)
        return structure(list_items(response.body), builtins.list[Policy], endpoint=name)
