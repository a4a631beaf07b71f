"""The sandbox's upstream (uploads) and downstream (downloads) hosts, each on its own port.

Privicore serves large uploads and downloads from two hosts apart from the API (wire
reference §a1); their routes in the table carry ``Host.UPSTREAM`` / ``Host.DOWNSTREAM``. Each
gets its own small aiohttp app here, with the same request counting and fault injection as
the API host.
"""

from __future__ import annotations

from aiohttp import web

from ..routes import ROUTES, Host
from .call import Context, endpoint
from .faults import fault_middleware
from .handlers import HANDLERS, not_implemented

__all__ = ["DataHosts"]

_SHUTDOWN_GRACE = 0.5


class DataHosts:
    """Starts, stops and names the upstream and downstream servers of one sandbox."""

    def __init__(self, ctx: Context, host: str) -> None:
        self._ctx = ctx
        self._host = host
        self._runners: dict[Host, web.AppRunner] = {}
        self._urls: dict[Host, str] = {}

    def url(self, host: Host) -> str:
        """``http://HOST:PORT`` of a running data host."""
        if host not in self._urls:
            raise RuntimeError("the Sandbox is not started")
        return self._urls[host]

    async def start(self) -> None:
        """Bind both hosts on free ports (idempotent)."""
        for host in (Host.UPSTREAM, Host.DOWNSTREAM):
            if host in self._runners:
                continue
            runner = web.AppRunner(
                self._app(host),
                access_log=None,
                shutdown_timeout=_SHUTDOWN_GRACE,
                handler_cancellation=True,
            )
            await runner.setup()
            try:
                await web.TCPSite(runner, self._host, 0).start()
            except BaseException:
                await runner.cleanup()
                raise
            self._runners[host] = runner
            address, port = runner.addresses[0][:2]
            self._urls[host] = (
                f"http://[{address}]:{port}" if ":" in address else f"http://{address}:{port}"
            )

    async def close(self) -> None:
        """Stop both hosts (idempotent)."""
        runners, self._runners = self._runners, {}
        for runner in runners.values():
            await runner.cleanup()

    def _app(self, host: Host) -> web.Application:
        ctx = self._ctx
        app = web.Application(middlewares=[fault_middleware(ctx.faults, ctx.stats)])
        for route in ROUTES.values():
            if route.host is host:
                handler = endpoint(route, HANDLERS.get(route.name, not_implemented), ctx)
                app.router.add_route(route.method, route.path, handler, name=route.name)
        return app
