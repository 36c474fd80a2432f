"""DuckDB engine I/O (sqlframe DataFrames over an in-process DuckDB connection).

Raw lines are split in Arrow (no Python loop per row): invalid UTF-8 bytes become U+FFFD
(as Spark's decoder does), line ends are ``\\n``, ``\\r\\n`` or ``\\r`` (as Hadoop's line
reader). Outputs are staged in a local temporary directory; the job's commit step moves them
to the lake (a local directory or S3 via boto3: DuckDB's httpfs is not used).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from shoplake_contract.datasets import compression
from shoplake_jobs.limits import LimitExceededError, Limits, scan
from shoplake_jobs.schemas import Dataset
from shoplake_jobs.storage import is_s3

log = logging.getLogger(__name__)
DataFrame = Any


class DuckDBIO:
    engine = "duckdb"

    def __init__(self, threads: int | None = None, limits: Limits | None = None) -> None:
        import duckdb
        from sqlframe.duckdb import DuckDBSession

        self.limits = limits or Limits()
        # all scratch (decoded copies, staging, DuckDB's spill files) is under this one folder,
        # removed by close() on every exit path (the entry script turns SIGTERM into an exit)
        self.tmp = tempfile.mkdtemp(prefix="shoplake-duckdb-")
        self.conn = duckdb.connect()
        self.conn.execute("SET TimeZone = 'UTC'")
        self.conn.execute("SET preserve_insertion_order = false")
        # a memory bound: past it DuckDB spills to scratch or raises OutOfMemoryException
        # (-> limit_exceeded), instead of growing until the kernel kills the process
        self.conn.execute(f"SET memory_limit = '{_q(self.limits.memory_limit)}'")
        self.conn.execute(f"SET temp_directory = '{_q(os.path.join(self.tmp, 'spill'))}'")
        if threads:
            self.conn.execute(f"SET threads = {int(threads)}")
        self.session = DuckDBSession(conn=self.conn)
        self._n = 0

    # --- reading ---------------------------------------------------------------------------
    def read_lines(self, uri: str, fmt: str = "csv") -> DataFrame:
        """``(_line_no, _raw)``: the physical lines of a text file (gzip: gunzipped).

        The object is checked against the limits in one streaming pass (:func:`limits.scan`).
        DuckDB reads and splits a clean local UTF-8 file itself; an S3 object, a gzip file or
        one with invalid UTF-8 is decoded by that pass (invalid bytes -> U+FFFD) into a
        temporary file.
        """
        import duckdb

        if not is_s3(uri) and not os.path.isfile(uri):
            raise FileNotFoundError(f"source not found: {uri!r}")
        name = self._name("lines")
        if is_s3(uri) or compression(uri):
            path = self._clean_copy(uri, fmt)
        else:
            scan(uri, self.limits, fmt)
            path = uri
        try:
            self._split_lines(name, path)
        except duckdb.InvalidInputException as exc:  # invalid UTF-8
            log.warning("%s is not valid UTF-8 (%s): invalid bytes become U+FFFD", uri, exc)
            self._split_lines(name, self._clean_copy(path, fmt))
        return self.session.table(name)

    def _split_lines(self, name: str, path: str) -> None:
        # Hadoop's line reader ends a line at \n, \r\n or \r; a final line end adds no line.
        text = (
            "CASE WHEN contains(content, chr(13)) THEN replace(replace(content, chr(13) || chr(10),"
            " chr(10)), chr(13), chr(10)) ELSE content END"
        )
        self.conn.execute(
            f"CREATE TABLE {name} AS SELECT _line_no, _raw FROM ("
            f" SELECT generate_subscripts(l, 1)::BIGINT AS _line_no, unnest(l) AS _raw, len(l) AS _n"
            f" FROM (SELECT CASE WHEN content = '' THEN []::VARCHAR[] ELSE string_split({text}, chr(10))"
            f" END AS l FROM read_text('{_q(path)}'))"
            f") WHERE NOT (_line_no = _n AND _raw = '')"
        )
        # A UTF-8 byte-order mark starts the first line only.
        self.conn.execute(
            f"UPDATE {name} SET _raw = substr(_raw, 2) WHERE _line_no = 1 AND starts_with(_raw, chr(65279))"
        )

    def _clean_copy(self, uri: str, fmt: str) -> str:
        """A UTF-8 copy of ``uri`` (gunzipped; invalid bytes replaced by U+FFFD), streamed
        through the limit checks: a bomb stops at the cap, with the partial copy in scratch."""
        fd, clean = tempfile.mkstemp(suffix=".txt", dir=self.tmp)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            scan(uri, self.limits, fmt, out=out)
        return clean

    def parse_json(self, lines: DataFrame, dataset: Dataset) -> DataFrame:
        """JSON Lines -> ``(_line_no, _raw, _malformed, _malformed_detail, _type_error, <columns>)``."""
        ok = "coalesce(json_valid(_raw) AND json_type(CASE WHEN json_valid(_raw) THEN _raw END) = 'OBJECT', false)"
        cols = ", ".join(
            f"CASE WHEN {ok} THEN json_extract_string(_raw, '$.\"{c}\"') END AS \"{c}\""
            for c in dataset.names
        )
        # every contract column is text: a JSON object/array/number/boolean is a bad_type
        # (shoplake_jobs.schemas), never loaded as its JSON text
        wrong = " ".join(
            f"WHEN json_type(_raw, '$.\"{c}\"') NOT IN ('VARCHAR', 'NULL') THEN '{c}: not a JSON string'"
            for c in dataset.names
        )
        name = self._name("parsed")
        self.conn.execute(
            f"CREATE TABLE {name} AS SELECT _line_no, _raw, NOT {ok} AS _malformed, "
            f"CASE WHEN NOT {ok} THEN CASE WHEN coalesce(json_valid(_raw), false) "
            f"THEN 'not a JSON object' ELSE 'invalid JSON' END END AS _malformed_detail, "
            f"CASE WHEN {ok} THEN CASE {wrong} END END AS _type_error, {cols} "
            f"FROM ({self._sql(lines)}) WHERE _raw <> ''"
        )
        return self.session.table(name)

    # --- running ---------------------------------------------------------------------------
    def limit_error(self, exc: BaseException) -> LimitExceededError | None:
        """The limit an engine error means, if any (DuckDB ran out of its memory_limit)."""
        import duckdb

        if isinstance(exc, duckdb.OutOfMemoryException):
            first = str(exc).splitlines()[0]
            return LimitExceededError(f"memory_limit {self.limits.memory_limit} reached ({first})")
        return None

    def keep(self, df: DataFrame) -> DataFrame:
        """``df`` is read several times: it is a table already (:meth:`read_lines`)."""
        return df

    def materialize(self, df: DataFrame, label: str) -> DataFrame:
        name = self._name(label)
        self.conn.execute(f"CREATE TABLE {name} AS {self._sql(df)}")
        return self.session.table(name)

    def release(self, df: DataFrame) -> None:
        """Nothing to do: tables vanish with the in-memory connection."""

    def count(self, df: DataFrame) -> int:
        return int(self.conn.execute(f"SELECT count(*) FROM ({self._sql(df)})").fetchone()[0])

    def rows(self, df: DataFrame) -> list[dict[str, Any]]:
        """Rows of a SMALL frame as dicts."""
        cur = self.conn.execute(self._sql(df))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    # --- writing ---------------------------------------------------------------------------
    def stage(self, store: Any, sid: str, run_id: str) -> str:
        return tempfile.mkdtemp(prefix=f"stage-{sid}-", dir=self.tmp)

    def write_parquet(self, df: DataFrame, stage: str, partition: str) -> list[str]:
        dest = os.path.join(stage, "curated")
        sql = self._sql(df)
        # sqlframe types Spark timestamps as TIMESTAMPTZ; the contract is UTC without zone.
        zoned = [r[0] for r in self.conn.execute(f"DESCRIBE {sql}").fetchall()
                 if r[1] == "TIMESTAMP WITH TIME ZONE"]
        if zoned:
            casts = ", ".join(f'CAST("{c}" AS TIMESTAMP) AS "{c}"' for c in zoned)
            sql = f"SELECT * REPLACE ({casts}) FROM ({sql})"
        self.conn.execute(
            f"COPY ({sql}) TO '{_q(dest)}' (FORMAT parquet, COMPRESSION snappy, "
            f"PARTITION_BY ({partition}), FILENAME_PATTERN 'part-{{i}}', OVERWRITE_OR_IGNORE true)"
        )
        return sorted(str(p) for p in Path(dest).rglob("*.parquet"))

    def write_jsonl(self, df: DataFrame, stage: str) -> list[str]:
        dest = os.path.join(stage, "quarantine.jsonl")
        self.conn.execute(f"COPY ({self._sql(df)}) TO '{_q(dest)}' (FORMAT json)")
        return [dest]

    def count_parquet(self, files: list[str]) -> int:
        if not files:
            return 0
        listed = ", ".join(f"'{_q(f)}'" for f in files)
        return int(self.conn.execute(f"SELECT count(*) FROM read_parquet([{listed}])").fetchone()[0])

    def count_jsonl(self, files: list[str]) -> int:
        return sum(_count_lines(f) for f in files)

    def cleanup(self, stage: str | None) -> None:
        if stage:
            shutil.rmtree(stage, ignore_errors=True)

    def close(self) -> None:
        # sqlframe sessions are a process-wide singleton: stop() closes the connection and
        # clears it, so the next DuckDBIO gets a fresh session (one DuckDBIO at a time).
        self.session.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- helpers ---------------------------------------------------------------------------
    def _name(self, label: str) -> str:
        self._n += 1
        return f"_shoplake_{label}_{self._n}"

    @staticmethod
    def _sql(df: DataFrame) -> str:
        return str(df.sql(dialect="duckdb", pretty=False, optimize=False))


def _q(path: str) -> str:
    return path.replace("'", "''")


def _count_lines(path: str) -> int:
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
