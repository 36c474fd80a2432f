"""The Frankfurter stand-in: calendar and answers as pure functions, then over HTTP."""

from __future__ import annotations

from datetime import date

import pytest
import requests
from fx_api.rates import business_days, easter_sunday, is_business_day, previous_business_day, quote
from fx_api.server import answer

TODAY = date(2024, 7, 1)


def test_calendar() -> None:
    assert easter_sunday(2024) == date(2024, 3, 31)
    assert easter_sunday(2025) == date(2025, 4, 20)
    assert not is_business_day(date(2024, 3, 29))  # Good Friday
    assert not is_business_day(date(2024, 4, 1))  # Easter Monday
    assert not is_business_day(date(2024, 12, 25)) and not is_business_day(date(2024, 1, 1))
    assert not is_business_day(date(2024, 6, 29))  # Saturday
    assert previous_business_day(date(2024, 6, 30)) == date(2024, 6, 28)
    assert previous_business_day(date(1999, 1, 1)) is None
    assert len(business_days(date(2024, 12, 23), date(2024, 12, 31))) == 5  # 25, 26 Dec off


def test_rates_are_deterministic_and_base_conversion_is_consistent() -> None:
    eur = quote(date(2024, 6, 28))
    assert eur == quote(date(2024, 6, 28))
    assert eur != quote(date(2024, 6, 27))
    assert 1.0 < eur["USD"] < 1.2 and 150 < eur["JPY"] < 175
    usd = quote(date(2024, 6, 28), "USD", ["EUR", "JPY"])
    assert set(usd) == {"EUR", "JPY"}
    assert usd["EUR"] == pytest.approx(1 / eur["USD"], rel=1e-3)
    assert usd["JPY"] == pytest.approx(eur["JPY"] / eur["USD"], rel=1e-3)
    assert quote(date(2024, 6, 28), "XXX") == {}


def test_single_date_on_a_weekend_answers_the_previous_business_day() -> None:
    status, body = answer("/v1/2024-06-30", {"symbols": ["USD"]}, TODAY)
    assert status == 200
    assert body["date"] == "2024-06-28" and list(body["rates"]) == ["USD"]
    assert answer("/v1/latest", {}, TODAY)[1]["date"] == "2024-07-01"
    assert (
        answer("/v1/latest", {}, TODAY, published_until=date(2024, 6, 28))[1]["date"]
        == "2024-06-28"
    )


def test_range_lists_business_days_from_the_one_on_or_before_start() -> None:
    status, body = answer("/v1/2024-03-30..2024-04-05", {}, TODAY)
    assert status == 200
    assert body["start_date"] == "2024-03-28"  # Sat 30 Mar -> Thu 28 (Good Friday 29th)
    assert list(body["rates"]) == [
        "2024-03-28",
        "2024-04-02",
        "2024-04-03",
        "2024-04-04",
        "2024-04-05",
    ]
    assert answer("/v1/2024-06-24..", {}, TODAY)[1]["end_date"] == "2024-07-01"


@pytest.mark.parametrize(
    ("path", "query", "status", "message"),
    [
        ("/v1/2024-07-02..2024-07-05", {}, 404, "not found"),  # future
        ("/v1/1998-12-01", {}, 404, "not found"),  # before the euro
        ("/v1/latest", {"base": ["XXX"]}, 404, "not found"),
        ("/v1/latest", {"base": ["USD"], "symbols": ["USD"]}, 422, "bad currency pair"),
        ("/v1/2024-02-30", {}, 422, "invalid date"),
        ("/v1/latest", {"amount": ["-1"]}, 422, "invalid amount"),
        ("/v2/latest", {}, 404, "not found"),
    ],
)
def test_errors(path: str, query: dict, status: int, message: str) -> None:
    assert answer(path, query, TODAY) == (status, {"message": message})


def test_server_over_http(fx_api_url: str) -> None:
    health = requests.get(f"{fx_api_url}/health", timeout=5).json()
    assert health["status"] == "ok"
    resp = requests.get(
        f"{fx_api_url}/v1/2024-06-29", params={"base": "usd", "symbols": "eur,gbp"}, timeout=5
    )
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/json")
    assert resp.json()["base"] == "USD" and set(resp.json()["rates"]) == {"EUR", "GBP"}
    assert (
        requests.get(f"{fx_api_url}/v1/currencies", timeout=5).json()["USD"]
        == "United States Dollar"
    )
    bad = requests.post(f"{fx_api_url}/_control", json={"mode": "teapot"}, timeout=5)
    assert bad.status_code == 422
