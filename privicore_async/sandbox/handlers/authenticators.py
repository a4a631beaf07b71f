"""Verified authenticator group: authenticator roles, profile-wide voting settings and voting
configurations (wire reference §b rows 46-57, §c7 steps 1-3).

The records live in ``SandboxState.voting`` (:mod:`..voting_state`). Voting configurations are
keyed by name: the name is the configuration id, as the probe uses it. Everything is scoped to
the caller's profile. The JSON endpoints read their body with :class:`JsonReader`, which
collects every violation into one 422 like the form reader does.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ..answers import Refusal, iso_time, json_answer, not_found, validation_failed
from ..call import Call, Handler
from ..engine import Outcome
from ..state import Device, DeviceStatus
from ..validation import BLANK
from ..voting_state import STRATEGIES, AuthenticatorRole, VotingConfiguration, VotingRegistry

__all__ = ["HANDLERS", "JsonReader", "configuration_view"]

NOT_A_CHOICE = "The value you selected is not a valid choice."
NOT_AN_INTEGER = "This value should be of type int."
NOT_A_LIST = "This value should be a list of strings."
NOT_TEXT = "This value should be of type string."
MAX_TIME_LIMIT = 7 * 24 * 3600


class JsonReader:
    """Typed reads of a JSON object body, with violations gathered per wire field name."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        self._body = body
        self.errors: dict[str, list[str]] = {}

    @classmethod
    async def of(cls, call: Call) -> JsonReader:
        """The request's JSON body; a body that is not a JSON object is a 422 at once."""
        try:
            body = await call.request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise Refusal(validation_failed({"body": ["This value should be a JSON object."]}))
        return cls(body)

    def _violation(self, field: str, text: str) -> None:
        self.errors.setdefault(field, []).append(text)

    def has(self, field: str) -> bool:
        """True if the field is present (even as ``null``)."""
        return field in self._body

    def text(self, field: str, *, required: bool = True) -> str | None:
        """A non-blank string (stripped); absent is a violation only when ``required``."""
        value = self._body.get(field)
        if value is None:
            if required:
                self._violation(field, BLANK)
            return None
        if not isinstance(value, str):
            self._violation(field, NOT_TEXT)
            return None
        if not value.strip():
            self._violation(field, BLANK)
            return None
        return value.strip()

    def choice(self, field: str, choices: tuple[str, ...], *, required: bool = True) -> str | None:
        """One of ``choices``."""
        value = self.text(field, required=required)
        if value is not None and value not in choices:
            self._violation(field, NOT_A_CHOICE)
            return None
        return value

    def integer(self, field: str, low: int, high: int, *, required: bool = True) -> int | None:
        """A JSON integer (not a string, not a bool) in ``[low, high]``."""
        value = self._body.get(field)
        if value is None:
            if required:
                self._violation(field, BLANK)
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self._violation(field, NOT_AN_INTEGER)
            return None
        if not low <= value <= high:
            self._violation(field, f"This value should be between {low} and {high}.")
            return None
        return value

    def text_list(
        self, field: str, *, required: bool = True, empty: bool = True
    ) -> list[str] | None:
        """A JSON array of non-blank strings (``empty``: ``[]`` is allowed)."""
        value = self._body.get(field)
        if value is None:
            if required:
                self._violation(field, BLANK)
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self._violation(field, NOT_A_LIST)
            return None
        if not value and not empty:
            self._violation(field, BLANK)
            return None
        return [v.strip() for v in value]

    def mapping(self, field: str) -> dict[str, Any] | None:
        """A required, non-empty JSON object."""
        value = self._body.get(field)
        if not isinstance(value, dict) or not value:
            self._violation(field, "This value should be a non-empty object.")
            return None
        return value

    def check(self) -> None:
        """Raise the 422 :class:`~..answers.Refusal` if any field was refused."""
        if self.errors:
            raise Refusal(validation_failed(self.errors))


def configuration_view(configuration: VotingConfiguration) -> dict[str, Any]:
    """A voting configuration as list/retrieve answer it."""
    view: dict[str, Any] = {
        "configurationId": configuration.name,
        "name": configuration.name,
        "strategy": configuration.strategy,
        "timeLimit": configuration.time_limit,
        "deviceIdentifiers": list(configuration.device_identifiers),
        "createdAt": iso_time(configuration.created_at),
    }
    if configuration.percentage_required is not None:
        view["percentageRequired"] = configuration.percentage_required
    return view


def _unknown_authenticators(
    records: VotingRegistry, profile_id: str, identifiers: list[str]
) -> bool:
    authenticators = set(records.authenticators_of(profile_id))
    return any(i not in authenticators for i in identifiers)


async def register(call: Call) -> web.StreamResponse:
    """``verified-authenticator/register``: an approved device becomes an authenticator."""
    form = await call.form()
    identifier = form.identifier("deviceIdentifier")
    form.check()
    records = call.ctx.state.voting

    def promote(device: Device) -> Outcome:
        if device.status is not DeviceStatus.APPROVED:
            return Outcome.reject("device.not_approved")
        if device.identifier in records.authenticators:
            return Outcome.reject("authenticator.already_registered")
        records.authenticators[device.identifier] = AuthenticatorRole(
            device.identifier, device.profile_id, time.time()
        )
        return Outcome.success()

    return call.accept_for_device(identifier, promote)


async def remove(call: Call) -> web.StreamResponse:
    """``verified-authenticator/remove``: the role goes, the device stays."""
    form = await call.form()
    identifier = form.identifier("deviceIdentifier")
    form.check()
    records = call.ctx.state.voting

    def demote(device: Device) -> Outcome:
        if records.authenticators.pop(device.identifier, None) is None:
            return Outcome.reject("authenticator.not_found")
        return Outcome.success()

    return call.accept_for_device(identifier, demote)


async def list_authenticators(call: Call) -> web.StreamResponse:
    """``list-verified-authenticators``: the caller's authenticator devices."""
    state = call.ctx.state
    answer = []
    for identifier in state.voting.authenticators_of(call.profile_id):
        device = state.devices[identifier]
        role = state.voting.authenticators[identifier]
        answer.append(
            {
                "deviceIdentifier": identifier,
                "name": device.name,
                "registeredAt": iso_time(role.registered_at),
            }
        )
    return json_answer(answer)


async def retrieve_voting_strategy(call: Call) -> web.StreamResponse:
    """``retrieve-voting-strategy`` (or the guide's ``retrieve-strategy``, when the sandbox
    serves alternatives): the profile-wide settings (defaults until set)."""
    settings = call.ctx.state.voting.settings_of(call.profile_id)
    return json_answer(
        {
            "strategy": settings.strategy,
            "strategy_params": settings.strategy_params,
            "timeLimit": settings.time_limit,
            "numberOfAttempts": settings.number_of_attempts,
            "quorumSize": settings.quorum_size,
        }
    )


async def set_quorum_size(call: Call) -> web.StreamResponse:
    """``set-quorum-size``: ballots needed before an approval counts (1-1000)."""
    form = await call.form()
    size = form.integer("quorumSize", 1, 1000)
    form.check()
    settings = call.ctx.state.voting.settings_of(call.profile_id)

    def apply(_command: object) -> Outcome:
        settings.quorum_size = size
        return Outcome.success()

    return call.accept(apply)


async def set_quorum_strategy(call: Call) -> web.StreamResponse:
    """``set-quorum-strategy``: ``strategy`` and ``strategy_params`` (yes-percentage 0-100)."""
    form = await call.form()
    strategy = form.text("strategy").strip()
    if strategy and strategy not in STRATEGIES:
        form.errors.setdefault("strategy", []).append(NOT_A_CHOICE)
    percentage = form.integer("strategy_params", 0, 100)
    form.check()
    settings = call.ctx.state.voting.settings_of(call.profile_id)

    def apply(_command: object) -> Outcome:
        settings.strategy, settings.strategy_params = strategy, percentage
        return Outcome.success()

    return call.accept(apply)


async def set_voting_time_limit(call: Call) -> web.StreamResponse:
    """``set-voting-time-limit``: seconds a pool stays open per attempt."""
    form = await call.form()
    time_limit = form.integer("timeLimit", 1, MAX_TIME_LIMIT)
    form.check()
    settings = call.ctx.state.voting.settings_of(call.profile_id)

    def apply(_command: object) -> Outcome:
        settings.time_limit = time_limit
        return Outcome.success()

    return call.accept(apply)


async def set_maximum_voting_attempts(call: Call) -> web.StreamResponse:
    """``set-maximum-voting-attempts``: a pool expires after ``timeLimit * numberOfAttempts``."""
    form = await call.form()
    attempts = form.integer("numberOfAttempts", 1, 100)
    form.check()
    settings = call.ctx.state.voting.settings_of(call.profile_id)

    def apply(_command: object) -> Outcome:
        settings.number_of_attempts = attempts
        return Outcome.success()

    return call.accept(apply)


def _percentage(body: JsonReader, strategy: str | None, *, required: bool) -> int | None:
    percentage = body.integer("percentageRequired", 1, 100, required=False)
    if strategy == "minimum_percentage" and required and not body.has("percentageRequired"):
        body.errors.setdefault("percentageRequired", []).append(BLANK)
    return percentage


async def register_voting_configuration(call: Call) -> web.StreamResponse:
    """``voting-configuration/register`` (JSON): on settle a configuration named ``name``;
    a taken name or a device that is not one of the caller's authenticators is rejected."""
    body = await JsonReader.of(call)
    name = body.text("name")
    strategy = body.choice("strategy", STRATEGIES)
    time_limit = body.integer("timeLimit", 1, MAX_TIME_LIMIT)
    devices = body.text_list("deviceIdentifiers")
    percentage = _percentage(body, strategy, required=True)
    body.check()
    assert name is not None
    assert strategy is not None
    assert time_limit is not None
    profile_id = call.profile_id
    records = call.ctx.state.voting

    def create(_command: object) -> Outcome:
        if records.configuration(profile_id, name) is not None:
            return Outcome.reject("voting_configuration.already_exists")
        if _unknown_authenticators(records, profile_id, devices or []):
            return Outcome.reject("authenticator.not_found")
        records.configurations[(profile_id, name)] = VotingConfiguration(
            name,
            profile_id,
            strategy,
            time_limit,
            devices or [],
            percentage if strategy == "minimum_percentage" else None,
            time.time(),
        )
        return Outcome.success()

    return call.accept(create)


async def update_voting_configuration(call: Call) -> web.StreamResponse:
    """``voting-configuration/update`` (JSON): ``configurationId`` + the fields to change."""
    body = await JsonReader.of(call)
    configuration_id = body.text("configurationId")
    name = body.text("name", required=False)
    strategy = body.choice("strategy", STRATEGIES, required=False)
    time_limit = body.integer("timeLimit", 1, MAX_TIME_LIMIT, required=False)
    devices = body.text_list("deviceIdentifiers", required=False)
    percentage = _percentage(body, strategy, required=False)
    if not body.errors and all(
        v is None for v in (name, strategy, time_limit, devices, percentage)
    ):
        body.errors["configurationId"] = ["Nothing to update."]
    body.check()
    assert configuration_id is not None
    profile_id = call.profile_id
    records = call.ctx.state.voting

    def update(_command: object) -> Outcome:
        configuration = records.configuration(profile_id, configuration_id)
        if configuration is None:
            return Outcome.reject("voting_configuration.not_found")
        renamed = name is not None and name != configuration.name
        if renamed and records.configuration(profile_id, str(name)) is not None:
            return Outcome.reject("voting_configuration.already_exists")
        if devices is not None and _unknown_authenticators(records, profile_id, devices):
            return Outcome.reject("authenticator.not_found")
        new_strategy = strategy or configuration.strategy
        new_percentage = percentage if percentage is not None else configuration.percentage_required
        if new_strategy == "minimum_percentage" and new_percentage is None:
            return Outcome.reject("voting_configuration.percentage_required")
        if name is not None and renamed:
            del records.configurations[(profile_id, configuration.name)]
            configuration.name = name
            records.configurations[(profile_id, name)] = configuration
        configuration.strategy = new_strategy
        configuration.percentage_required = (
            new_percentage if new_strategy == "minimum_percentage" else None
        )
        if time_limit is not None:
            configuration.time_limit = time_limit
        if devices is not None:
            configuration.device_identifiers = devices
        return Outcome.success()

    return call.accept(update)


async def delete_voting_configuration(call: Call) -> web.StreamResponse:
    """``voting-configuration/delete`` (JSON ``configurationId``; not in the seed: a guide's
    call, §b3): an unknown configuration is 404 at once; on settle it is removed.

    A configuration that a policy (active or not) still links is rejected
    ``voting_configuration.in_use``: dropping it would silently move that policy's gate to the
    profile-wide settings. Delete the policy first. Pools already open keep their rules.
    """
    body = await JsonReader.of(call)
    configuration_id = body.text("configurationId")
    body.check()
    assert configuration_id is not None
    profile_id = call.profile_id
    records = call.ctx.state.voting
    if records.configuration(profile_id, configuration_id) is None:
        return not_found()

    def delete(_command: object) -> Outcome:
        if records.configurations.get((profile_id, configuration_id)) is None:
            return Outcome.reject("voting_configuration.not_found")
        if records.policies_using(profile_id, configuration_id):
            return Outcome.reject("voting_configuration.in_use")
        del records.configurations[(profile_id, configuration_id)]
        return Outcome.success()

    return call.accept(delete)


async def list_voting_configurations(call: Call) -> web.StreamResponse:
    """``voting-configuration/list``: the caller's configurations, oldest first."""
    profile_id = call.profile_id
    return json_answer(
        [
            configuration_view(c)
            for c in call.ctx.state.voting.configurations.values()
            if c.profile_id == profile_id
        ]
    )


async def retrieve_voting_configuration(call: Call) -> web.StreamResponse:
    """``voting-configuration/retrieve/{configurationId}``: one configuration, or 404."""
    name = call.request.match_info["configurationId"]
    configuration = call.ctx.state.voting.configuration(call.profile_id, name)
    return not_found() if configuration is None else json_answer(configuration_view(configuration))


HANDLERS: Mapping[str, Handler] = {
    "authenticators.register": register,
    "authenticators.remove": remove,
    "authenticators.list": list_authenticators,
    "authenticators.retrieve_voting_strategy": retrieve_voting_strategy,
    "authenticators.set_quorum_size": set_quorum_size,
    "authenticators.set_quorum_strategy": set_quorum_strategy,
    "authenticators.set_voting_time_limit": set_voting_time_limit,
    "authenticators.set_maximum_voting_attempts": set_maximum_voting_attempts,
    "authenticators.register_voting_configuration": register_voting_configuration,
    "authenticators.update_voting_configuration": update_voting_configuration,
    "authenticators.list_voting_configurations": list_voting_configurations,
    "authenticators.retrieve_voting_configuration": retrieve_voting_configuration,
    "authenticators.delete_voting_configuration": delete_voting_configuration,
}
