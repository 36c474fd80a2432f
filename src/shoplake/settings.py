"""The one place that knows about profiles.

``SHOPLAKE_PROFILE`` picks one of three deployments; a function per profile returns its
defaults (the way dagster's ``project_fully_featured`` returns resources per deployment).
Every field can be overridden by a ``SHOPLAKE_<FIELD>`` environment variable or a line in
``.env``. No other module branches on the profile: they read the fields below.

The embedded profile chooses free loopback ports at ``shoplake up``; the running stack
writes them to ``<home>/stack.json`` and :func:`get_settings` reads them from there.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

Profile = Literal["embedded", "compose", "aws"]
Engine = Literal["spark", "duckdb"]

#: The repository root (this file is src/shoplake/settings.py).
ROOT = Path(__file__).resolve().parents[2]

# Emulators accept any key; these are not credentials, just the emulator convention.
_EMULATOR_KEY = "test"
_EMULATOR_REGION = "us-east-1"

#: What every command that needs the local stack says when it is down (one line).
STACK_NOT_RUNNING = "the embedded stack is not running: run `shoplake up`"


class StackNotRunning(RuntimeError):
    """The profile runs on local processes and they are not up (no endpoint in stack.json).

    Raised before any AWS client exists: without it, a missing endpoint means "the real AWS
    endpoints", reached with the emulator's dummy keys."""


class Settings(BaseSettings):
    """Resolved configuration of one deployment."""

    model_config = SettingsConfigDict(
        env_prefix="SHOPLAKE_", env_file=".env", extra="ignore", frozen=True
    )

    profile: Profile = "embedded"
    project: str = "shoplake"
    #: Runtime state of the local stack (pids, logs, emulator data, warehouse file).
    home: Path = ROOT / ".shoplake"

    # --- AWS ---------------------------------------------------------------------------
    region: str = _EMULATOR_REGION
    account_id: str = "000000000000"
    #: Endpoint for every AWS service (None: the real AWS endpoints).
    aws_endpoint_url: str | None = None
    #: Endpoint for Glue only (the local Glue job runner); None: ``aws_endpoint_url``.
    glue_endpoint_url: str | None = None
    #: Static keys for emulators only; None on aws (the default credential chain is used).
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None

    lake_bucket: str = "shoplake-lake"
    artifacts_bucket: str = "shoplake-artifacts"
    ingest_queue: str = "shoplake-ingest"
    ingest_dlq: str = "shoplake-ingest-dlq"
    alerts_topic: str = "shoplake-alerts"
    alerts_queue: str = "shoplake-alerts-local"
    #: job_succeeded alerts only, for the near-real-time DAG's asset watcher
    curated_events_queue: str = "shoplake-curated-events"
    alert_email: str | None = None
    lambda_name: str = "shoplake-s3-trigger"
    glue_job_prefix: str = "shoplake-cleanse"
    #: per Glue job; a burst of N files needs N (AWS bills only the runs that execute)
    glue_max_concurrent_runs: int = 500
    glue_job_timeout_minutes: int = 60
    #: Glue runs per raw object before it goes to the DLQ (a replay starts a new budget)
    max_attempts: int = 3
    ssm_prefix: str = "/shoplake"
    #: CloudWatch Logs retention of the Lambda and Glue log groups (infra/shoplake.yaml)
    log_retention_days: int = 30

    # --- jobs ----------------------------------------------------------------------------
    job_engine: Engine = "duckdb"
    spark_master: str = "local[2]"
    #: heap of a local Spark run's driver (local[N]: the executors live in it): the job's
    #: memory bound; a run beyond it fails with limit_exceeded, not an OOM kill (Glue: the
    #: worker type sets it)
    spark_driver_memory: str = "2g"
    jars_dir: Path = ROOT / ".cache" / "jars"

    # --- warehouse -----------------------------------------------------------------------
    #: "duckdb" = local DuckDB file behind the Snowflake-compatible layer; "snowflake" = real.
    warehouse_backend: Literal["duckdb", "snowflake"] = "duckdb"
    warehouse_path: Path | None = None
    dbt_target: str = "local"

    # --- FX API --------------------------------------------------------------------------
    fx_api_url: str | None = None
    #: fields of :class:`shoplake.fx.RetryPolicy` to override, e.g.
    #: ``SHOPLAKE_FX_RETRY='{"max_attempts": 3, "read_timeout": 10}'``
    fx_retry: dict[str, int | float] = Field(default_factory=dict)
    #: first day fetched when there is no watermark yet (None: 1 January of last year)
    fx_start_date: date | None = None

    # --- Airflow -------------------------------------------------------------------------
    #: its REST API (embedded: the endpoint the running stack recorded); None: no Airflow
    airflow_url: str | None = None
    #: a user of that API; None: the local admin (<home>/airflow/admin-password)
    airflow_user: str | None = None
    airflow_password: SecretStr | None = None

    # --- daily batch -------------------------------------------------------------------
    #: the folder of day=YYYY-MM-DD batch drops (None: the committed sample); relative to the
    #: repository root unless absolute
    batch_root: Path | None = None

    # --- local stack ---------------------------------------------------------------------
    #: "processes": `shoplake up` starts local processes; "compose": docker compose;
    #: "none": nothing to start (real cloud).
    stack_mode: Literal["processes", "compose", "none"] = "processes"
    bind_host: str = "127.0.0.1"
    #: start Airflow (api-server, scheduler, dag-processor, triggerer) with the local stack
    local_airflow: bool = True
    emulator_python: Path = ROOT / ".venv-emulator" / "bin" / "python"
    #: MiniStack's AUTH=true (SigV4 checked, unsigned S3 object requests refused, IAM enforced
    #: on Lambda role sessions). Off by default: the emulator speaks plain HTTP, so the lake
    #: bucket's DenyInsecureTransport statement then denies the Lambdas (docs/local-services.md).
    emulator_auth: bool = False

    # --- derived -------------------------------------------------------------------------
    @property
    def job_events_function(self) -> str:
        return f"{self.project}-job-events"

    @property
    def sweeper_function(self) -> str:
        return f"{self.project}-sweeper"

    @property
    def stack_name(self) -> str:
        """The CloudFormation stack of infra/shoplake.yaml."""
        return self.project

    @property
    def warehouse_file(self) -> Path:
        return self.warehouse_path or self.home / "warehouse.duckdb"

    @property
    def how_to_start(self) -> str:
        """How this profile's AWS side comes up (for messages)."""
        return {"processes": "shoplake up", "compose": "use docker compose up",
                "none": "it runs on real AWS"}[self.stack_mode]

    @property
    def needs_local_stack(self) -> bool:
        """The AWS side of this profile is processes that ``shoplake up`` starts."""
        return self.stack_mode == "processes"

    def require_stack(self) -> None:
        """Raise :class:`StackNotRunning` when this profile needs the local stack and it is
        down; :func:`shoplake.aws.client` calls it before building any client."""
        if self.needs_local_stack and not self.aws_endpoint_url:
            raise StackNotRunning(STACK_NOT_RUNNING)

    def aws_env(self) -> dict[str, str]:
        """Environment variables that point stock AWS tools (CLI, boto3) at this profile."""
        env = {"AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region}
        if self.aws_endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.aws_endpoint_url
        if self.glue_endpoint_url:
            env["AWS_ENDPOINT_URL_GLUE"] = self.glue_endpoint_url
        if self.aws_access_key_id and self.aws_secret_access_key:
            env["AWS_ACCESS_KEY_ID"] = self.aws_access_key_id
            env["AWS_SECRET_ACCESS_KEY"] = self.aws_secret_access_key
        return env


# --- one function per deployment --------------------------------------------------------
def embedded_defaults(home: Path) -> dict[str, Any]:
    """No Docker: MiniStack and the local services run as processes on loopback."""
    stack = read_stack_file(home)
    endpoints = stack.get("endpoints", {})
    return {
        "aws_endpoint_url": endpoints.get("aws"),
        "glue_endpoint_url": endpoints.get("glue"),
        "fx_api_url": endpoints.get("fx_api"),
        "airflow_url": endpoints.get("airflow"),
        "aws_access_key_id": _EMULATOR_KEY,
        "aws_secret_access_key": _EMULATOR_KEY,
        "region": _EMULATOR_REGION,
        "job_engine": "duckdb",
        "warehouse_backend": "duckdb",
        "dbt_target": "local",
        "stack_mode": "processes",
    }


def compose_defaults(home: Path) -> dict[str, Any]:
    """docker compose: the same parts as containers, published on loopback."""
    return {
        "aws_endpoint_url": "http://127.0.0.1:4566",
        "glue_endpoint_url": "http://127.0.0.1:4599",
        "fx_api_url": "http://127.0.0.1:8765",
        "aws_access_key_id": _EMULATOR_KEY,
        "aws_secret_access_key": _EMULATOR_KEY,
        "region": _EMULATOR_REGION,
        "job_engine": "spark",
        "warehouse_backend": "duckdb",
        "dbt_target": "local",
        "stack_mode": "compose",
    }


def aws_defaults(home: Path) -> dict[str, Any]:
    """Real AWS and Snowflake; credentials come from the default chains, never from here."""
    return {
        "aws_endpoint_url": None,
        "glue_endpoint_url": None,
        "fx_api_url": "https://api.frankfurter.dev",
        "aws_access_key_id": None,
        "aws_secret_access_key": None,
        "job_engine": "spark",
        "warehouse_backend": "snowflake",
        "dbt_target": "prod",
        "stack_mode": "none",
    }


PROFILE_DEFAULTS = {
    "embedded": embedded_defaults,
    "compose": compose_defaults,
    "aws": aws_defaults,
}


def stack_file(home: Path) -> Path:
    return home / "stack.json"


def read_stack_file(home: Path) -> dict[str, Any]:
    try:
        return json.loads(stack_file(home).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _env_overrides() -> set[str]:
    return {k[len("SHOPLAKE_") :].lower() for k in os.environ if k.startswith("SHOPLAKE_")}


def load_settings(**overrides: Any) -> Settings:
    """Build settings: profile defaults < .env / SHOPLAKE_* variables < explicit overrides."""
    base = Settings(**{k: v for k, v in overrides.items() if k in ("profile", "home")})
    defaults = PROFILE_DEFAULTS[base.profile](base.home)
    # Environment and .env values win over profile defaults: only fill what they left unset.
    explicit = _env_overrides() | set(base.model_fields_set)
    merged = {k: v for k, v in defaults.items() if k not in explicit}
    merged.update(overrides)
    return Settings(**merged)


def refreshed(settings: Settings) -> Settings:
    """``settings`` with the endpoints the running stack wrote to ``stack.json`` since."""
    defaults = PROFILE_DEFAULTS[settings.profile](settings.home)
    keys = ("aws_endpoint_url", "glue_endpoint_url", "fx_api_url", "airflow_url")
    explicit = _env_overrides()
    return settings.model_copy(update={k: defaults[k] for k in keys if k in defaults and k not in explicit})


def get_settings() -> Settings:
    """Settings as they are now: profile, environment, ``.env`` and the running stack's
    ``stack.json``, read on every call (a few milliseconds).

    Not cached on purpose: a command calls this once at its start and passes the result down,
    so it reads ``stack.json`` once; a long-lived process (an Airflow worker, the Glue runner)
    calls it per task and sees the stack as it is then. No cache means nothing to clear after
    ``shoplake up`` writes new endpoints or a test changes the environment."""
    return load_settings()
