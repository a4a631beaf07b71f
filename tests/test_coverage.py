"""Every route of the table has a client method and a sandbox handler, and its phase decides
what the method returns.

Route names are ``<client attribute>.<method name>``, so the walk is mechanical.
"""

from __future__ import annotations

import inspect
import typing

import attrs
import pytest

from privicore_async import CommandHandle, PrivicoreClient
from privicore_async.routes import ROUTES
from privicore_async.sandbox.handlers import HANDLERS


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


def test_every_group_is_a_client_attribute() -> None:
    assert len({_group(name) for name in ROUTES}) == 11


@pytest.mark.parametrize("name", list(ROUTES))
async def test_route_has_client_method_and_sandbox_handler(
    client: PrivicoreClient, name: str
) -> None:
    method = _client_method(client, name)
    assert method is not None, f"no client method client.{name}"
    assert inspect.iscoroutinefunction(method), f"client.{name} is not async"
    assert inspect.getdoc(method), f"client.{name} has no docstring"
    assert name in HANDLERS, f"the sandbox does not serve {name}"


@pytest.mark.parametrize("name", list(ROUTES))
async def test_the_phase_decides_whether_a_method_returns_a_handle(
    client: PrivicoreClient, name: str
) -> None:
    method = _client_method(client, name)
    assert callable(method)
    returned = inspect.signature(method, eval_str=True).return_annotation
    if attrs.has(returned):  # a result holding the handle of the command it started
        returned = typing.get_type_hints(returned).get("handle", returned)
    assert (returned is CommandHandle) is ROUTES[name].phase.tracked, returned
