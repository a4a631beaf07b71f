"""Policy group: templates, registration, activation (wire reference §b rows 58-66, §c7 4-7, 10).

Templates are a fixed set (:data:`..voting_state.TEMPLATES`) whose events name command routes.
Policies start inactive; while active, a command of one of their events' routes waits for a vote
(the gate of :class:`..voting_state.VotingRegistry`). ``register`` accepts the voting
configuration under ``votingConfigurationId`` (what clients send), ``configurationId`` (the
official page's name, §b2), or both, which must then agree.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ..answers import iso_time, json_answer, not_found
from ..call import Call, Handler
from ..engine import Outcome
from ..voting_state import TEMPLATES, Policy
from .authenticators import JsonReader

__all__ = ["HANDLERS"]


def policy_view(policy: Policy) -> dict[str, Any]:
    """A policy as list/retrieve answer it."""
    return {
        "id": policy.policy_id,
        "name": policy.name,
        "policyTemplateId": policy.template_id,
        "applyingEventIds": list(policy.event_ids),
        "configuration": dict(policy.configuration),
        "votingConfigurationId": policy.voting_configuration_id,
        "active": policy.active,
        "createdAt": iso_time(policy.created_at),
    }


async def list_templates(call: Call) -> web.StreamResponse:
    """``list-policy-templates``: an object keyed by template id, events keyed by event id."""
    return json_answer(
        {
            t.template_id: {
                "name": t.name,
                "description": t.description,
                "events": {e.event_id: {e.name: e.label} for e in t.events},
                "configuration": list(t.configuration),
                "votingAttributes": list(t.voting_attributes),
            }
            for t in TEMPLATES.values()
        }
    )


async def register(call: Call) -> web.StreamResponse:
    """``policy/register`` (JSON): an inactive policy on settle.

    Rejected on settle: an unknown template, an event not in it, a taken name, an unknown
    voting configuration.
    """
    body = await JsonReader.of(call)
    name = body.text("name")
    template_id = body.text("policyTemplateId")
    event_ids = body.text_list("applyingEventIds", empty=False)
    configuration = body.mapping("configuration")
    linked = body.text("votingConfigurationId", required=False)
    alias = body.text("configurationId", required=False)
    if linked and alias and linked != alias:
        body.errors["configurationId"] = ["This value should equal votingConfigurationId."]
    body.check()
    assert name is not None
    assert template_id is not None
    assert event_ids is not None
    assert configuration is not None
    voting_configuration = linked or alias
    profile_id = call.profile_id
    records = call.ctx.state.voting

    def create(_command: object) -> Outcome:
        template = TEMPLATES.get(template_id)
        if template is None:
            return Outcome.reject("policy.template_not_found")
        known = {e.event_id for e in template.events}
        if any(e not in known for e in event_ids):
            return Outcome.reject("policy.event_not_found")
        if records.policy_by_name(profile_id, name) is not None:
            return Outcome.reject("policy.already_exists")
        if (
            voting_configuration is not None
            and records.configuration(profile_id, voting_configuration) is None
        ):
            return Outcome.reject("voting_configuration.not_found")
        policy = Policy(
            str(uuid.uuid4()),
            profile_id,
            name,
            template_id,
            event_ids,
            configuration,
            voting_configuration,
            time.time(),
        )
        records.policies[policy.policy_id] = policy
        return Outcome.success()

    return call.accept(create)


def _listing(call: Call, active: bool | None) -> web.Response:
    profile_id = call.profile_id
    return json_answer(
        [
            policy_view(p)
            for p in call.ctx.state.voting.policies.values()
            if p.profile_id == profile_id and (active is None or p.active is active)
        ]
    )


async def list_active(call: Call) -> web.StreamResponse:
    """``list-active-policies``."""
    return _listing(call, True)


async def list_inactive(call: Call) -> web.StreamResponse:
    """``list-inactive-policies``."""
    return _listing(call, False)


async def list_policies(call: Call) -> web.StreamResponse:
    """``list-policies``: every registered policy of the caller."""
    return _listing(call, None)


async def retrieve(call: Call) -> web.StreamResponse:
    """``retrieve-policy/{name}``: the policy called ``name``, or 404."""
    policy = call.ctx.state.voting.policy_by_name(call.profile_id, call.request.match_info["name"])
    return not_found() if policy is None else json_answer(policy_view(policy))


def _policy_command(call: Call, policy_id: str, change: str) -> web.Response:
    profile_id = call.profile_id
    policies = call.ctx.state.voting.policies

    def decide(_command: object) -> Outcome:
        policy = policies.get(policy_id)
        if policy is None or policy.profile_id != profile_id:
            return Outcome.reject("policy.not_found")
        if change == "delete":
            del policies[policy_id]
        elif policy.active is (change == "activate"):
            return Outcome.reject(f"policy.already_{'active' if policy.active else 'inactive'}")
        else:
            policy.active = change == "activate"
        return Outcome.success()

    return call.accept(decide)


async def activate(call: Call) -> web.StreamResponse:
    """``policy/activate`` form ``policyId``: inactive → active on settle."""
    form = await call.form()
    policy_id = form.identifier("policyId")
    form.check()
    return _policy_command(call, policy_id, "activate")


async def deactivate(call: Call) -> web.StreamResponse:
    """``policy/deactivate`` form ``policyId``: active → inactive on settle."""
    form = await call.form()
    policy_id = form.identifier("policyId")
    form.check()
    return _policy_command(call, policy_id, "deactivate")


async def delete(call: Call) -> web.StreamResponse:
    """``policy/delete`` form ``policyId``: the policy disappears on settle (active or not)."""
    form = await call.form()
    policy_id = form.identifier("policyId")
    form.check()
    return _policy_command(call, policy_id, "delete")


HANDLERS: Mapping[str, Handler] = {
    "policies.list_templates": list_templates,
    "policies.register": register,
    "policies.list_active": list_active,
    "policies.list_inactive": list_inactive,
    "policies.list": list_policies,
    "policies.retrieve": retrieve,
    "policies.activate": activate,
    "policies.deactivate": deactivate,
    "policies.delete": delete,
}
