"""The Airflow environment and the DAG's Glue arguments (no processes, no database)."""

from __future__ import annotations

import json
import stat
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from shoplake.orchestration import config, pipeline
from shoplake.orchestration.components import airflow_components
from shoplake.settings import ROOT, load_settings


def test_airflow_env(tmp_path: Path) -> None:
    s = load_settings(home=tmp_path, aws_endpoint_url="http://127.0.0.1:4566",
                      glue_endpoint_url="http://127.0.0.1:4599")
    env = config.airflow_env(s, api_port=18080)
    assert env["AIRFLOW_HOME"] == str(tmp_path / "airflow")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("sqlite:///")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(ROOT / "dags")
    assert env["AIRFLOW__CORE__PARALLELISM"] == "4"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "False"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"
    conn = json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])
    assert conn["extra"]["endpoint_url"] == "http://127.0.0.1:4566"
    assert conn["extra"]["service_config"] == {"glue": {"endpoint_url": "http://127.0.0.1:4599"}}
    assert conn["login"] == "test"
    assert env["SHOPLAKE_NRT_QUEUE_URL"] == "http://127.0.0.1:4566/000000000000/shoplake-curated-events"

    # the admin password: generated once, private, and what the passwords file holds
    pw_file = tmp_path / "airflow" / "admin-password"
    password = pw_file.read_text().strip()
    assert len(password) >= 16
    assert stat.S_IMODE(pw_file.stat().st_mode) == 0o600
    assert config.admin_password(s) == password
    assert json.loads(Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).read_text()) == {
        "admin": password}
    # the JWT secret is shared by every process and stable across calls
    assert config.airflow_env(s, api_port=18081)["AIRFLOW__API_AUTH__JWT_SECRET"] == env[
        "AIRFLOW__API_AUTH__JWT_SECRET"]


def test_aws_connection_on_real_aws(tmp_path: Path) -> None:
    s = load_settings(home=tmp_path, profile="aws")
    conn = config.aws_connection(s)
    assert "login" not in conn and "endpoint_url" not in conn["extra"]
    assert "service_config" not in conn["extra"]


def test_components(tmp_path: Path) -> None:
    s = load_settings(home=tmp_path)
    comps = airflow_components(s, aws_url="http://127.0.0.1:4566", glue_url=None, api_port=18082)
    assert [c.name for c in comps] == ["airflow-api", "airflow-scheduler",
                                      "airflow-dag-processor", "airflow-triggerer"]
    assert comps[0].port == 18082 and comps[0].health_path == "/api/v2/monitor/health"
    assert "127.0.0.1" in comps[0].argv
    assert len({c.port for c in comps}) == 4
    for c in comps[1:]:
        assert c.argv[c.argv.index("--api-url") + 1] == "http://127.0.0.1:18082"


def test_glue_arguments_are_the_lambdas() -> None:
    """Same job, same arguments as the event path: same source_id, same curated keys."""
    from s3_trigger.handler import job_arguments

    from shoplake_contract.objects import RawObject

    s = load_settings()
    obj = RawObject(bucket=s.lake_bucket, key="raw/orders/ingest_date=2026-01-02/o.csv",
                                 version="v1", size=10)
    kwargs = pipeline.glue_job_kwargs("orders", obj.key, "v1", s)
    assert kwargs["job_name"] == "shoplake-cleanse-orders"
    assert kwargs["script_args"] == job_arguments(obj, "orders")


def test_business_day_is_the_interval_start() -> None:
    assert pipeline.business_day(datetime(2026, 1, 2, tzinfo=UTC)) == date(2026, 1, 2)
    cet = timezone(timedelta(hours=1))
    assert pipeline.business_day(datetime(2026, 1, 2, 0, 30, tzinfo=cet)) == date(2026, 1, 1)
