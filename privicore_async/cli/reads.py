"""``privicore health``, ``privicore devices list`` and ``privicore storage list``: one read each.

A listing shows the fields the SDK's models name and leaves out the server's other keys
(``extra``): their shape was never recorded, and an unknown key might hold a secret.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from ..client import PrivicoreClient
from .connection import run_with_client
from .exits import ExitCode
from .output import Output, table

__all__ = ["add_parsers"]

Parents = list[argparse.ArgumentParser]


def add_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], parents: Parents
) -> None:
    """Register ``health``, ``devices list`` and ``storage list``."""
    health = commands.add_parser(
        "health",
        parents=parents,
        help="ask the API whether it is healthy (no login)",
        description="GET /health. Exit status 0 when the API answers ok, 1 otherwise.",
    )
    health.set_defaults(command=_health, parser=health)
    for group, text in (
        ("devices", "the profile's devices"),
        ("storage", "the profile's storage devices"),
    ):
        parent = commands.add_parser(group, help=f"{text}: list")
        actions = parent.add_subparsers(title="actions", metavar="ACTION", required=True)
        listing = actions.add_parser("list", parents=parents, help=f"list {text}")
        listing.set_defaults(command=_LISTS[group], parser=listing)


def _health(args: argparse.Namespace, argv: list[str]) -> int:
    return run_with_client(args, _check_health, login=False)


async def _check_health(client: PrivicoreClient, out: Output) -> int:
    started = time.monotonic()
    health = await client.utility.health()
    elapsed = time.monotonic() - started
    healthy = health.status == "ok"
    if out.json:
        out.document(
            {
                "api_url": client.api_url,
                "status": health.status,
                "healthy": healthy,
                "seconds": round(elapsed, 3),
                "details": health.extra,
            }
        )
    else:
        out.lines(f"{client.api_url}: {health.status} ({elapsed * 1000:.0f} ms)")
    return ExitCode.OK if healthy else ExitCode.FAILED


def _devices(args: argparse.Namespace, argv: list[str]) -> int:
    return run_with_client(args, _list_devices)


async def _list_devices(client: PrivicoreClient, out: Output) -> int:
    devices = await client.devices.list()
    rows = [(d.device_identifier, d.name, d.status, d.created_at) for d in devices]
    _show(out, ("device_identifier", "name", "status", "created_at"), rows, "devices")
    return ExitCode.OK


def _storage(args: argparse.Namespace, argv: list[str]) -> int:
    return run_with_client(args, _list_storage)


async def _list_storage(client: PrivicoreClient, out: Output) -> int:
    devices = await client.storage.list()
    rows = [(d.device_identifier, d.name, d.online, d.registered_at) for d in devices]
    _show(out, ("device_identifier", "name", "online", "registered_at"), rows, "storage devices")
    return ExitCode.OK


def _show(
    out: Output, fields: tuple[str, ...], rows: Sequence[Sequence[object]], noun: str
) -> None:
    """A JSON array of objects, or a table (headers in capitals)."""
    if out.json:
        out.document([dict(zip(fields, row, strict=True)) for row in rows])
    elif rows:
        headers = [field.removeprefix("device_").replace("_", " ").upper() for field in fields]
        out.lines(*table(headers, rows))
    else:
        out.lines(f"no {noun}")


_LISTS = {"devices": _devices, "storage": _storage}
