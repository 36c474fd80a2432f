"""Profiles and overrides (pure: no processes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shoplake.settings import load_settings


def test_embedded_reads_endpoints_from_the_running_stack(tmp_path: Path) -> None:
    (tmp_path / "stack.json").write_text(json.dumps(
        {"endpoints": {"aws": "http://127.0.0.1:1111", "glue": "http://127.0.0.1:2222"}}))
    s = load_settings(home=tmp_path)
    assert s.profile == "embedded"
    assert s.aws_endpoint_url == "http://127.0.0.1:1111"
    assert s.glue_endpoint_url == "http://127.0.0.1:2222"
    assert s.aws_env()["AWS_ENDPOINT_URL_GLUE"] == "http://127.0.0.1:2222"
    assert s.job_engine == "duckdb"


def test_embedded_without_stack_has_no_endpoint(tmp_path: Path) -> None:
    assert load_settings(home=tmp_path).aws_endpoint_url is None


def test_aws_profile_uses_real_endpoints_and_no_static_keys(tmp_path: Path) -> None:
    s = load_settings(profile="aws", home=tmp_path)
    assert s.aws_endpoint_url is None and s.aws_access_key_id is None
    assert s.warehouse_backend == "snowflake" and s.dbt_target == "prod" and s.job_engine == "spark"
    assert "AWS_ENDPOINT_URL" not in s.aws_env()


def test_environment_overrides_profile_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPLAKE_JOB_ENGINE", "spark")
    monkeypatch.setenv("SHOPLAKE_LAKE_BUCKET", "my-lake")
    s = load_settings(home=tmp_path)
    assert s.job_engine == "spark" and s.lake_bucket == "my-lake"


def test_dotenv_file_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("SHOPLAKE_PROFILE=compose\nSHOPLAKE_ALERTS_TOPIC=t2\n")
    s = load_settings(home=tmp_path)
    assert s.profile == "compose" and s.alerts_topic == "t2"
    assert s.aws_endpoint_url == "http://127.0.0.1:4566"


def test_unknown_profile_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        load_settings(profile="prod", home=tmp_path)
