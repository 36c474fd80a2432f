"""The Glue cleanse job as the callers see it: its name and its arguments
(docs/contracts.md "Glue jobs"). The trigger Lambda, the batch DAG, the deploy and ``shoplake
wait`` all name and start the job through these, so they start the same run."""

from __future__ import annotations

#: the job's own arguments (Glue style, ``--name value``); Glue adds ``--JOB_NAME``/``--JOB_RUN_ID``
JOB_ARGUMENTS: tuple[str, ...] = ("dataset", "source_uri", "source_version", "lake_bucket")
#: failure reason of a job run stopped at one of its limits (docs/contracts.md "Limits"): the
#: job's error message starts with it, and the job-events Lambda reads it from there.
LIMIT_EXCEEDED = "limit_exceeded"


def job_name(prefix: str, dataset: str) -> str:
    """``<prefix>-<dataset>``: one Glue job per dataset with a job."""
    return f"{prefix}-{dataset}"


def job_arguments(dataset: str, bucket: str, key: str, version: str) -> dict[str, str]:
    """The Glue arguments of the run that cleanses ``s3://<bucket>/<key>`` at ``version``."""
    return {
        "--dataset": dataset,
        "--source_uri": f"s3://{bucket}/{key}",
        "--source_version": version,
        "--lake_bucket": bucket,
    }
