"""Where the client connects and as whom: its arguments or ``PRIVICORE_*``, checked once.

An argument left out (``None``) is read from the environment; an empty string is an explicit
"none" that the environment does not fill (``ws_url=""``: no ack channel, whatever
``PRIVICORE_WS_URL`` says). The client passes an empty environment when built with
``env=False``.

Every URL must be absolute, of the right scheme, with a host and no user-info (a password in
a URL ends up in logs and reprs); every credential must be usable as it will be sent. A
credential that would travel in clear text (``http://``, ``ws://``) to a host that is not on
this machine warns with :class:`~privicore_async.errors.InsecureTransportWarning`.
"""

from __future__ import annotations

import ipaddress
import os
import warnings
from collections.abc import Mapping
from urllib.parse import urlsplit

import attrs

from .arguments import require_text, require_token, require_url
from .errors import InsecureTransportWarning, InvalidArgumentError

__all__ = ["ClientConfig"]

_HTTP = ("http", "https")
_WS = ("ws", "wss")
# Reserved names that never reach a real server (RFC 2606, RFC 6761): tests and examples.
_RESERVED_SUFFIXES = (".test", ".example", ".invalid", ".localhost")


def _on_this_machine_or_reserved(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(_RESERVED_SUFFIXES):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@attrs.frozen
class ClientConfig:
    """The checked connection settings of a :class:`~privicore_async.PrivicoreClient`."""

    api_url: str
    ws_url: str | None = None
    upstream_url: str | None = None
    downstream_url: str | None = None
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    token: str | None = attrs.field(default=None, repr=False)

    @classmethod
    def resolve(
        cls,
        *,
        api_url: str | None,
        ws_url: str | None,
        upstream_url: str | None,
        downstream_url: str | None,
        username: str | None,
        password: str | None,
        token: str | None,
        env: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        """The arguments, or the environment (``os.environ`` unless ``env`` is given) where an
        argument is ``None``, checked. An empty string is "none": the environment is not read.

        Raises :class:`~privicore_async.errors.InvalidArgumentError` (a ``ValueError``)
        naming the argument, never quoting a value.
        """
        env = os.environ if env is None else env

        def given(value: str | None, variable: str) -> str | None:
            return env.get(variable) if value is None else value

        api_url = given(api_url, "PRIVICORE_API_URL")
        if not api_url:
            raise InvalidArgumentError("api_url", "is required (or set PRIVICORE_API_URL)")
        config = cls(
            api_url=require_url("api_url", api_url, schemes=_HTTP).rstrip("/"),
            ws_url=_optional_url("ws_url", given(ws_url, "PRIVICORE_WS_URL"), _WS),
            upstream_url=_optional_url(
                "upstream_url", given(upstream_url, "PRIVICORE_UPSTREAM_URL"), _HTTP
            ),
            downstream_url=_optional_url(
                "downstream_url", given(downstream_url, "PRIVICORE_DOWNSTREAM_URL"), _HTTP
            ),
            username=_optional(given(username, "PRIVICORE_USERNAME")),
            password=_optional(given(password, "PRIVICORE_PASSWORD")),
            token=None if token is None else require_token("token", token),
        )
        if config.username is not None:
            require_text("username", config.username)
        if config.password is not None and not isinstance(config.password, str):
            raise InvalidArgumentError("password", "must be a string")
        config._warn_if_clear_text()
        return config

    @property
    def has_credentials(self) -> bool:
        """True when the client will send a password or a token."""
        return bool(self.token or (self.username and self.password))

    def _warn_if_clear_text(self) -> None:
        if not self.has_credentials:
            return
        for name, url, plain in (("api_url", self.api_url, "http"), ("ws_url", self.ws_url, "ws")):
            if url is None or urlsplit(url).scheme != plain:
                continue
            if not _on_this_machine_or_reserved(url):
                warnings.warn(
                    InsecureTransportWarning(
                        f"{name} is {plain}:// to another host: the password and tokens "
                        f"would travel in clear text (use {plain}s://)"
                    ),
                    stacklevel=4,
                )


def _optional(value: str | None) -> str | None:
    return value or None


def _optional_url(argument: str, value: str | None, schemes: tuple[str, ...]) -> str | None:
    return None if not value else require_url(argument, value, schemes=schemes)
