"""Every route of the table has a client method and a sandbox handler (issue 3 tracks the rest).

Route names are ``<client attribute>.<method name>``, so the walk is mechanical. Groups still to
be built are listed in ``NOT_YET``; that set only ever shrinks, and the test fails if a group
listed there is in fact complete (so the list cannot go stale).
"""

from __future__ import annotations

import inspect

import pytest

from privicore_async import PrivicoreClient
from privicore_async.routes import ROUTES
from privicore_async.sandbox.handlers import HANDLERS

NOT_YET: set[str] = set()


def _group(name: str) -> str:
    return name.split(".", 1)[0]


@pytest.fixture
async def client() -> PrivicoreClient:
    async with PrivicoreClient("http://privicore.test", token="T-x") as c:
        return c


def _client_method(client: PrivicoreClient, name: str) -> object | None:
    group, method = name.split(".", 1)
    resource = getattr(client, group, None)
    return getattr(resource, method, None) if resource is not None else None


def test_route_table_is_the_seed() -> None:
    assert len(ROUTES) == 86
    assert len({_group(name) for name in ROUTES}) == 11


@pytest.mark.parametrize("name", [n for n in ROUTES if _group(n) not in NOT_YET])
async def test_route_has_client_method_and_sandbox_handler(
    client: PrivicoreClient, name: str
) -> None:
    method = _client_method(client, name)
    assert method is not None, f"no client method client.{name}"
    assert inspect.iscoroutinefunction(method), f"client.{name} is not async"
    assert inspect.getdoc(method), f"client.{name} has no docstring"
    assert name in HANDLERS, f"the sandbox does not serve {name}"


async def test_not_yet_groups_are_really_incomplete(client: PrivicoreClient) -> None:
    for group in NOT_YET:
        names = [n for n in ROUTES if _group(n) == group]
        complete = all(_client_method(client, n) and n in HANDLERS for n in names)
        assert not complete, f"{group} is complete: remove it from NOT_YET"
