"""fetch_rates end to end: the stand-in over HTTP, MiniStack for S3 and SSM."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from shoplake import aws
from shoplake.fx import (
    FxResponseError,
    FxRetriesExhausted,
    RawConflictError,
    RetryPolicy,
    fetch_rates,
    flatten,
    raw_key,
)
from shoplake.fx.watermark import parameter_name, read_watermark
from shoplake.settings import Settings

NOW = datetime(2024, 7, 1, 9, 30, tzinfo=UTC)  # a Monday; "today" for every run below


def _watermark(settings: Settings, source: str = "frankfurter") -> date | None:
    ssm = aws.client("ssm", settings)
    return read_watermark(ssm, parameter_name(settings.ssm_prefix, source))


def _doc(settings: Settings, key: str) -> dict:
    body = aws.client("s3", settings).get_object(Bucket=settings.lake_bucket, Key=key)["Body"]
    return json.loads(body.read())


def test_happy_path_writes_raw_file_and_advances_watermark(
    fx_settings: Settings, policy: RetryPolicy, raw_keys: Callable[[], list[str]]
) -> None:
    result = fetch_rates(
        date(2024, 1, 1),
        date(2024, 1, 14),
        fx_settings,
        symbols=["USD", "GBP"],
        policy=policy,
        now=NOW,
    )

    key = raw_key("frankfurter", date(2024, 1, 1), date(2024, 1, 14), NOW.date())
    assert key == "raw/fx_rates/ingest_date=2024-07-01/frankfurter_2024-01-01_2024-01-14.json"
    assert result.written == [key]
    assert raw_keys() == [key]
    doc = _doc(fx_settings, key)
    assert doc["source"] == "frankfurter"
    assert doc["fetched_at"] == "2024-07-01T09:30:00.000Z"
    assert "/v1/2024-01-01..2024-01-14" in doc["request_url"]
    body = doc["response"]
    # 1 Jan is a holiday: the range starts at the business day before it (Frankfurter does so)
    assert body["start_date"] == "2023-12-29" and body["end_date"] == "2024-01-12"
    assert "2024-01-01" not in body["rates"] and "2024-01-06" not in body["rates"]
    assert set(body["rates"]["2024-01-02"]) == {"USD", "GBP"}
    # the watermark is the last ECB business date received, not the calendar end
    assert result.watermark_before is None
    assert result.watermark_after == date(2024, 1, 12) == _watermark(fx_settings)
    summary = json.loads(json.dumps(result.summary()))
    assert summary["written"] == [key] and summary["watermark_after"] == "2024-01-12"
    rows = flatten(doc)
    assert rows[0]["rate_date"] == date(2023, 12, 29)
    assert {r["rate_date"] for r in rows} >= {date(2024, 1, 2), date(2024, 1, 12)}
    assert all(r["base"] == "EUR" and r["rate"] > 0 for r in rows)


def test_long_range_is_fetched_in_chunks(
    fx_settings: Settings, policy: RetryPolicy, raw_keys: Callable[[], list[str]], control: Any
) -> None:
    result = fetch_rates(
        date(2023, 1, 1),
        date(2023, 12, 31),
        fx_settings,
        symbols=["USD"],
        policy=policy,
        now=NOW,
        chunk_days=90,
    )

    assert result.requests == 5 == len(control.requests())  # 365 days / 90
    assert [(c.start, c.end) for c in result.chunks][:2] == [
        (date(2023, 1, 1), date(2023, 3, 31)),
        (date(2023, 4, 1), date(2023, 6, 29)),
    ]
    assert len(raw_keys()) == 5 == len(result.written)
    dates = {r["rate_date"] for key in result.written for r in flatten(_doc(fx_settings, key))}
    assert max(dates) == date(2023, 12, 29)  # Friday; 31 Dec is a Sunday
    assert result.watermark_after == date(2023, 12, 29)


def test_429_then_success_honours_retry_after(
    fx_settings: Settings, policy: RetryPolicy, raw_keys: Callable[[], list[str]], control: Any
) -> None:
    control.set(mode="429", count=2, retry_after=1)

    result = fetch_rates(date(2024, 3, 4), date(2024, 3, 8), fx_settings, policy=policy, now=NOW)

    log = control.requests()
    assert len(log) == 3 == result.requests
    gaps = [b["t"] - a["t"] for a, b in zip(log, log[1:], strict=False)]
    assert all(gap >= 0.95 for gap in gaps), gaps  # waited Retry-After, not the 10 ms backoff
    assert len(result.written) == 1
    assert _watermark(fx_settings) == date(2024, 3, 8)


def test_500_exhausting_retries_writes_nothing(
    fx_settings: Settings, policy: RetryPolicy, raw_keys: Callable[[], list[str]], control: Any
) -> None:
    fetch_rates(date(2024, 1, 2), date(2024, 1, 5), fx_settings, policy=policy, now=NOW)
    keys_before = raw_keys()
    # the next run has two chunks: the first succeeds, the second keeps failing
    control.set(mode="500", count=-1, after=1)

    with pytest.raises(FxRetriesExhausted, match=r"after 3 attempts: HTTP 500"):
        fetch_rates(
            end=date(2024, 3, 1), settings=fx_settings, policy=policy, now=NOW, chunk_days=30
        )

    paths = [r["path"] for r in control.requests()[1:]]  # this run only
    assert paths == ["/v1/2024-01-06..2024-02-04"] + ["/v1/2024-02-05..2024-03-01"] * 3
    assert raw_keys() == keys_before
    assert _watermark(fx_settings) == date(2024, 1, 5)


@pytest.mark.parametrize(
    ("mode", "problem"), [("malformed", "body is not JSON"), ("invalid", "not a 3-letter")]
)
def test_bad_body_is_rejected(
    fx_settings: Settings,
    policy: RetryPolicy,
    raw_keys: Callable[[], list[str]],
    control: Any,
    mode: str,
    problem: str,
) -> None:
    control.set(mode=mode, count=1)

    with pytest.raises(FxResponseError, match=problem):
        fetch_rates(date(2024, 1, 2), date(2024, 1, 5), fx_settings, policy=policy, now=NOW)

    assert len(control.requests()) == 1  # not retried
    assert raw_keys() == []
    assert _watermark(fx_settings) is None


def test_rerun_fetches_and_writes_nothing(
    fx_settings: Settings, policy: RetryPolicy, raw_keys: Callable[[], list[str]], control: Any
) -> None:
    # Monday 09:30 UTC: the ECB publishes today's rates at 16:00 CET
    control.set(today="2024-07-01", published_until="2024-06-28", count=0)
    first = fetch_rates(date(2024, 6, 1), None, fx_settings, policy=policy, now=NOW)
    keys = raw_keys()
    assert len(keys) == 1 and first.watermark_after == date(2024, 6, 28)  # Fri before "today"

    # today's (Monday's) rates are not published yet: asking again is harmless
    second = fetch_rates(settings=fx_settings, policy=policy, now=NOW)
    third = fetch_rates(settings=fx_settings, policy=policy, now=NOW)

    for again in (second, third):
        assert again.written == []
        assert again.watermark_after == date(2024, 6, 28)
    assert raw_keys() == keys
    # watermark + 1 = Saturday; the range Sat..Mon only gave back Friday: nothing new
    assert second.chunks[0].status == "no-new-dates"

    # after publication, the next run picks up Monday only
    control.set(published_until=None, count=0)
    fourth = fetch_rates(settings=fx_settings, policy=policy, now=NOW.replace(hour=17))
    assert fourth.written == [
        "raw/fx_rates/ingest_date=2024-07-01/frankfurter_2024-06-29_2024-07-01.json"
    ]
    assert fourth.chunks[0].rate_dates == [date(2024, 7, 1)]
    assert fourth.watermark_after == date(2024, 7, 1) == _watermark(fx_settings)


def test_rerun_same_day_is_up_to_date_without_requests(
    fx_settings: Settings, policy: RetryPolicy, raw_keys: Callable[[], list[str]], control: Any
) -> None:
    fetch_rates(date(2024, 6, 24), date(2024, 6, 28), fx_settings, policy=policy, now=NOW)
    calls = len(control.requests())

    again = fetch_rates(date(2024, 6, 24), date(2024, 6, 28), fx_settings, policy=policy, now=NOW)

    assert again.start is None and again.requests == 0
    assert len(control.requests()) == calls
    assert len(raw_keys()) == 1


def test_refetch_with_same_content_is_skipped(
    fx_settings: Settings, policy: RetryPolicy, raw_keys: Callable[[], list[str]]
) -> None:
    fetch_rates(date(2024, 6, 24), date(2024, 6, 28), fx_settings, policy=policy, now=NOW)
    later = NOW.replace(hour=11)

    again = fetch_rates(
        date(2024, 6, 24),
        date(2024, 6, 28),
        fx_settings,
        policy=policy,
        now=later,
        ignore_watermark=True,
    )

    assert [c.status for c in again.chunks] == ["identical"]
    assert len(raw_keys()) == 1
    assert _doc(fx_settings, raw_keys()[0])["fetched_at"].startswith("2024-07-01T09:30")


def test_different_content_under_existing_key_is_an_error(
    fx_settings: Settings, policy: RetryPolicy, raw_keys: Callable[[], list[str]]
) -> None:
    key = raw_key("frankfurter", date(2024, 6, 24), date(2024, 6, 28), NOW.date())
    stale = {
        "source": "frankfurter",
        "request_url": "x",
        "fetched_at": "2024-07-01T08:00:00.000Z",
        "response": {
            "base": "EUR",
            "start_date": "2024-06-24",
            "end_date": "2024-06-24",
            "rates": {"2024-06-24": {"USD": 1.0}},
        },
    }
    s3 = aws.client("s3", fx_settings)
    s3.put_object(Bucket=fx_settings.lake_bucket, Key=key, Body=json.dumps(stale).encode())

    with pytest.raises(RawConflictError, match="different response"):
        fetch_rates(date(2024, 6, 24), date(2024, 6, 28), fx_settings, policy=policy, now=NOW)

    assert _doc(fx_settings, key) == stale
    assert _watermark(fx_settings) is None


def test_weekend_only_range_sends_no_request(
    fx_settings: Settings, policy: RetryPolicy, raw_keys: Callable[[], list[str]], control: Any
) -> None:
    result = fetch_rates(date(2024, 6, 29), date(2024, 6, 30), fx_settings, policy=policy, now=NOW)

    assert [c.status for c in result.chunks] == ["no-weekday"]
    assert control.requests() == [] and raw_keys() == []


def test_put_new_never_overwrites(fx_settings: Settings) -> None:
    """The conditional create (If-None-Match: *) behind the head/get check: a writer that lost
    the race sees ``identical`` or a conflict, and the stored object stays as it was."""
    from shoplake.fx.raw import build_doc, put_new

    s3 = aws.client("s3", fx_settings)
    bucket, key = fx_settings.lake_bucket, "raw/fx_rates/ingest_date=2024-07-01/race_x_y.json"
    body = {"base": "EUR", "date": "2024-06-28", "rates": {"USD": 1.07}}
    doc = build_doc("race", "u", NOW, body)

    assert put_new(s3, bucket, key, doc) == "written"
    assert (
        put_new(s3, bucket, key, build_doc("race", "u", NOW.replace(hour=12), body)) == "identical"
    )
    with pytest.raises(RawConflictError):
        put_new(s3, bucket, key, build_doc("race", "u", NOW, {**body, "rates": {"USD": 1.08}}))
    assert _doc(fx_settings, key) == doc
