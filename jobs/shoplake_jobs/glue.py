"""Thin AWS Glue shim: arguments, Spark session and Job bookkeeping when awsglue is present."""

from __future__ import annotations

import logging
import os
from typing import Any

from shoplake_contract.glue import JOB_ARGUMENTS

log = logging.getLogger(__name__)

JOB_ARGS = ["JOB_NAME", *JOB_ARGUMENTS]
#: limits (shoplake_jobs.limits.Limits): absent -> the documented default
LIMIT_ARGS = ["max_expanded_bytes", "max_line_bytes", "max_fields", "memory_limit"]
OPTIONAL_ARGS = {"JOB_RUN_ID": None, "source_version": None, **dict.fromkeys(LIMIT_ARGS)}


def resolved_options(argv: list[str], names: list[str]) -> dict[str, str]:
    """``getResolvedOptions`` of awsglue when importable, else a compatible fallback:
    ``--name value`` or ``--name=value`` pairs, unknown arguments tolerated, every
    requested name required."""
    try:
        from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]

        return dict(getResolvedOptions(argv, names))
    except ImportError:
        pass
    found: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            if not eq and i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                value = argv[i + 1]
                i += 1
            found[name] = value
        i += 1
    missing = [n for n in names if n not in found]
    if missing:
        raise SystemExit(f"missing job arguments: {', '.join('--' + n for n in missing)}")
    return {n: found[n] for n in names}


def job_args(argv: list[str]) -> dict[str, str | None]:
    """The cleanse job's arguments; ``--JOB_RUN_ID``, ``--source_version`` and the limits may
    be absent."""
    present = {a[2:].split("=", 1)[0] for a in argv if a.startswith("--")}
    wanted = [n for n in [*JOB_ARGS, "JOB_RUN_ID", *LIMIT_ARGS] if n in present or n not in OPTIONAL_ARGS]
    args: dict[str, str | None] = dict(OPTIONAL_ARGS)
    args.update(resolved_options(argv, wanted))
    return args


class GlueRun:
    """A Spark session, with GlueContext and ``Job.init/commit`` when running on Glue."""

    def __init__(self, job_name: str, args: dict[str, Any]) -> None:
        self.job: Any = None
        try:
            from awsglue.context import GlueContext  # type: ignore[import-not-found]
            from awsglue.job import Job  # type: ignore[import-not-found]
            from pyspark.context import SparkContext

            glue = GlueContext(SparkContext.getOrCreate())
            self.spark = glue.spark_session
            self.job = Job(glue)
            self.job.init(job_name, args)
        except ImportError:
            from pyspark.sql import SparkSession

            builder = SparkSession.builder.appName(job_name)
            if "PYSPARK_GATEWAY_PORT" not in os.environ:  # plain python, not spark-submit
                builder = builder.master(os.environ.get("SHOPLAKE_SPARK_MASTER", "local[2]"))
            self.spark = builder.getOrCreate()

    def commit(self) -> None:
        if self.job is not None:
            self.job.commit()

    def stop(self) -> None:
        if self.job is None:
            self.spark.stop()
