"""The Airflow environment of a shoplake deployment, derived from :mod:`shoplake.settings`.

Everything Airflow needs comes in as ``AIRFLOW__*`` / ``AIRFLOW_CONN_*`` environment
variables (no ``airflow.cfg`` to keep in sync):

- ``AIRFLOW_HOME=<home>/airflow`` with a SQLite database, DAGs from ``<repo>/dags``;
- a fixed local admin (simple auth manager): the password is generated once into
  ``<home>/airflow/admin-password`` (mode 0600) and reused, so ``shoplake run batch`` and a
  browser can log in;
- one JWT secret shared by the api-server, scheduler and triggerer (tasks call the
  execution API with tokens signed by it: processes with different secrets cannot talk);
- ``aws_default``: the emulator endpoint, region and emulator keys, and Glue's own endpoint
  (the local job runner) through the amazon provider's per-service ``service_config``.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from shoplake import private
from shoplake.orchestration.nrt import queue_url
from shoplake.settings import ROOT, Settings
from shoplake_contract.keys import CURATED

ADMIN_USER = "admin"
AWS_CONN_ID = "aws_default"
DAGS_FOLDER = ROOT / "dags"


def airflow_home(settings: Settings) -> Path:
    return settings.home / "airflow"


def _secret_file(path: Path, make: Any) -> str:
    """Read ``path``, or create it once (mode 0600) with ``make()``; returns its content."""
    private.private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        value = str(make())
        fh.write(value + "\n")
    return value


def admin_password(settings: Settings) -> str:
    """The local admin's password (generated once into ``<home>/airflow/admin-password``)."""
    return _secret_file(airflow_home(settings) / "admin-password", lambda: secrets.token_urlsafe(18))


def _passwords_file(settings: Settings) -> Path:
    """The simple auth manager's JSON user -> password file (written from admin-password)."""
    path = airflow_home(settings) / "passwords.json"
    doc = json.dumps({ADMIN_USER: admin_password(settings)})
    if not path.exists() or path.read_text().strip() != doc:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(doc + "\n")
    return path


def aws_connection(
    settings: Settings, aws_url: str | None = None, glue_url: str | None = None
) -> dict[str, Any]:
    """The ``aws_default`` connection (JSON form of ``AIRFLOW_CONN_AWS_DEFAULT``).

    ``aws_url``/``glue_url`` override the settings' endpoints (``shoplake up`` knows the
    ports before the stack file does). On real AWS: no endpoints, no keys (default chain).
    """
    aws_url = aws_url or settings.aws_endpoint_url
    glue_url = glue_url or settings.glue_endpoint_url
    extra: dict[str, Any] = {"region_name": settings.region}
    if aws_url:
        extra["endpoint_url"] = aws_url
    if glue_url:
        extra["service_config"] = {"glue": {"endpoint_url": glue_url}}
    conn: dict[str, Any] = {"conn_type": "aws", "extra": extra}
    if settings.aws_access_key_id and settings.aws_secret_access_key:
        conn["login"] = settings.aws_access_key_id
        conn["password"] = settings.aws_secret_access_key
    return conn


def api_url(port: int, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{port}"


def airflow_env(
    settings: Settings,
    *,
    api_port: int | None = None,
    aws_url: str | None = None,
    glue_url: str | None = None,
    dags_folder: Path = DAGS_FOLDER,
) -> dict[str, str]:
    """Environment variables for every Airflow process (and for in-process ``dag.test()``)."""
    private.state_dir(settings)
    home = private.private_dir(airflow_home(settings))
    jwt_secret = _secret_file(home / "jwt-secret", lambda: secrets.token_urlsafe(64))
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(_passwords_file(settings)),
        "AIRFLOW__API_AUTH__JWT_SECRET": jwt_secret,
        "AIRFLOW__API__SECRET_KEY": jwt_secret,
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        # a killed scheduler's running tasks are failed (and retried) after a minute, not
        # five; orphans of a dead scheduler are looked for every 30 s
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
        "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "30",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW_CONN_" + AWS_CONN_ID.upper(): json.dumps(aws_connection(settings, aws_url, glue_url)),
        # the shoplake code the tasks run reads the same stack
        "SHOPLAKE_HOME": str(settings.home),
        "SHOPLAKE_PROFILE": settings.profile,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    env["SHOPLAKE_NRT_QUEUE_URL"] = queue_url(settings, aws_url)
    env["SHOPLAKE_NRT_ASSET_URI"] = f"s3://{settings.lake_bucket}/{CURATED}"
    if api_port:
        url = api_url(api_port, "127.0.0.1")
        env["AIRFLOW__API__HOST"] = "127.0.0.1"
        env["AIRFLOW__API__PORT"] = str(api_port)
        env["AIRFLOW__API__BASE_URL"] = url
        env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"{url}/execution/"
    return env


def topic_arn(settings: Settings) -> str:
    """ARN of the alerts topic (the account from STS, else the configured one)."""
    from shoplake.aws import account_id

    return f"arn:aws:sns:{settings.region}:{account_id(settings)}:{settings.alerts_topic}"
