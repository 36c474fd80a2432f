"""Spark engine I/O (what AWS Glue runs).

Lines come from Spark's text source (Hadoop line reader: ``\\n``, ``\\r\\n``, ``\\r``;
``.gz`` decompressed by suffix), decoded as UTF-8 with U+FFFD for invalid bytes and
numbered in file order. Outputs are staged under ``_staging/`` of the lake itself (local
directory, ``s3://`` on Glue, ``s3a`` locally via the runner's ``--conf``); the job's commit
step moves them to their final keys.
"""

from __future__ import annotations

import logging
import os
import posixpath
from typing import Any

from shoplake_contract.datasets import compression
from shoplake_jobs.limits import LimitExceededError, Limits, scan
from shoplake_jobs.schemas import Dataset
from shoplake_jobs.storage import is_s3
from shoplake_jobs.transforms import strip_bom

log = logging.getLogger(__name__)
DataFrame = Any

#: Runtime SQL settings the job needs (timestamps are UTC; Parquet INT64 micros).
SPARK_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.compression.codec": "snappy",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.sources.partitionOverwriteMode": "static",
}


class SparkIO:
    engine = "spark"

    def __init__(self, spark: Any, limits: Limits | None = None) -> None:
        self.spark = spark
        self.limits = limits or Limits()
        for k, v in SPARK_CONF.items():
            spark.conf.set(k, v)
        self.spark.sparkContext._jsc.hadoopConfiguration().set(
            "mapreduce.fileoutputcommitter.marksuccessfuljobs", "false"
        )
        self.store: Any = None
        self.stage_key: str | None = None

    # --- reading ---------------------------------------------------------------------------
    def read_lines(self, uri: str, fmt: str = "csv") -> DataFrame:
        """``(_line_no, _raw)`` in file order, without a single-partition window.

        The object is first streamed once through the limit checks (:func:`limits.scan`, on
        the driver, nothing kept): Hadoop's reader has no expanded-size cap and silently
        skips over-long lines. Hadoop picks the codec by the exact suffix ``.gz``; a gzip
        object by the lake's case-insensitive rule (``.GZ``) is read from a copy in staging.

        Within a task, ``monotonically_increasing_id`` = (partition << 33) + position; one
        small aggregate gives each partition's first byte and line count, so every line's
        number is its partition's offset plus its position.
        """
        from itertools import chain

        from pyspark.sql import functions as F

        scan(uri, self.limits, fmt)
        raw = self.spark.read.text(_spark_path(self._readable(uri)))
        tagged = raw.select(
            F.decode(F.col("value").cast("binary"), "UTF-8").alias("_raw"),
            F.spark_partition_id().alias("_pid"),
            F.monotonically_increasing_id().alias("_mid"),
            F.input_file_block_start().alias("_block"),
        )
        parts = tagged.groupBy("_pid").agg(
            F.min("_block").alias("block"), F.count(F.lit(1)).alias("n")
        ).collect()
        base: dict[int, int] = {}
        offset = 0
        for part in sorted(parts, key=lambda r: r["block"]):
            base[part["_pid"]] = offset + 1 - (part["_pid"] << 33)
            offset += part["n"]
        if not base:
            return self.spark.createDataFrame([], "_line_no long, _raw string")
        bases = F.create_map(*chain.from_iterable((F.lit(k), F.lit(v)) for k, v in base.items()))
        lines = tagged.select(
            (F.col("_mid") + F.element_at(bases, F.col("_pid"))).cast("long").alias("_line_no"),
            "_raw",
        )
        return strip_bom(lines)

    def _readable(self, uri: str) -> str:
        """``uri``, or a staged copy named ``*.gz`` when Hadoop would miss its compression."""
        if compression(uri) != "gzip" or uri.endswith(".gz"):
            return uri
        if self.store is None or self.stage_key is None:
            raise RuntimeError("stage() first: a .GZ source is read from a staged copy")
        key = f"{self.stage_key}/source/{posixpath.basename(uri)[:-3]}.gz"
        self.store.copy(uri, key)
        log.info("%s: gzip by the case-insensitive rule, read from %s", uri, key)
        return self.store.uri(key)

    def parse_json(self, lines: DataFrame, dataset: Dataset) -> DataFrame:
        from pyspark.sql import functions as F

        body = lines.filter(F.col("_raw") != "")
        valid = F.get_json_object("_raw", "$").isNotNull()
        is_object = valid & F.ltrim(F.col("_raw")).startswith("{")
        tuple_cols = F.json_tuple("_raw", *dataset.names)
        parsed = body.select("_line_no", "_raw", is_object.alias("_ok"), valid.alias("_valid"), tuple_cols)
        renamed = parsed.toDF("_line_no", "_raw", "_ok", "_valid", *dataset.names)
        detail = F.when(F.col("_valid"), F.lit("not a JSON object")).otherwise(F.lit("invalid JSON"))
        wrong = F.when(F.lit(False), F.lit(None))
        for c in dataset.names:
            wrong = wrong.when(_not_a_json_string(F, c), F.lit(f"{c}: not a JSON string"))
        return renamed.select(
            "_line_no",
            "_raw",
            (~F.col("_ok")).alias("_malformed"),
            F.when(~F.col("_ok"), detail).alias("_malformed_detail"),
            F.when(F.col("_ok"), wrong).alias("_type_error"),
            *[F.when(F.col("_ok"), F.col(c)).alias(c) for c in dataset.names],
        )

    # --- running ---------------------------------------------------------------------------
    def limit_error(self, exc: BaseException) -> LimitExceededError | None:
        """The limit an engine error means, if any (the JVM ran out of heap)."""
        text = str(exc)
        if "java.lang.OutOfMemoryError" in text:
            line = next(ln for ln in text.splitlines() if "java.lang.OutOfMemoryError" in ln)
            return LimitExceededError(f"Spark memory exhausted ({line.strip()[:300]})")
        return None

    def keep(self, df: DataFrame) -> DataFrame:
        """``df`` is read several times: cache it."""
        return self.materialize(df, "kept")

    def materialize(self, df: DataFrame, label: str) -> DataFrame:
        from pyspark import StorageLevel

        return df.persist(StorageLevel.MEMORY_AND_DISK)

    def release(self, df: DataFrame) -> None:
        df.unpersist()

    def count(self, df: DataFrame) -> int:
        return int(df.count())

    def rows(self, df: DataFrame) -> list[dict[str, Any]]:
        return [r.asDict() for r in df.collect()]

    # --- writing ---------------------------------------------------------------------------
    def stage(self, store: Any, sid: str, run_id: str) -> str:
        self.store = store
        self.stage_key = f"_staging/{sid}/{run_id}"
        return self.stage_key

    def write_parquet(self, df: DataFrame, stage: str, partition: str) -> list[str]:
        from pyspark.sql import functions as F
        from pyspark.sql.types import TimestampType

        cols = [
            F.col(f.name).cast("timestamp_ntz").alias(f.name)
            if isinstance(f.dataType, TimestampType)
            else F.col(f.name)
            for f in df.schema.fields
        ]
        key = f"{stage}/curated"
        (
            df.select(*cols)
            .repartition(partition)
            .write.mode("overwrite")
            .partitionBy(partition)
            .parquet(_spark_path(self.store.uri(key)))
        )
        return self._files(key, ".parquet")

    def write_jsonl(self, df: DataFrame, stage: str) -> list[str]:
        key = f"{stage}/quarantine"
        (
            df.coalesce(1)
            .write.mode("overwrite")
            .option("ignoreNullFields", "false")
            .option("compression", "none")
            .json(_spark_path(self.store.uri(key)))
        )
        return self._files(key, ".json")

    def count_parquet(self, files: list[str]) -> int:
        return int(self.spark.read.parquet(*[_spark_path(f) for f in files]).count()) if files else 0

    def count_jsonl(self, files: list[str]) -> int:
        if not files:
            return 0
        return int(self.spark.read.text([_spark_path(f) for f in files]).count())

    def cleanup(self, stage: str | None) -> None:
        if stage and self.store is not None:
            self.store.remove_tree(stage)

    def close(self) -> None:
        """The session belongs to the caller (GlueContext or the entry script)."""

    def _files(self, key: str, suffix: str) -> list[str]:
        return [self.store.uri(k) for k in self.store.list(key + "/") if k.endswith(suffix)]


#: A JSON number as json_tuple gives it back (its text in the line).
JSON_NUMBER_RE = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"


def _not_a_json_string(F: Any, c: str) -> Any:
    """Whether key ``c`` of the line holds an object, array, number or boolean.

    json_tuple returns the JSON text of such values, the same as a string with that text
    (``5`` vs ``"5"``); only a typed parse of that one key tells them apart. It runs only for
    values that look like one of those (CASE evaluates lazily), so plain strings cost nothing.
    """
    from pyspark.sql.types import (
        ArrayType,
        BooleanType,
        DoubleType,
        MapType,
        StringType,
        StructField,
        StructType,
    )

    def parses_as(kind: Any) -> Any:
        return F.from_json(F.col("_raw"), StructType([StructField(c, kind)])).getField(c).isNotNull()

    v = F.col(c)
    return (
        F.when(v.startswith("{"), parses_as(MapType(StringType(), StringType())))
        .when(v.startswith("["), parses_as(ArrayType(StringType())))
        .when(v.isin("true", "false"), parses_as(BooleanType()))
        .when(v.rlike(JSON_NUMBER_RE), parses_as(DoubleType()))
        .otherwise(F.lit(False))
    )


def _spark_path(uri: str) -> str:
    """Spark paths: ``s3://`` as given (Glue: EMRFS; locally fs.s3.impl = S3A), local absolute."""
    return uri if is_s3(uri) else os.path.abspath(uri)
