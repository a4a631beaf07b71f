"""Issue 12 acceptance: with its defaults, the sandbox is the wire an independent client expects.

:class:`~.minimal_client.MinimalClient` (plain aiohttp, nothing from ``privicore_async``) reads
a command's id only from the 202 body as a bare JSON string, understands only a bare status
word, and takes the first ``X-DPT-CAB-ID`` of a command as its outcome. Every test runs it
against ``Sandbox(latency=0.05, users={"me": "secret"}, devices=3)`` with every other argument
at its default, through a flow of the README at the wire level, and checks the outcomes (a
progress ack taken as an outcome would fail them) and what the sandbox served.

README flows and where they are: Quick start, "Commands and handles", "Pushed acks",
"Finishing a command in another process" and "Bulk device synchronisation" (the sync flows);
"API groups" (listing, onboarding, storage role, configuration); "OAuth applications";
"Public keys" and ``profile.provision``; "Data tokens" and "Storing data"; "Verified
authenticators, policies and voting"; "Directories". Not here: journal, crash recovery,
workers, rate limits, retries, logging and the ``MemorySender`` seam are the SDK's own
behaviour, with no wire of their own.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privicore_async.sandbox import Sandbox

from .minimal_client import ACK, MinimalClient

ANSWER, STREAM_READY = "X-DPT-CAB-REQUEST-ID", "STREAM-READY"
DONE = "Command completed successfully"


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    async with Sandbox(latency=0.05, users={"me": "secret"}, devices=3) as sandbox:
        yield sandbox


@pytest.fixture
async def me(sb: Sandbox) -> AsyncIterator[MinimalClient]:
    async with MinimalClient(sb.api_url, sb.ws_url) as client:
        await client.login("me", "secret")
        yield client


async def served_the_real_wire(sb: Sandbox, *clients: MinimalClient) -> None:
    """What the sandbox served: ids in bare-string bodies only, one settle ack per command and
    no progress ack."""
    for client in clients:
        for command_id in client.accepted:
            if sb.state.commands[command_id].profile_id is not None:  # else: no channel to ack on
                await client.outcome(command_id)  # its first ack is an outcome, or this raises
    acks = [m for client in clients for m in client.messages if m["type"] == ACK]
    assert {ack["command_status"] for ack in acks} <= {2, 3}, "a progress ack was pushed"
    assert len({ack["id"] for ack in acks}) == len(acks), "a command was acked twice"
    settled = [c for c in sb.state.commands.values() if c.profile_id is not None and c.settled]
    assert sb.ws_stats.acks_sent == len(acks) == len(settled)
    assert sb.ws_stats.acks_dropped == 0
    # Every command the sandbox accepted went out as a bare JSON string body, read as such by
    # a client: request-data is the one header-only 202 of the evidence (§a4 shape 4).
    commands = sb.state.commands.values()
    expected = sorted(c.command_id for c in commands if c.route != "data_tokens.request_data")
    assert sorted(cid for client in clients for cid in client.accepted) == expected


def signed_public_key() -> str:
    """A fresh X25519 public key in the signed format of wire reference §a10."""
    raw = X25519PrivateKey.generate().public_key().public_bytes_raw()
    versioned = bytes.fromhex("31420500") + raw
    return (versioned + hashlib.blake2b(versioned, digest_size=64).digest()).hex()


def seal(key: bytes, plaintext: bytes) -> bytes:
    """The AES-256-GCM wire bytes of §a9: IV(12) || ciphertext || tag(16)."""
    iv = os.urandom(12)
    return iv + AESGCM(key).encrypt(iv, plaintext, None)


def unseal(key: bytes, wire: bytes) -> bytes:
    return AESGCM(key).decrypt(wire[:12], wire[12:], None)


# -- authentication and listings ("Quick start", "API groups") ----------------------------------


async def test_authenticate_and_list(sb: Sandbox, me: MinimalClient) -> None:
    seeded = sb.seeded["me"]
    assert await me.call("GET", "/health", auth=False) == {"status": "ok"}
    assert await me.call("GET", "/profile/retrieve-profile-id") == {"profileId": seeded.profile_id}
    devices = await me.call("GET", "/device/retrieve-profile-devices")
    assert [(d["deviceIdentifier"], d["status"]) for d in devices] == [
        (d, "approved") for d in seeded.device_ids
    ]
    storage = await me.call("GET", "/storage/list-storage-devices")
    assert [d["deviceIdentifier"] for d in storage] == list(seeded.device_ids)
    assert all(d["online"] for d in storage)
    expiry = await me.call("POST", "/profile/authorization-token/expiry", data={})
    assert expiry["expiresAt"].endswith("+00:00")
    wrong = {"username": "me", "password": "wrong"}
    await me.call("POST", "/profile/authenticate", data=wrong, auth=False, expect=401)
    await me.call("GET", "/storage/list-storage-devices", auth=False, expect=401)
    await served_the_real_wire(sb, me)


# -- device synchronisation ("Quick start", "Pushed acks", "Bulk device synchronisation") ------
# The README's main flow. A body-only client can follow a sync only if its 202 carries the id
# in the body: the seed page says "202, no body" (wire reference row 44), and the sandbox, by
# its own guess, answers with an empty body and the id in the x-dpt-cab-id header alone.


async def test_sync_every_seeded_device_from_the_first_ack(sb: Sandbox, me: MinimalClient) -> None:
    ids = sb.seeded["me"].device_ids
    synced = await asyncio.gather(
        *(me.run("/storage/sync-device", data={"deviceIdentifier": d}) for d in ids)
    )
    assert [(state, body) for _, state, body in synced] == [("succeeded", DONE)] * len(ids)
    assert sb.stats.status_requests == 0  # the outcomes came from the socket alone
    await served_the_real_wire(sb, me)


async def test_sync_by_polling_the_bare_status(sb: Sandbox, me: MinimalClient) -> None:
    ids = sb.seeded["me"].device_ids
    command_ids = await asyncio.gather(
        *(me.command("/storage/sync-device", data={"deviceIdentifier": d}) for d in ids)
    )
    assert await asyncio.gather(*(me.poll(c) for c in command_ids)) == ["succeeded"] * len(ids)
    # "Finishing a command in another process": the id alone, no token, no socket.
    async with MinimalClient(sb.api_url, sb.ws_url) as worker:
        assert await worker.poll(command_ids[-1]) == "succeeded"
    await served_the_real_wire(sb, me)


async def test_rejected_syncs_carry_the_reason_on_the_ack(sb: Sandbox, me: MinimalClient) -> None:
    offline = sb.seeded["me"].device_ids[0]
    sb.set_device_online(offline, False)
    unknown = await me.run("/storage/sync-device", data={"deviceIdentifier": "no-such-device"})
    assert unknown[1:] == ("rejected", "device.not_found")
    assert await me.poll(unknown[0]) == "rejected"  # the bare word carries no reason
    down = await me.run("/storage/sync-device", data={"deviceIdentifier": offline})
    assert down[1:] == ("rejected", "device.offline")
    assert await me.poll(down[0]) == "rejected"
    await served_the_real_wire(sb, me)


# -- onboarding a device ("API groups": onboard, storage.register, retrieve_configuration) ------


async def test_onboard_a_device_as_storage(sb: Sandbox, me: MinimalClient) -> None:
    requested, state, _ = await me.run(
        "/device/request-unique-identifier", data={"deviceName": "edge-7"}
    )
    assert state == "succeeded"
    answer = await me.call("POST", "/device/retrieve-unique-identifier", data={"id": requested})
    device = answer["deviceIdentifier"]
    form = {"deviceIdentifier": device}
    assert (await me.run("/device/approve-device", data=form))[1:] == ("succeeded", DONE)
    assert (await me.run("/storage/register", data=form))[1:] == ("succeeded", DONE)
    config = await me.call("POST", "/device/download-device-configuration", data=form)
    assert config["device-identifier"] == device
    assert {"client-id", "client-secret", "rabbit-user", "rabbit-pass"} <= config.keys()
    storage = await me.call("GET", "/storage/list-storage-devices")
    assert device in [d["deviceIdentifier"] for d in storage]
    # A rejection that is not a sync: reason on the ack, "rejected" by polling.
    again, state, reason = await me.run("/device/approve-device", data=form)
    assert (state, reason) == ("rejected", "device.not_pending")
    assert await me.poll(again) == "rejected"
    await served_the_real_wire(sb, me)


# -- profile.provision and public keys ("Storing data", "Public keys") -------------------------


async def test_provision_a_profile_and_register_its_public_key(sb: Sandbox) -> None:
    async with MinimalClient(sb.api_url, sb.ws_url) as client:
        credentials = {"username": "alice", "password": "s3cret!"}
        registered = await client.command("/profile/register-profile", data=credentials)
        assert await client.poll(registered) == "succeeded"  # no token yet, so no socket (§c1)
        await client.login("alice", "s3cret!")
        key = signed_public_key()
        registration = await client.run("/public-key/register-public-key", data={"publicKey": key})
        assert registration[1:] == ("succeeded", DONE)
        assert await client.call("GET", "/public-key/retrieve-public-key") == {"publicKey": key}
        cab = await client.call("GET", "/dptcab/public-key")
        assert len(cab["publicKey"]) == 200
        bad = {"publicKey": key[:-2] + ("00" if key[-2:] != "00" else "11")}
        await client.call("POST", "/public-key/register-public-key", data=bad, expect=422)
        await served_the_real_wire(sb, client)


# -- OAuth ("OAuth applications") --------------------------------------------------------------


def basic(user: str, password: str) -> dict[str, str]:
    credential = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {credential}"}


async def test_oauth_code_grant(sb: Sandbox, me: MinimalClient) -> None:
    app = {"name": "my-app", "redirectUri": "https://app.example/cb", "scopes": "all"}
    application_id, state, _ = await me.run("/profile/oauth-application-register", data=app)
    assert state == "succeeded"
    form = {"applicationId": application_id}  # the register command's id (§a11)
    config = await me.call("POST", "/profile/retrieve-oauth-application-configuration", data=form)
    await me.call(
        "POST", "/profile/retrieve-oauth-application-configuration", data=form, expect=422
    )
    client_auth = basic(config["clientId"], config["clientSecret"])
    nonce = os.urandom(8).hex()
    query = [("client_id", config["clientId"]), ("nonce", nonce), ("scope[]", "all")]
    request_id, state, _ = await me.run(
        "/profile/oauth-application-request-authorization-code", method="GET", params=query
    )
    assert state == "succeeded"
    code = await me.call(
        "POST",
        "/oauth-application/retrieve-authorization-code",
        data={"id": request_id, "nonce": nonce},
        headers=client_auth,
        auth=False,
    )
    tokens = await me.call(
        "POST",
        "/oauth-application/obtain-access-token",
        data={"authorization_code": code["authorizationCode"]},
        headers=client_auth,
        auth=False,
    )
    refresh = {"refresh_token": tokens["refreshToken"]}
    raw_basic = {"Authorization": f"Basic {tokens['token']}"}
    path = "/oauth-application/refresh-access-token"
    fresh = await me.call("POST", path, data=refresh, headers=raw_basic, auth=False)
    await me.call("POST", path, data=refresh, headers=raw_basic, auth=False, expect=401)
    scope = await me.call(
        "GET",
        "/oauth-application/retrieve-oauth-application-scope",
        headers={"Authorization": f"Basic {fresh['token']}"},
        auth=False,
    )
    assert scope == {"scope": ["all"]}
    listed = await me.call("GET", "/profile/retrieve-oauth-application-list")
    assert [a["applicationId"] for a in listed] == [application_id]
    await served_the_real_wire(sb, me)


# -- data tokens ("Data tokens", "Storing data") ----------------------------------------------


async def reserve(me: MinimalClient, context: str) -> dict[str, str]:
    reservation, state, _ = await me.run(
        "/data-token/reserve-token-space", data={"context": context, "ttl": "5"}
    )
    assert state == "succeeded"
    return dict(await me.call("GET", f"/data-token/retrieve-temporary-data-token/{reservation}"))


async def promote(me: MinimalClient, temporary: str, name: str, size: int) -> str:
    meta = {"fileName": name, "extension": "pdf", "context": "invoices", "size": str(size)}
    answer = await me.call(
        "POST", "/data-token/configure-file-meta", data={"token": temporary, "path": "/", **meta}
    )
    assert answer["token"].startswith("dtk-")
    return str(answer["token"])


async def request_data(me: MinimalClient, token: str) -> dict[str, object]:
    """request-data: 202, empty body, the correlator in a header (§a4 shape 4, §c5)."""
    status, headers, body = await me.request(
        "POST", "/data-token/request-data", data={"token": token}
    )
    assert (status, body) == (202, b"")
    return await me.message(ANSWER, headers["x-dpt-cab-request-id"])


async def test_store_and_read_back_data(sb: Sandbox, me: MinimalClient) -> None:
    key = AESGCM.generate_key(bit_length=256)
    # Small: through exchange-data-for-token, read back inline on the socket.
    small = b"March invoice"
    temporary = await reserve(me, "invoices")
    exchange = {
        "temporaryTokenSpace": temporary["token"],
        "data": base64.b64encode(seal(key, small)).decode(),
    }
    assert (await me.run("/data-token/exchange-data-for-token", data=exchange))[1] == "succeeded"
    small_token = await promote(me, temporary["token"], "march", len(small))
    answer = await request_data(me, small_token)
    assert (answer["output_type"], answer["data_context"]) == (0, "invoices")
    assert unseal(key, base64.b64decode(str(answer["body"]))) == small
    # Large: raw bytes to the upstream host, back through a downstream token.
    large = os.urandom(100_000)
    temporary = await reserve(me, "invoices")
    upload_url = f"{sb.upstream_url}/?auth={temporary['stream']}"
    await me.call("POST", upload_url, data=seal(key, large), auth=False)
    large_token = await promote(me, temporary["token"], "archive", len(large))
    answer = await request_data(me, large_token)
    assert answer["output_type"] == 1
    ready = await me.message(STREAM_READY, str(answer["id"]))
    assert ready["streamUrl"] == f"{sb.downstream_url}/?auth={answer['body']}"
    download_url = f"{sb.downstream_url}/?auth={answer['body']}"
    assert unseal(key, await me.call("GET", download_url, auth=False)) == large
    listed = await me.call("GET", "/data-token/list-data-tokens", params={"perPage": "10"})
    assert [item["token"] for item in listed["items"]] == [small_token, large_token]
    assert (await me.run("/data-token/delete-data", data={"token": small_token}))[1] == "succeeded"
    await me.call("POST", "/data-token/request-data", data={"token": small_token}, expect=404)
    await served_the_real_wire(sb, me)


# -- voting ("Verified authenticators, policies and voting") -----------------------------------


async def new_device(me: MinimalClient, name: str) -> str:
    requested, state, _ = await me.run(
        "/device/request-unique-identifier", data={"deviceName": name}
    )
    assert state == "succeeded"
    answer = await me.call("POST", "/device/retrieve-unique-identifier", data={"id": requested})
    return str(answer["deviceIdentifier"])


async def test_voting_gated_approval(sb: Sandbox, me: MinimalClient) -> None:
    voter = sb.seeded["me"].device_ids[0]
    authenticator = {"deviceIdentifier": voter}
    assert (await me.run("/verified-authenticator/register", data=authenticator))[1] == "succeeded"
    board = {"name": "board", "strategy": "unanimous", "timeLimit": 60, "deviceIdentifiers": []}
    configured = await me.run("/verified-authenticator/voting-configuration/register", json=board)
    assert configured[1] == "succeeded"
    templates = await me.call("GET", "/policy/list-policy-templates")
    template_id, event_id = next(
        (template_id, event_id)
        for template_id, template in templates.items()
        for event_id, names in template["events"].items()
        if "device.approve" in names
    )
    policy = {
        "name": "four eyes",
        "policyTemplateId": template_id,
        "applyingEventIds": [event_id],
        "configuration": {"reason": "two people approve devices"},
        "votingConfigurationId": "board",
    }
    assert (await me.run("/policy/register", json=policy))[1] == "succeeded"
    registered = await me.call("GET", f"/policy/retrieve-policy/{quote('four eyes')}")
    assert (await me.run("/policy/activate", data={"policyId": registered["id"]}))[1] == "succeeded"

    # Approved by the vote: no ack (and "started") until the authenticator votes.
    approval = await me.command(
        "/device/approve-device", data={"deviceIdentifier": await new_device(me, "newcomer")}
    )
    await asyncio.sleep(0.25)  # five times the latency
    assert await me.status(approval) == "started"
    assert approval not in [m["id"] for m in me.messages]
    pool = await me.call("GET", f"/voting/check-pool-status/{approval}")
    assert (pool["status"], pool["required"], pool["approvals"]) == ("open", 1, 0)
    assert sb.vote(approval, voter, True) == "approved"
    assert await me.outcome(approval) == ("succeeded", DONE)

    # Denied by the vote: rejected with the reason on the ack.
    denial = await me.command(
        "/device/approve-device", data={"deviceIdentifier": await new_device(me, "intruder")}
    )
    assert sb.vote(denial, voter, False) == "denied"
    assert await me.outcome(denial) == ("rejected", "vote.denied")
    assert await me.poll(denial) == "rejected"
    await served_the_real_wire(sb, me)


# -- directories ("Directories") ---------------------------------------------------------------


async def test_directory_users(sb: Sandbox, me: MinimalClient) -> None:
    directory = {"directoryName": "Acme staff", "directoryShortName": "acme"}
    directory_id, state, _ = await me.run("/directory/register", data=directory)
    assert state == "succeeded"  # the directory id is the command id, as for OAuth apps
    user = {"directoryId": directory_id, "username": "bob", "givenName": "Bob", "familyName": "B"}
    assert (await me.run("/directory/create-user", data=user))[1] == "succeeded"
    (bob,) = await me.call("GET", f"/directory/list-directory-users/{directory_id}")
    assert (bob["username"], bob["givenName"]) == ("bob", "Bob")
    password = {"directoryId": directory_id, "profileId": bob["profileId"], "password": "pw-1"}
    assert (await me.run("/directory/set-profile-password", data=password))[1] == "succeeded"
    meta = {"directoryId": directory_id, "meta": {"region": "eu"}}
    assert (await me.run("/directory/store-meta", json=meta))[1] == "succeeded"
    owned = await me.call("GET", "/directory/retrieve-owned-directories")
    assert [(d["directoryId"], d["meta"]) for d in owned] == [(directory_id, {"region": "eu"})]
    async with MinimalClient(sb.api_url, sb.ws_url) as bob_client:
        await bob_client.login("bob", "pw-1")
    await served_the_real_wire(sb, me)
