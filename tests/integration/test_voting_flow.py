"""Voting-gated operations (wire reference §c7) end to end against the sandbox: authenticators,
voting settings and configurations, policy templates and policies, manual and gated pools."""

from __future__ import annotations

import asyncio

import pytest

from privicore_async import PrivicoreClient, errors
from privicore_async.models import (
    Authenticator,
    Policy,
    QuorumStrategy,
    VotingConfiguration,
    VotingStrategy,
)
from privicore_async.sandbox import Sandbox
from privicore_async.sandbox.state import DeviceStatus
from privicore_async.sandbox.voting_state import PoolStatus

from .conftest import (
    LEGACY_STATUS,
    PASSWORD,
    Provisioned,
    make_client,
    onboard,
    register_profile,
    unique_username,
)

POLICY = "four eyes on devices"


async def pending_device(client: PrivicoreClient, name: str) -> str:
    """A requested, not yet approved device."""
    requested = await client.devices.request_unique_identifier(name)
    await requested
    assert requested.command_id is not None
    return await client.devices.retrieve_unique_identifier(requested.command_id)


async def gate_approvals(client: PrivicoreClient, configuration: str | None = "board") -> str:
    """Register and activate a policy on the approve-device event; its id."""
    templates = await client.policies.list_templates()
    template = next(t for t in templates.values() if t.event_by_name("device.approve"))
    event = template.event_by_name("device.approve")
    assert event is not None
    registered = await client.policies.register(
        POLICY,
        template.template_id,
        [event.event_id],
        {"reason": "two people approve devices"},
        voting_configuration_id=configuration,
    )
    await registered
    policy = await client.policies.retrieve(POLICY, wait=2.0)
    await (await client.policies.activate(policy.policy_id))
    return policy.policy_id


async def still_pending(sb: Sandbox, command_id: str | None) -> None:
    """The command stays started well past the sandbox latency (it waits for a vote)."""
    assert command_id is not None
    await asyncio.sleep(0.3)
    assert not sb.state.commands[command_id].settled


@LEGACY_STATUS
async def test_gated_approval_waits_for_the_vote(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    (voter,) = await onboard(client, 1, "voter")
    await (await client.authenticators.register(voter))
    assert sb.state.voting.authenticators[voter].profile_id == provisioned.profile_id
    (listed,) = await client.authenticators.list()
    assert isinstance(listed, Authenticator)
    assert (listed.device_identifier, listed.name) == (voter, "voter-0")

    await (await client.authenticators.register_voting_configuration("board", "unanimous", 60))
    assert sb.state.voting.configuration(provisioned.profile_id, "board") is not None
    policy_id = await gate_approvals(client)
    (active,) = await client.policies.list_active()
    assert (active.policy_id, active.name, active.active) == (policy_id, POLICY, True)
    assert active.voting_configuration_id == "board"
    assert await client.policies.list_inactive() == []

    # Approved by the vote: the command settles with its own rule.
    newcomer = await pending_device(client, "newcomer")
    approval = await client.devices.approve(newcomer)
    await still_pending(sb, approval.command_id)
    assert approval.command_id is not None
    pool = await client.voting.check_pool_status(approval.command_id)
    assert pool.open
    assert (pool.required, pool.approvals) == (1, 0)
    assert sb.state.devices[newcomer].status is DeviceStatus.PENDING
    assert sb.vote(approval.command_id, voter, True) == "approved"
    result = await approval
    assert result.command_id == approval.command_id
    assert sb.state.devices[newcomer].status is DeviceStatus.APPROVED
    decided = await client.voting.check_pool_status(approval.command_id)
    assert (decided.status, decided.approvals, decided.rejections) == ("approved", 1, 0)

    # Denied by the vote: rejected vote.denied, and the rule never ran.
    intruder = await pending_device(client, "intruder")
    denied = await client.devices.approve(intruder)
    await still_pending(sb, denied.command_id)
    assert denied.command_id is not None
    assert sb.vote(denied.command_id, voter, False) == "denied"
    with pytest.raises(errors.CommandRejected) as info:
        await denied
    assert info.value.reason == "vote.denied"
    assert sb.state.devices[intruder].status is DeviceStatus.PENDING
    with pytest.raises(ValueError, match="denied"):
        sb.vote(denied.command_id, voter, True)
    assert [p.status for p in sb.pools()] == [PoolStatus.APPROVED, PoolStatus.DENIED]

    # Ungated routes are not held meanwhile.
    await (await client.devices.configure_meta(voter, name="still quick"))

    # Deactivated: approvals settle at the usual latency again.
    await (await client.policies.deactivate(policy_id))
    (inactive,) = await client.policies.list_inactive()
    assert inactive.active is False
    await (await client.devices.approve(intruder))
    assert sb.state.devices[intruder].status is DeviceStatus.APPROVED
    assert len(sb.pools()) == 2

    await (await client.policies.delete(policy_id))
    assert await client.policies.list() == []
    assert sb.state.voting.policies == {}
    with pytest.raises(errors.NotFoundError):
        await client.policies.retrieve(POLICY)


@LEGACY_STATUS
async def test_unanswered_vote_times_out_after_time_limit_times_attempts(
    provisioned: Provisioned,
) -> None:
    sb, client = provisioned.sb, provisioned.client
    (voter,) = await onboard(client, 1, "voter")
    await (await client.authenticators.register(voter))
    # No voting configuration: the profile-wide settings decide.
    await (await client.authenticators.set_voting_time_limit(1))
    await (await client.authenticators.set_maximum_voting_attempts(1))
    await gate_approvals(client, configuration=None)
    device = await pending_device(client, "late")
    approval = await client.devices.approve(device, timeout=5)
    with pytest.raises(errors.CommandRejected) as info:
        await approval
    assert info.value.reason == "vote.timeout"
    elapsed = sb.state.commands[approval.command_id or ""]
    assert elapsed.settled_at is not None
    assert elapsed.settled_at - elapsed.accepted_at >= 0.9
    (pool,) = sb.pools()
    assert pool.status is PoolStatus.EXPIRED
    assert sb.state.devices[device].status is DeviceStatus.PENDING


async def test_minimum_percentage_configuration_counts_votes(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    voters = await onboard(client, 3, "voter")
    await asyncio.gather(*[await client.authenticators.register(v) for v in voters])
    await (
        await client.authenticators.register_voting_configuration(
            "board",
            QuorumStrategy.MINIMUM_PERCENTAGE,
            60,
            device_identifiers=voters,
            percentage_required=60,
        )
    )
    await gate_approvals(client)
    device = await pending_device(client, "candidate")
    approval = await client.devices.approve(device)
    assert approval.command_id is not None
    assert sb.vote(approval.command_id, voters[0], True) == "open"
    with pytest.raises(ValueError, match="already voted"):
        sb.vote(approval.command_id, voters[0], True)
    assert sb.vote(approval.command_id, voters[1], False) == "open"
    await still_pending(sb, approval.command_id)
    assert sb.vote(approval.command_id, voters[2], True) == "approved"
    await approval
    pool = await client.voting.check_pool_status(approval.command_id)
    assert (pool.required, pool.approvals, pool.rejections) == (2, 2, 1)
    assert len(pool.votes) == 3


@LEGACY_STATUS
async def test_settings_configurations_and_manual_pools(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    auth = client.authenticators
    settings = sb.state.voting.settings_of(provisioned.profile_id)

    strategy = await auth.retrieve_voting_strategy()
    assert isinstance(strategy, VotingStrategy)
    assert (strategy.strategy, strategy.strategy_params, strategy.quorum_size) == (
        "unanimous",
        100,
        1,
    )
    await (await auth.set_quorum_strategy("consensus"))
    await (await auth.set_quorum_size(2))
    await (await auth.set_voting_time_limit(120))
    await (await auth.set_maximum_voting_attempts(3))
    assert (settings.strategy, settings.strategy_params, settings.quorum_size) == (
        "consensus",
        51,
        2,
    )
    strategy = await auth.retrieve_voting_strategy()
    assert (strategy.time_limit, strategy.number_of_attempts) == (120, 3)
    assert strategy.worst_case_seconds == 360

    voters = await onboard(client, 2, "voter")
    await asyncio.gather(*[await auth.register(v) for v in voters])
    await (await auth.register_voting_configuration("team", "affirmative", 30))
    with pytest.raises(errors.CommandRejected) as info:
        await (await auth.register_voting_configuration("team", "unanimous", 30))
    assert info.value.reason == "voting_configuration.already_exists"
    await (
        await auth.update_voting_configuration(
            "team", name="team/a b", time_limit=45, device_identifiers=[voters[0]]
        )
    )
    configuration = await auth.retrieve_voting_configuration("team/a b")
    assert isinstance(configuration, VotingConfiguration)
    assert (configuration.identifier, configuration.time_limit) == ("team/a b", 45)
    assert configuration.device_identifiers == [voters[0]]
    (listed,) = await auth.list_voting_configurations()
    assert listed == configuration
    with pytest.raises(errors.NotFoundError):
        await auth.retrieve_voting_configuration("team")
    with pytest.raises(errors.CommandRejected) as info:
        await (await auth.update_voting_configuration("nope", time_limit=5))
    assert info.value.reason == "voting_configuration.not_found"

    # A manual pool: its id is the command id; the configuration narrows the voters.
    created = await client.voting.create(configuration_id="team/a b", description="release 2.0")
    await created
    assert created.command_id is not None
    pool = await client.voting.check_pool_status(created.command_id)
    assert (pool.status, pool.description, pool.required) == ("open", "release 2.0", 1)
    with pytest.raises(ValueError, match="not an authenticator"):
        sb.vote(created.command_id, voters[1], True)
    assert sb.vote(created.command_id, voters[0], True) == "approved"
    assert (await client.voting.check_pool_status(created.command_id)).status == "approved"

    # Profile-wide settings (consensus, quorum 2) for a pool without a configuration.
    plain = await client.voting.create()
    await plain
    assert plain.command_id is not None
    assert sb.vote(plain.command_id, voters[0], True) == "open"
    assert sb.vote(plain.command_id, voters[1], True) == "approved"
    with pytest.raises(errors.NotFoundError):
        await client.voting.check_pool_status("00000000-0000-0000-0000-000000000000")

    # The role goes, the device stays; a pool then needs a current authenticator.
    await asyncio.gather(*[await auth.remove(v) for v in voters])
    assert await auth.list() == []
    assert all(v in sb.state.devices for v in voters)
    with pytest.raises(errors.CommandRejected) as info:
        await (await client.voting.create(device_identifiers=[voters[0]]))
    assert info.value.reason == "authenticator.not_found"
    with pytest.raises(errors.CommandRejected) as info:
        await (await auth.remove(voters[0]))
    assert info.value.reason == "authenticator.not_found"


@LEGACY_STATUS
async def test_rules_and_validation(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    pending = await pending_device(client, "pending")
    with pytest.raises(errors.CommandRejected) as info:
        await (await client.authenticators.register(pending))
    assert info.value.reason == "device.not_approved"
    with pytest.raises(errors.CommandRejected) as info:
        await (await client.policies.activate("no-such-policy"))
    assert info.value.reason == "policy.not_found"
    with pytest.raises(errors.CommandRejected) as info:
        await (await client.policies.register(POLICY, "tpl-nope", ["evt"], {"reason": "x"}))
    assert info.value.reason == "policy.template_not_found"
    with pytest.raises(errors.CommandRejected) as info:
        await (
            await client.policies.register(
                POLICY,
                "tpl-device-management",
                ["evt-device-approve"],
                {"r": 1},
                voting_configuration_id="missing",
            )
        )
    assert info.value.reason == "voting_configuration.not_found"
    with pytest.raises(errors.CommandRejected) as info:
        await (await client.voting.create())
    assert info.value.reason == "vote.no_authenticators"

    # The SDK refuses bad input before sending; the sandbox refuses what gets past it.
    async def raw(route: str, **fields: object) -> errors.ValidationError:
        with pytest.raises(errors.ValidationError) as caught:
            # Below the SDK's own checks: the route would refuse these before sending.
            await client.transport.request(
                client.routes[route], tokens=client.tokens, fields=fields
            )
        return caught.value

    refused = await raw(
        "authenticators.set_quorum_strategy", strategy="dictator", strategy_params=5
    )
    assert (refused.status, list(refused.errors)) == (422, ["strategy"])
    refused = await raw(
        "authenticators.register_voting_configuration",
        name="x",
        strategy="unanimous",
        timeLimit="60",
        deviceIdentifiers="a,b",
    )
    assert sorted(refused.errors) == ["deviceIdentifiers", "timeLimit"]
    refused = await raw(
        "authenticators.register_voting_configuration",
        name="x",
        strategy="minimum_percentage",
        timeLimit=60,
        deviceIdentifiers=[],
    )
    assert list(refused.errors) == ["percentageRequired"]
    refused = await raw("authenticators.update_voting_configuration", configurationId="x")
    assert list(refused.errors) == ["configurationId"]
    refused = await raw(
        "policies.register", name="p", policyTemplateId="t", applyingEventIds=[], configuration={}
    )
    assert sorted(refused.errors) == ["applyingEventIds", "configuration"]
    refused = await raw("policies.activate", policyId=" ")
    assert list(refused.errors) == ["policyId"]
    assert sb.state.voting.policies == {}


@LEGACY_STATUS
async def test_voting_records_are_scoped_to_the_profile(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    (voter,) = await onboard(client, 1, "voter")
    await (await client.authenticators.register(voter))
    await (await client.authenticators.register_voting_configuration("mine", "unanimous", 60))
    created = await client.voting.create()
    await created
    policy_id = await gate_approvals(client, configuration="mine")

    other = unique_username("other")
    await register_profile(sb, other)
    async with make_client(sb, username=other, password=PASSWORD) as stranger:
        assert await stranger.authenticators.list() == []
        assert await stranger.authenticators.list_voting_configurations() == []
        assert await stranger.policies.list() == []
        with pytest.raises(errors.NotFoundError):
            await stranger.voting.check_pool_status(created.command_id or "")
        with pytest.raises(errors.NotFoundError):
            await stranger.policies.retrieve(POLICY)
        with pytest.raises(errors.CommandRejected) as info:
            await (await stranger.policies.deactivate(policy_id))
        assert info.value.reason == "policy.not_found"
        with pytest.raises(errors.CommandRejected) as info:
            await (await stranger.authenticators.remove(voter))
        assert info.value.reason == "device.not_found"
        # The other profile's policy does not gate this profile's approvals.
        (mine,) = await onboard(stranger, 1, "theirs")
        assert sb.state.devices[mine].status is DeviceStatus.APPROVED
    policy = await client.policies.retrieve(POLICY)
    assert isinstance(policy, Policy)
    assert policy.active is True


# -- the voting-configuration link of a policy (§b2) ---------------------------------------------


@LEGACY_STATUS
async def test_policy_links_its_configuration_by_voting_configuration_id_alone(
    provisioned: Provisioned,
) -> None:
    sb, client = provisioned.sb, provisioned.client
    await (await client.authenticators.register_voting_configuration("board", "unanimous", 60))
    templates = await client.policies.list_templates()
    template = next(t for t in templates.values() if t.event_by_name("device.approve"))
    event = template.event_by_name("device.approve")
    assert event is not None

    # The default: votingConfigurationId only; the opt-in adds configurationId.
    for name, also in (("by voting id", False), ("by both keys", True)):
        await (
            await client.policies.register(
                name,
                template.template_id,
                [event.event_id],
                {"reason": "x"},
                voting_configuration_id="board",
                also_configuration_id=also,
            )
        )
        policy = await client.policies.retrieve(name, wait=2.0)
        assert policy.voting_configuration_id == "board"

    # Below the SDK: the sandbox takes either key, and both only when they agree.
    async def register(**fields: object) -> None:
        await client.transport.request(
            client.routes["policies.register"],
            tokens=client.tokens,
            fields={
                "name": "raw",
                "policyTemplateId": template.template_id,
                "applyingEventIds": [event.event_id],
                "configuration": {"reason": "x"},
                **fields,
            },
        )

    with pytest.raises(errors.ValidationError) as refused:
        await register(votingConfigurationId="board", configurationId="other")
    assert list(refused.value.errors) == ["configurationId"]
    await register(configurationId="board")
    await client.policies.retrieve("raw", wait=2.0)
    linked = {p.name: p.voting_configuration_id for p in sb.state.voting.policies.values()}
    assert linked == {"by voting id": "board", "by both keys": "board", "raw": "board"}


# -- calls not in the seed (only a guide names them, §b3) ------------------------------------------


@LEGACY_STATUS
async def test_cancel_pool_rejects_the_command_it_held(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    (voter,) = await onboard(client, 1, "voter")
    await (await client.authenticators.register(voter))
    await gate_approvals(client, configuration=None)
    device = await pending_device(client, "held")
    approval = await client.devices.approve(device)
    await still_pending(sb, approval.command_id)
    assert approval.command_id is not None

    await (await client.voting.cancel_pool(approval.command_id))
    with pytest.raises(errors.CommandRejected) as info:
        await approval
    assert info.value.reason == "vote.cancelled"
    assert sb.state.devices[device].status is DeviceStatus.PENDING  # the rule never ran
    pool = await client.voting.check_pool_status(approval.command_id)
    assert (pool.status, pool.open) == ("cancelled", False)
    with pytest.raises(ValueError, match="cancelled"):
        sb.vote(approval.command_id, voter, True)

    # A pool no longer open cannot be cancelled (again).
    with pytest.raises(errors.CommandRejected) as info:
        await (await client.voting.cancel_pool(approval.command_id))
    assert info.value.reason == "vote.pool_not_open"

    # A manual pool holds no command: it just closes.
    created = await client.voting.create(description="release")
    await created
    assert created.command_id is not None
    await (await client.voting.cancel_pool(created.command_id))
    assert (await client.voting.check_pool_status(created.command_id)).status == "cancelled"
    assert [p.status for p in sb.pools()] == [PoolStatus.CANCELLED, PoolStatus.CANCELLED]
    assert len(sb.pools(status="cancelled")) == 2

    # An unknown pool, or another profile's, is 404 at once: no command is started.
    other = unique_username("other")
    await register_profile(sb, other)
    accepted = sb.stats.commands_accepted
    with pytest.raises(errors.NotFoundError):
        await client.voting.cancel_pool("00000000-0000-0000-0000-000000000000")
    async with make_client(sb, username=other, password=PASSWORD) as stranger:
        with pytest.raises(errors.NotFoundError):
            await stranger.voting.cancel_pool(created.command_id)
    assert sb.stats.commands_accepted == accepted


@LEGACY_STATUS
async def test_delete_voting_configuration_unless_a_policy_links_it(
    provisioned: Provisioned,
) -> None:
    sb, client = provisioned.sb, provisioned.client
    auth = client.authenticators
    (voter,) = await onboard(client, 1, "voter")
    await (await auth.register(voter))
    await (await auth.register_voting_configuration("board", "unanimous", 60))
    await (await auth.register_voting_configuration("spare", "affirmative", 30))
    policy_id = await gate_approvals(client, configuration="board")

    # Linked by a policy: refused, so the policy's gate never silently changes rules.
    with pytest.raises(errors.CommandRejected) as info:
        await (await auth.delete_voting_configuration("board"))
    assert info.value.reason == "voting_configuration.in_use"
    await (await client.policies.deactivate(policy_id))
    with pytest.raises(errors.CommandRejected) as info:  # inactive still links it
        await (await auth.delete_voting_configuration("board"))
    assert info.value.reason == "voting_configuration.in_use"

    await (await auth.delete_voting_configuration("spare"))
    await (await client.policies.delete(policy_id))
    await (await auth.delete_voting_configuration("board"))
    assert await auth.list_voting_configurations() == []
    assert sb.state.voting.configurations == {}
    with pytest.raises(errors.NotFoundError):
        await auth.retrieve_voting_configuration("board")
    # Unknown (deleted) configuration: 404 at once.
    with pytest.raises(errors.NotFoundError):
        await auth.delete_voting_configuration("board")
    # Another profile cannot see, so cannot delete, this profile's configurations.
    await (await auth.register_voting_configuration("mine", "unanimous", 60))
    other = unique_username("other")
    await register_profile(sb, other)
    async with make_client(sb, username=other, password=PASSWORD) as stranger:
        with pytest.raises(errors.NotFoundError):
            await stranger.authenticators.delete_voting_configuration("mine")
    assert sb.state.voting.configuration(provisioned.profile_id, "mine") is not None
