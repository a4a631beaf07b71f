"""A web service that holds one ``PrivicoreClient`` for its whole life (aiohttp.web).

    POST /devices/{device_id}/sync   sync a storage device and answer with its outcome
    GET  /commands/{command_id}      the state of a command (one still pending above, say)
    GET  /health                     200 while the service is up

The client is made when the application starts and closed when it stops (``cleanup_ctx``), so
every request shares one connection pool, one token, one command tracker and one WebSocket ack
channel. Never make a client per request: each would log in and open its own connections.

Where and who come from the ``PRIVICORE_*`` variables (``PRIVICORE_API_URL``,
``PRIVICORE_WS_URL``, ``PRIVICORE_USERNAME``, ``PRIVICORE_PASSWORD``, ...), as the README's
Quick start sets them::

    python examples/web_service.py --port 8080
    curl -X POST http://127.0.0.1:8080/devices/DEVICE_ID/sync

The service stops cleanly on SIGINT (Ctrl-C) or SIGTERM.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import AsyncIterator, Sequence

from aiohttp import web

from privicore_async import PrivicoreClient, errors

CLIENT = web.AppKey("client", PrivicoreClient)
WAIT = web.AppKey("wait", float)


async def privicore_client(app: web.Application) -> AsyncIterator[None]:
    """The application's one client: opened at startup, closed at cleanup."""
    async with PrivicoreClient() as client:
        app[CLIENT] = client
        yield


async def sync_device(request: web.Request) -> web.Response:
    """Sync one device and wait (up to ``--wait`` seconds) for its outcome.

    200 with ``"outcome": "succeeded"`` or ``"rejected"`` (and the server's ``reason``), 202
    with ``"pending"`` and the command id when it has not settled within the wait (read it
    later at ``/commands/{command_id}``), 504 when the command's own deadline passed, 400 for
    an identifier refused before sending, 502 when Privicore could not be reached or failed.
    """
    client = request.app[CLIENT]
    device_id = request.match_info["device_id"]
    try:
        handle = await client.storage.sync_device(device_id)
    except errors.InvalidArgumentError as error:
        return web.json_response({"device": device_id, "error": str(error)}, status=400)
    except errors.PrivicoreError as error:
        return web.json_response({"device": device_id, "error": str(error)}, status=502)
    if not handle.has_id:  # a 202 that named no command: there is nothing to follow
        return web.json_response(
            {"device": device_id, "outcome": "accepted", "command_id": None}, status=202
        )
    answer: dict[str, object] = {"device": device_id, "command_id": handle.command_id}
    try:
        await handle.wait(timeout=request.app[WAIT])
    except errors.CommandRejected as error:
        return web.json_response({**answer, "outcome": "rejected", "reason": error.reason})
    except errors.CommandTimeout:
        if handle.done():  # the command's deadline passed: nobody follows it any more
            return web.json_response({**answer, "outcome": "timed_out"}, status=504)
        # Only this request's wait is over: the client keeps tracking the command.
        location = request.app.router["command"].url_for(command_id=handle.command_id)
        return web.json_response(
            {**answer, "outcome": "pending"}, status=202, headers={"Location": str(location)}
        )
    except errors.PrivicoreError as error:
        return web.json_response({**answer, "error": str(error)}, status=502)
    return web.json_response({**answer, "outcome": "succeeded"})


async def command_status(request: web.Request) -> web.Response:
    """The command's state now: one status read unless the client already knows it settled."""
    client = request.app[CLIENT]
    command_id = request.match_info["command_id"]
    try:
        # The handle this client already tracks for the id, or a new one resumed from it.
        handle = client.commands.resume(command_id, kind="storage.sync_device")
        status = await handle.refresh()
    except errors.InvalidArgumentError as error:
        return web.json_response({"command_id": command_id, "error": str(error)}, status=400)
    except errors.PrivicoreError as error:
        return web.json_response({"command_id": command_id, "error": str(error)}, status=502)
    answer: dict[str, object] = {"command_id": command_id, "status": status.value}
    rejection = handle.exception() if handle.done() else None
    if isinstance(rejection, errors.CommandRejected) and rejection.reason is not None:
        answer["reason"] = rejection.reason  # only a pushed ack carries one, not a status read
    return web.json_response(answer)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def make_app(*, wait: float = 10.0) -> web.Application:
    """The application: its routes, and the client's lifetime tied to its own."""
    app = web.Application()
    app[WAIT] = wait
    app.cleanup_ctx.append(privicore_client)
    app.router.add_post("/devices/{device_id}/sync", sync_device)
    app.router.add_get("/commands/{command_id}", command_status, name="command")
    app.router.add_get("/health", health)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A web service syncing Privicore devices.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")
    parser.add_argument(
        "--wait", type=float, default=10.0, help="seconds a sync request waits for the outcome"
    )
    args = parser.parse_args(argv)
    # run_app handles SIGINT and SIGTERM: it stops serving, lets requests in flight finish,
    # then runs the cleanup (which closes the client) and returns.
    web.run_app(
        make_app(wait=args.wait),
        host=args.host,
        port=args.port,
        print=functools.partial(print, flush=True),  # "Running on ...", at once through a pipe
    )


if __name__ == "__main__":
    main()
