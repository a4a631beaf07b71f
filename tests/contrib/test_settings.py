"""``WorkerSettings``: arguments first, then the environment, never a secret in its repr."""

from __future__ import annotations

import attrs
import pytest

from privicore_async.contrib.settings import WorkerSettings

ENV = {
    "PRIVICORE_API_URL": "https://api.example",
    "PRIVICORE_WS_URL": "wss://ws.example",
    "PRIVICORE_USERNAME": "fleet-bot",
    "PRIVICORE_PASSWORD": "pa55-from-env",
    "PRIVICORE_REDIS_URL": "redis://:redis-secret@cache.example:6379/2",
    "PRIVICORE_NAMESPACE": "fleet",
    "PRIVICORE_QUEUE": "fleet-sync",
    "PRIVICORE_RATE_LIMIT": "50",
    "PRIVICORE_RATE_BURST": "5",
}


def test_everything_not_given_comes_from_the_environment() -> None:
    settings = WorkerSettings.from_env(environ=ENV)
    assert settings == WorkerSettings(
        api_url="https://api.example",
        redis_url="redis://:redis-secret@cache.example:6379/2",
        ws_url="wss://ws.example",
        username="fleet-bot",
        password="pa55-from-env",
        namespace="fleet",
        queue="fleet-sync",
        rate_limit=(50.0, 5),
    )
    assert settings.rate_limit_key == "fleet-ratelimit"  # outside the journal's "fleet:*"


def test_arguments_win_over_the_environment() -> None:
    settings = WorkerSettings.from_env(
        api_url="http://127.0.0.1:9",
        username="other",
        queue="q2",
        rate_limit=(10.0, 2),
        concurrency=8,
        batches=3,
        idle_timeout=5.0,
        grace=1.0,
        environ=ENV,
    )
    assert (settings.api_url, settings.username, settings.queue) == (
        "http://127.0.0.1:9",
        "other",
        "q2",
    )
    assert (settings.rate_limit, settings.concurrency, settings.batches) == ((10.0, 2), 8, 3)
    assert (settings.idle_timeout, settings.grace) == (5.0, 1.0)
    assert settings.password == "pa55-from-env"


def test_defaults_without_optional_variables() -> None:
    settings = WorkerSettings.from_env(
        environ={"PRIVICORE_API_URL": "http://a", "PRIVICORE_REDIS_URL": "redis://r"}
    )
    assert (settings.namespace, settings.queue) == ("privicore", "privicore-sync")
    assert (settings.ws_url, settings.username, settings.password, settings.rate_limit) == (
        None,
        None,
        None,
        None,
    )


def test_the_repr_shows_no_password_and_no_redis_url() -> None:
    text = repr(WorkerSettings.from_env(environ=ENV))
    assert "pa55-from-env" not in text
    assert "redis-secret" not in text
    assert "cache.example" not in text
    assert "fleet-bot" in text


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"PRIVICORE_REDIS_URL": "redis://r"}, "api_url is required"),
        ({"PRIVICORE_API_URL": "http://a"}, "redis_url is required"),
        ({"PRIVICORE_API_URL": "ftp://a", "PRIVICORE_REDIS_URL": "redis://r"}, "http://"),
        (
            {
                "PRIVICORE_API_URL": "http://a",
                "PRIVICORE_REDIS_URL": "r",
                "PRIVICORE_RATE_LIMIT": "x",
            },
            "PRIVICORE_RATE_LIMIT",
        ),
    ],
)
def test_missing_or_malformed_values_are_named(environ: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        WorkerSettings.from_env(environ=environ)


@pytest.mark.parametrize(
    "changes",
    [
        {"concurrency": 0},
        {"batches": 0},
        {"idle_timeout": 0.0},
        {"grace": float("nan")},
        {"rate_limit": (0.0, 1)},
        {"rate_limit": (1.0, 0)},
        {"namespace": " "},
    ],
)
def test_values_are_checked(changes: dict[str, object]) -> None:
    settings = WorkerSettings.from_env(environ=ENV)
    with pytest.raises(ValueError):  # noqa: PT011 (each names its own field)
        attrs.evolve(settings, **changes)
