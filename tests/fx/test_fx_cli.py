"""``shoplake fetch-rates`` with settings from the environment, as a user runs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

from shoplake.commands.fx import fetch_rates_command
from shoplake.settings import Settings


@pytest.fixture
def env_settings(fx_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Settings:
    for field in (
        "aws_endpoint_url",
        "aws_access_key_id",
        "aws_secret_access_key",
        "fx_api_url",
        "lake_bucket",
        "ssm_prefix",
    ):
        monkeypatch.setenv(f"SHOPLAKE_{field.upper()}", str(getattr(fx_settings, field)))
    monkeypatch.setenv("SHOPLAKE_HOME", str(tmp_path))
    monkeypatch.setenv("SHOPLAKE_FX_RETRY", '{"max_attempts": 2, "backoff_base": 0.01}')
    yield fx_settings


def test_fetch_rates_command(
    env_settings: Settings, raw_keys: Callable[[], list[str]], control: Any
) -> None:
    runner = CliRunner()
    args = ["--start", "2024-06-24", "--end", "2024-06-28", "--symbols", "usd, gbp"]

    first = runner.invoke(fetch_rates_command, args)
    again = runner.invoke(fetch_rates_command, args)

    assert first.exit_code == 0, first.output
    assert "2024-06-24..2024-06-28: written (5 business day(s))" in first.output
    assert "watermark: None -> 2024-06-28" in first.output
    assert again.exit_code == 0 and "up to date (watermark 2024-06-28)" in again.output
    assert len(raw_keys()) == 1
    assert control.requests()[0]["query"] == "base=EUR&symbols=GBP%2CUSD"


def test_fetch_rates_command_failure(
    env_settings: Settings, raw_keys: Callable[[], list[str]], control: Any
) -> None:
    control.set(mode="500", count=-1)
    result = CliRunner().invoke(
        fetch_rates_command, ["--start", "2024-06-24", "--end", "2024-06-28"]
    )
    assert result.exit_code == 1
    assert "failed after 2 attempts: HTTP 500" in result.output  # policy from SHOPLAKE_FX_RETRY
    assert "nothing written, watermark unchanged" in result.output
    assert raw_keys() == []


def test_bad_date_option(env_settings: Settings) -> None:
    result = CliRunner().invoke(fetch_rates_command, ["--start", "June"])
    assert result.exit_code == 2 and "not a date" in result.output
