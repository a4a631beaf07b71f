"""The vault against the sandbox: encrypted store and retrieve of any size, over loopback."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from privicore_async import PrivicoreClient, errors
from privicore_async.crypto import DataKey, decrypt, verify_signed_key
from privicore_async.resources.vault import SMALL_LIMIT
from privicore_async.results import StoreMethod, StoreRequest
from privicore_async.sandbox import Sandbox

from .conftest import onboard_storage, unique_username

PASSWORD = "vault-pass-1"


def _client(sb: Sandbox, username: str, **kwargs: object) -> PrivicoreClient:
    return PrivicoreClient(
        sb.api_url,
        ws_url=sb.ws_url,
        upstream_url=sb.upstream_url,
        downstream_url=sb.downstream_url,
        username=username,
        password=PASSWORD,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
async def vault_sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(latency=0.01) as sb:
        yield sb


@pytest.fixture
async def client(vault_sandbox: Sandbox) -> AsyncIterator[PrivicoreClient]:
    username = unique_username()
    async with _client(vault_sandbox, username) as c:
        await c.profile.provision(username, PASSWORD)
        await onboard_storage(c, 1)
        assert c.acks is not None
        assert await c.acks.wait_joined(timeout=10)
        yield c


def _stored(sb: Sandbox, token: str) -> bytes:
    data = sb.state.data_tokens.tokens[token].data
    assert data is not None
    return data


async def _async_chunks(data: bytes, size: int = 7777) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


SIZES = [0, 1, SMALL_LIMIT - 1, SMALL_LIMIT, SMALL_LIMIT + 1, 1 << 20]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", ["bytes", "path", "file", "async"])
async def test_round_trip_every_size_and_source(
    client: PrivicoreClient, vault_sandbox: Sandbox, tmp_path: Path, size: int, kind: str
) -> None:
    data = os.urandom(size)
    key = DataKey.generate()
    source: object
    if kind == "bytes":
        source = data
    elif kind == "path":
        (tmp_path / "in.bin").write_bytes(data)
        source = str(tmp_path / "in.bin")
    elif kind == "file":
        source = io.BytesIO(data)
    else:
        source = _async_chunks(data)
    stored = await client.vault.store(source, key, context="docs", file_name="in.bin")  # type: ignore[arg-type]
    assert stored.token.startswith("dtk-")
    assert stored.size == size
    assert stored.extension == "bin"
    expected = StoreMethod.EXCHANGE if size <= SMALL_LIMIT else StoreMethod.UPLOAD
    assert stored.method is expected
    ciphertext = _stored(vault_sandbox, stored.token)
    assert len(ciphertext) == size + 28
    assert decrypt(key, ciphertext) == data  # the sandbox holds exactly our envelope
    assert await client.vault.retrieve(stored.token, key) == data
    meta = vault_sandbox.state.data_tokens.tokens[stored.token]
    assert (meta.size, meta.file_name, meta.context) == (size, "in.bin", "docs")


async def test_the_sandbox_never_sees_plaintext(
    client: PrivicoreClient, vault_sandbox: Sandbox
) -> None:
    marker = b"PLAINTEXT-MARKER-" * 4000  # 68 KB: goes through the upstream host
    small = b"small PLAINTEXT-MARKER"
    key = DataKey.generate()
    for data in (marker, small):
        await client.vault.store(data, key, context="c", file_name="m.txt")
    for space in vault_sandbox.state.data_tokens.spaces.values():
        assert space.data is not None
        assert b"PLAINTEXT-MARKER" not in space.data


@pytest.mark.parametrize("kind", ["async", "path", "file", "bytes"])
async def test_two_hundred_megabytes_round_trip(
    client: PrivicoreClient, tmp_path: Path, kind: str
) -> None:
    size = 200 * 1024 * 1024
    block = os.urandom(1 << 20)
    digest = hashlib.sha256()

    def blocks() -> Iterator[bytes]:
        for index in range(size // len(block)):
            yield index.to_bytes(8, "big") + block[8:]

    async def generate() -> AsyncIterator[bytes]:
        for chunk in blocks():
            digest.update(chunk)
            yield chunk

    source: object
    if kind == "async":
        source = generate()
    else:
        source_path = tmp_path / "in.dat"
        with source_path.open("wb") as file:
            for chunk in blocks():
                digest.update(chunk)
                file.write(chunk)
        if kind == "path":
            source = source_path
        elif kind == "file":
            source = source_path.open("rb")
        else:
            source = source_path.read_bytes()
    key = DataKey.generate()
    try:
        stored = await client.vault.store(source, key, context="big", file_name="big.dat")  # type: ignore[arg-type]
    finally:
        if isinstance(source, io.BufferedReader):
            source.close()
    assert stored.size == size
    assert stored.method is StoreMethod.UPLOAD
    target = tmp_path / "out.dat"
    written = await client.vault.retrieve_to(stored.token, key, target, timeout=120)
    assert written == size
    check = hashlib.sha256()
    with target.open("rb") as file:
        while chunk := file.read(1 << 20):
            check.update(chunk)
    assert check.hexdigest() == digest.hexdigest()
    assert "out.dat" in os.listdir(tmp_path)
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".privicore-")]


@pytest.mark.parametrize("size", [100, 300_000])
async def test_one_altered_byte_fails_and_writes_nothing(
    client: PrivicoreClient, vault_sandbox: Sandbox, tmp_path: Path, size: int
) -> None:
    key = DataKey.generate()
    stored = await client.vault.store(os.urandom(size), key, context="c", file_name="x.bin")
    space = vault_sandbox.state.data_tokens.tokens[stored.token]
    assert space.data is not None
    altered = bytearray(space.data)
    altered[len(altered) // 2] ^= 0x01
    space.data = bytes(altered)
    with pytest.raises(errors.DecryptionError):
        await client.vault.retrieve(stored.token, key)
    target = tmp_path / "out.bin"
    target.write_bytes(b"previous content")
    with pytest.raises(errors.DecryptionError):
        await client.vault.retrieve_to(stored.token, key, target)
    assert target.read_bytes() == b"previous content"
    assert os.listdir(tmp_path) == ["out.bin"]
    sink = io.BytesIO()
    with pytest.raises(errors.DecryptionError):
        await client.vault.retrieve_to(stored.token, key, sink)
    assert sink.getvalue() == b""


async def test_a_failed_write_mid_stream_leaves_nothing_behind(
    client: PrivicoreClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batches are decrypted and written in a worker thread while the next one arrives: a
    # write that fails there (a full disk) reaches the caller, and nothing partial remains.
    key = DataKey.generate()
    stored = await client.vault.store(os.urandom(3 << 20), key, context="c", file_name="d.bin")
    opened = tempfile.NamedTemporaryFile

    class FullDisk:
        def __init__(self, file: Any) -> None:
            self.file, self.name, self.written = file, file.name, 0

        def write(self, data: bytes) -> int:
            if self.written:
                raise OSError(28, "No space left on device")
            self.written += len(data)
            return int(self.file.write(data))

        def __getattr__(self, name: str) -> Any:
            return getattr(self.file, name)

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", lambda **kw: FullDisk(opened(**kw)))
    target = tmp_path / "out.bin"
    target.write_bytes(b"previous content")
    with pytest.raises(OSError, match="No space left"):
        await client.vault.retrieve_to(stored.token, key, target)
    assert target.read_bytes() == b"previous content"
    assert os.listdir(tmp_path) == ["out.bin"]


async def test_the_wrong_key_fails_clearly(client: PrivicoreClient) -> None:
    stored = await client.vault.store(b"data", DataKey.generate(), context="c", file_name="a")
    with pytest.raises(errors.DecryptionError, match="authentication failed"):
        await client.vault.retrieve(stored.token, DataKey.generate())


async def test_retrieve_to_a_file_object(client: PrivicoreClient) -> None:
    key = DataKey.generate()
    data = os.urandom(123_456)
    stored = await client.vault.store(data, key, context="c", file_name="f.bin")
    sink = io.BytesIO()
    assert await client.vault.retrieve_to(stored.token, key, sink) == len(data)
    assert sink.getvalue() == data


@pytest.mark.parametrize("mode", ["inline", "token", "url", "auto"])
async def test_every_reading_of_output_type(mode: str) -> None:
    async with Sandbox(latency=0.01, ws_output=mode) as sb:
        username = unique_username()
        async with _client(sb, username) as client:
            await client.profile.provision(username, PASSWORD)
            await onboard_storage(client, 1)
            key = DataKey.generate()
            for data in (b"tiny", os.urandom(80_000)):
                stored = await client.vault.store(data, key, context="c", file_name="d.bin")
                assert await client.vault.retrieve(stored.token, key) == data


async def test_retrieval_without_a_websocket_says_so(vault_sandbox: Sandbox) -> None:
    username = unique_username()
    async with PrivicoreClient(
        vault_sandbox.api_url, username=username, password=PASSWORD
    ) as client:
        await client.profile.provision(username, PASSWORD)
        await onboard_storage(client, 1)
        key = DataKey.generate()
        stored = await client.vault.store(b"x", key, context="c", file_name="a")
        before = vault_sandbox.stats.requests["data_tokens.request_data"]
        with pytest.raises(errors.PrivicoreError, match="ws_url"):
            await client.vault.retrieve(stored.token, key)
        assert vault_sandbox.stats.requests["data_tokens.request_data"] == before


async def test_bad_input_is_refused_before_sending(
    client: PrivicoreClient, vault_sandbox: Sandbox
) -> None:
    before = vault_sandbox.stats.requests["data_tokens.reserve_token_space"]
    with pytest.raises(errors.InvalidArgumentError, match="key"):
        await client.vault.store(b"x", "not a key", context="c", file_name="a")  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidArgumentError, match="file_name"):
        await client.vault.store(b"x", DataKey.generate(), context="c", file_name=" ")
    with pytest.raises(errors.InvalidArgumentError, match="data"):
        await client.vault.store(42, DataKey.generate(), context="c", file_name="a")  # type: ignore[arg-type]
    assert vault_sandbox.stats.requests["data_tokens.reserve_token_space"] == before


async def test_store_many_reports_each_item(client: PrivicoreClient) -> None:
    key = DataKey.generate()
    items = [
        StoreRequest(os.urandom(4096), key, context="batch", file_name=f"f{i}.bin")
        for i in range(40)
    ]
    items[7] = StoreRequest(b"x", key, context=" ", file_name="bad.bin")  # blank context
    progress: list[tuple[int, int]] = []
    report = await client.vault.store_many(
        items, concurrency=8, on_progress=lambda p: progress.append((p.done, p.total))
    )
    assert report.counts() == {"stored": 39, "failed": 1}
    assert [line.index for line in report.outcomes] == list(range(40))
    assert isinstance(report.outcomes[7].error, errors.InvalidArgumentError)
    assert progress[-1] == (40, 40)
    assert len(progress) == 40
    for line, item in zip(report.outcomes, items, strict=True):
        if line.stored is not None:
            assert await client.vault.retrieve(line.stored.token, key) == item.data


async def test_provision_registers_a_valid_signed_key(vault_sandbox: Sandbox) -> None:
    username = unique_username()
    async with _client(vault_sandbox, username) as client:
        provisioned = await client.profile.provision(username, PASSWORD)
        assert verify_signed_key(provisioned.signed_public_key) == provisioned.key_pair.public_key
        assert await client.public_keys.retrieve() == provisioned.signed_public_key
        assert provisioned.key_pair.private_hex() not in repr(provisioned)
        assert client.tokens.current == provisioned.token


@pytest.mark.parametrize("size", [10, 200_000])
async def test_receive_data_gives_the_stored_envelope(client: PrivicoreClient, size: int) -> None:
    key = DataKey.generate()
    data = os.urandom(size)
    stored = await client.vault.store(data, key, context="c", file_name="r.bin")
    request = await client.data_tokens.request_data(stored.token)
    wire = b"".join([chunk async for chunk in client.data_tokens.receive_data(request)])
    assert decrypt(key, wire) == data
    by_token = client.data_tokens.receive_data(stored.token, timeout=10)
    assert decrypt(key, b"".join([chunk async for chunk in by_token])) == data
