"""Template parameters from the settings: the only place where profiles differ (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shoplake.settings import ROOT, Settings
from shoplake_contract.datasets import JOB_DATASETS

INFRA = ROOT / "infra"
#: Datasets with a Glue cleanse job in infra/shoplake.yaml (fx_rates is loaded without one).
DATASETS = JOB_DATASETS


@dataclass(frozen=True)
class StackSpec:
    """One CloudFormation stack of the platform."""

    name: str
    template: Path
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def body(self) -> str:
        return self.template.read_text(encoding="utf-8")


def artifacts_stack(s: Settings) -> StackSpec:
    return StackSpec(f"{s.project}-artifacts", INFRA / "artifacts.yaml",
                     {"ArtifactsBucketName": s.artifacts_bucket})


def platform_parameters(
    s: Settings, code_keys: dict[str, str], snowflake: dict[str, str] | None = None
) -> dict[str, str]:
    """Parameters of infra/shoplake.yaml. ``code_keys`` come from :func:`package.keys`;
    ``snowflake`` holds SnowflakeIamUserArn/SnowflakeExternalId once the storage integration
    has been read (otherwise the template's placeholders apply)."""
    params = {
        "Project": s.project,
        "LakeBucketName": s.lake_bucket,
        "ArtifactsBucketName": s.artifacts_bucket,
        "IngestQueueName": s.ingest_queue,
        "IngestDlqName": s.ingest_dlq,
        "AlertsTopicName": s.alerts_topic,
        "AlertsQueueName": s.alerts_queue,
        "CuratedEventsQueueName": s.curated_events_queue,
        "AlertEmail": s.alert_email or "",
        "TriggerFunctionName": s.lambda_name,
        "JobEventsFunctionName": s.job_events_function,
        "SweeperFunctionName": s.sweeper_function,
        "MaxAttempts": str(s.max_attempts),
        "JobTimeoutMinutes": str(s.glue_job_timeout_minutes),
        "GlueJobPrefix": s.glue_job_prefix,
        "GlueMaxConcurrentRuns": str(s.glue_max_concurrent_runs),
        "SsmPrefix": s.ssm_prefix,
        "LogRetentionDays": str(s.log_retention_days),
        **code_keys,
    }
    params.update(snowflake or {})
    return params


def platform_stack(
    s: Settings, code_keys: dict[str, str], snowflake: dict[str, str] | None = None
) -> StackSpec:
    return StackSpec(s.project, INFRA / "shoplake.yaml", platform_parameters(s, code_keys, snowflake))
