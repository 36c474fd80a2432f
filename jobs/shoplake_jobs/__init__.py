"""shoplake cleanse job code (ships to AWS Glue as shoplake_jobs.zip; no shoplake imports)."""

from __future__ import annotations

from typing import Any

__all__ = ["make_io", "run"]


def make_io(engine: str, spark: Any = None, limits: Any = None) -> Any:
    """The I/O object of ``engine`` ("spark" needs a SparkSession; "duckdb" makes its own);
    ``limits``: a :class:`shoplake_jobs.limits.Limits` (None: the defaults)."""
    if engine == "duckdb":
        from shoplake_jobs.io_duckdb import DuckDBIO

        return DuckDBIO(limits=limits)
    if engine == "spark":
        if spark is None:
            raise ValueError("the spark engine needs a SparkSession")
        from shoplake_jobs.io_spark import SparkIO

        return SparkIO(spark, limits=limits)
    raise ValueError(f"unknown engine {engine!r} (spark|duckdb)")


def run(engine: str, spark: Any = None, limits: Any = None, **kwargs: Any) -> dict[str, Any]:
    """Run the cleanse job on ``engine``; kwargs as :func:`shoplake_jobs.job.run`."""
    from shoplake_jobs.job import run as run_job

    io = make_io(engine, spark, limits)
    try:
        return run_job(io, **kwargs)
    finally:
        io.close()
