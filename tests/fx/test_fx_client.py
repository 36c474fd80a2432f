"""FrankfurterClient against the stand-in over real HTTP on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from shoplake.fx import (
    FrankfurterClient,
    FxHTTPError,
    FxResponseError,
    FxRetriesExhausted,
    RetryPolicy,
)
from shoplake.settings import Settings


@pytest.fixture
def client(fx_settings: Settings, policy: RetryPolicy) -> Iterator[FrankfurterClient]:
    assert fx_settings.fx_api_url
    with FrankfurterClient(fx_settings.fx_api_url, policy) as c:
        yield c


def test_endpoints(client: FrankfurterClient, control: Any) -> None:
    control.set(today="2024-07-01", count=0)
    latest = client.latest(symbols=["USD"])
    assert latest.body["date"] == "2024-07-01" and list(latest.body["rates"]) == ["USD"]
    weekend = client.on(date(2024, 6, 30), base="USD", symbols=["EUR", "JPY"])
    assert weekend.body["date"] == "2024-06-28" and weekend.body["base"] == "USD"
    series = client.between(date(2024, 6, 24), date(2024, 6, 30), symbols=["GBP"])
    assert list(series.body["rates"]) == [f"2024-06-{d}" for d in (24, 25, 26, 27, 28)]
    assert series.url.endswith("/v1/2024-06-24..2024-06-30?base=EUR&symbols=GBP")
    assert client.attempts == 3


def test_other_4xx_fails_at_once_with_the_api_message(
    client: FrankfurterClient, control: Any
) -> None:
    with pytest.raises(FxHTTPError, match="422.*bad currency pair") as err:
        client.latest(base="USD", symbols=["USD"])
    assert err.value.status == 422
    with pytest.raises(FxHTTPError, match="404.*not found"):
        client.on(date(1998, 1, 5))
    assert len(control.requests()) == 2  # no retries


def test_503_then_success_uses_backoff(client: FrankfurterClient, control: Any) -> None:
    control.set(mode="503", count=2)
    assert client.on(date(2024, 6, 28)).body["date"] == "2024-06-28"
    assert client.attempts == 3


def test_too_long_retry_after_gives_up(client: FrankfurterClient, control: Any) -> None:
    control.set(mode="429", count=1, retry_after=3600)
    with pytest.raises(FxRetriesExhausted, match="Retry-After 3600s is too long"):
        client.latest()
    assert len(control.requests()) == 1


def test_read_timeout_is_retried(fx_settings: Settings, control: Any) -> None:
    assert fx_settings.fx_api_url
    policy = RetryPolicy(max_attempts=2, backoff_base=0.01, read_timeout=0.2)
    control.set(mode="ok", count=1, latency_ms=1000)
    with FrankfurterClient(fx_settings.fx_api_url, policy) as client:
        assert client.on(date(2024, 6, 28)).body["date"] == "2024-06-28"
        assert client.attempts == 2


def test_connection_refused_exhausts_retries(policy: RetryPolicy) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with (
            FrankfurterClient(f"http://127.0.0.1:{port}", policy) as client,
            pytest.raises(FxRetriesExhausted, match="after 3 attempts: ConnectionError"),
        ):
            client.latest()


def test_malformed_body(client: FrankfurterClient, control: Any) -> None:
    control.set(mode="malformed", count=1)
    with pytest.raises(FxResponseError, match="not JSON"):
        client.latest()
