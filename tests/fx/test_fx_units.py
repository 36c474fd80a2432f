"""Pure logic, no network: validation, retry arithmetic, date planning, flatten."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import pytest

from shoplake.fx.client import RetryPolicy, parse_retry_after
from shoplake.fx.dates import chunks, default_start, has_weekday, plan_range
from shoplake.fx.raw import build_doc, flatten, raw_key
from shoplake.fx.validate import ValidationError, rate_dates, validate_range, validate_single
from shoplake.fx.watermark import parameter_name

SINGLE = {
    "amount": 1.0,
    "base": "EUR",
    "date": "2024-01-05",
    "rates": {"USD": 1.0946, "JPY": 158.1},
}
RANGE = {
    "amount": 1.0,
    "base": "EUR",
    "start_date": "2023-12-29",
    "end_date": "2024-01-03",
    "rates": {
        "2023-12-29": {"USD": 1.105, "GBP": 0.86905},
        "2024-01-02": {"USD": 1.0956, "GBP": 0.86518},
        "2024-01-03": {"USD": 1.0919, "GBP": 0.86645},
    },
}


# --- validation ----------------------------------------------------------------------------
def test_valid_bodies_pass_unchanged() -> None:
    assert validate_single(copy.deepcopy(SINGLE), "EUR") == SINGLE
    assert validate_range(copy.deepcopy(RANGE), "EUR", date(2024, 1, 1), date(2024, 1, 3)) == RANGE
    assert rate_dates(SINGLE) == [date(2024, 1, 5)]
    assert rate_dates(RANGE)[0] == date(2023, 12, 29)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"base": "eur"}, "3-letter"),
        ({"base": "EURO"}, "3-letter"),
        ({"base": "USD"}, "asked for EUR"),
        ({"date": "2024-1-5"}, "ISO date"),
        ({"date": "2024-02-30"}, "ISO date"),
        ({"rates": {}}, "non-empty"),
        ({"rates": {"USD": 0}}, "positive"),
        ({"rates": {"USD": -1.2}}, "positive"),
        ({"rates": {"USD": "1.1"}}, "positive"),
        ({"rates": {"USD": True}}, "positive"),
        ({"rates": {"USD": float("nan")}}, "positive"),
        ({"rates": {"US": 1.1}}, "3-letter"),
        ({"amount": 0}, "amount"),
    ],
)
def test_invalid_single_bodies_are_rejected(change: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_single({**SINGLE, **change}, "EUR")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"start_date": "2024-01-04"}, "after end_date"),
        ({"rates": {"2024-01-09": {"USD": 1.1}}}, "outside"),
        ({"rates": {"2024-01-02": {"USD": -1}}}, "positive"),
        ({"rates": {"20240102": {"USD": 1.1}}}, "ISO date"),
        ({"rates": {"2024-01-02": {}}}, "non-empty"),
        ({"rates": []}, "non-empty"),
        ({"end_date": "2024-01-09", "rates": {"2024-01-09": {"USD": 1.1}}}, "requested end"),
    ],
)
def test_invalid_range_bodies_are_rejected(change: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_range({**RANGE, **change}, "EUR", date(2024, 1, 1), date(2024, 1, 3))


def test_range_may_start_one_business_day_early_but_not_more() -> None:
    validate_range(RANGE, "EUR", date(2023, 12, 30), date(2024, 1, 3))
    with pytest.raises(ValidationError, match="before the requested start"):
        validate_range(RANGE, "EUR", date(2024, 1, 3), date(2024, 1, 3))


def test_a_json_list_is_rejected() -> None:
    with pytest.raises(ValidationError, match="JSON object"):
        validate_single([SINGLE])


# --- retry arithmetic ----------------------------------------------------------------------
def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after(" 0 ", now) == 0.0
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:07 GMT", now) == 7.0
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_max=3.0)
    assert [policy.backoff(n, rng=lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [
        0.5,
        1.0,
        2.0,
        3.0,
        3.0,
    ]
    assert policy.backoff(3, rng=lambda: 0.25) == 0.5
    assert all(0 <= policy.backoff(4) <= 3.0 for _ in range(100))


# --- dates ---------------------------------------------------------------------------------
TODAY = date(2024, 7, 1)


def test_plan_defaults_to_watermark_plus_one_until_today() -> None:
    assert plan_range(today=TODAY, watermark=date(2024, 6, 28)) == (date(2024, 6, 29), TODAY)
    assert plan_range(today=TODAY, watermark=None) == (default_start(TODAY), TODAY)
    assert default_start(TODAY) == date(2023, 1, 1)
    assert plan_range(today=TODAY, watermark=None, first_start=date(2024, 5, 1)) == (
        date(2024, 5, 1),
        TODAY,
    )


def test_plan_is_empty_once_caught_up() -> None:
    assert plan_range(today=TODAY, watermark=TODAY) is None
    assert plan_range(today=TODAY, watermark=date(2024, 6, 30), end=date(2024, 6, 30)) is None


def test_plan_clamps_explicit_start_to_watermark_unless_told_not_to() -> None:
    kwargs = {"today": TODAY, "watermark": date(2024, 6, 10), "start": date(2024, 6, 1)}
    assert plan_range(**kwargs, end=date(2024, 6, 20)) == (date(2024, 6, 11), date(2024, 6, 20))
    assert plan_range(**kwargs, end=date(2024, 6, 20), ignore_watermark=True) == (
        date(2024, 6, 1),
        date(2024, 6, 20),
    )
    assert plan_range(**kwargs, end=date(2024, 8, 1)) == (date(2024, 6, 11), TODAY)  # no future


def test_chunks_cover_the_range_without_overlap() -> None:
    pieces = chunks(date(2023, 1, 1), date(2023, 12, 31), days=90)
    assert len(pieces) == 5
    assert pieces[0] == (date(2023, 1, 1), date(2023, 3, 31))
    assert pieces[-1] == (date(2023, 12, 27), date(2023, 12, 31))
    for (_, end), (start, _) in zip(pieces, pieces[1:], strict=False):
        assert (start - end).days == 1
    assert chunks(date(2024, 1, 1), date(2024, 1, 1)) == [(date(2024, 1, 1), date(2024, 1, 1))]
    assert chunks(date(2024, 1, 2), date(2024, 1, 1)) == []
    with pytest.raises(ValueError):
        chunks(date(2024, 1, 1), date(2024, 1, 2), days=0)


def test_has_weekday() -> None:
    assert not has_weekday(date(2024, 6, 29), date(2024, 6, 30))  # Sat, Sun
    assert has_weekday(date(2024, 6, 29), date(2024, 7, 1))
    assert has_weekday(date(2024, 6, 28), date(2024, 6, 28))


# --- raw layout and flatten ----------------------------------------------------------------
def test_raw_key_and_watermark_name() -> None:
    key = raw_key("frankfurter", date(2024, 6, 29), date(2024, 7, 1), date(2024, 7, 1))
    assert key == "raw/fx_rates/ingest_date=2024-07-01/frankfurter_2024-06-29_2024-07-01.json"
    assert parameter_name("/shoplake/", "frankfurter") == "/shoplake/fx/frankfurter/watermark"


def test_build_doc_needs_an_aware_timestamp() -> None:
    with pytest.raises(ValueError, match="timezone"):
        build_doc("frankfurter", "u", datetime(2024, 1, 1), SINGLE)


def test_flatten_range_document() -> None:
    fetched = datetime(2024, 1, 4, 15, 0, 1, 250000, tzinfo=UTC)
    rows = flatten(build_doc("frankfurter", "http://x/v1/2024-01-01..2024-01-03", fetched, RANGE))
    assert len(rows) == 6
    assert rows[0] == {
        "rate_date": date(2023, 12, 29),
        "base": "EUR",
        "currency": "GBP",
        "rate": 0.86905,
        "source": "frankfurter",
        "fetched_at": datetime(2024, 1, 4, 15, 0, 1, 250000),
    }
    assert [(r["rate_date"].isoformat(), r["currency"]) for r in rows][-2:] == [
        ("2024-01-03", "GBP"),
        ("2024-01-03", "USD"),
    ]


def test_flatten_single_document_and_amount() -> None:
    body = {**SINGLE, "amount": 10.0, "rates": {"USD": 10.946}}
    rows = flatten(build_doc("frankfurter", "u", datetime(2024, 1, 5, tzinfo=UTC), body))
    assert [(r["rate_date"], r["currency"], r["rate"]) for r in rows] == [
        (date(2024, 1, 5), "USD", pytest.approx(1.0946))
    ]


def test_retries_are_urllib3_retry_mounted_on_the_session() -> None:
    from urllib3.util import Retry

    from shoplake.fx.client import RETRY_STATUSES, FrankfurterClient

    policy = RetryPolicy(max_attempts=4, backoff_base=0.5, backoff_max=3.0)
    with FrankfurterClient("http://127.0.0.1:9", policy) as client:
        retry = client.session.get_adapter("http://127.0.0.1:9/v1/latest").max_retries
    assert isinstance(retry, Retry) and retry.total == 3
    assert set(retry.status_forcelist) == set(RETRY_STATUSES)
    assert retry.respect_retry_after_header and not retry.raise_on_status
    # urllib3 copies a Retry per attempt: the policy's waits survive the copy
    assert retry.new(total=1).policy is policy
