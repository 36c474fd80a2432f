"""Resource limits of the cleanse job (docs/contracts.md "Limits").

A raw object is streamed once through a counting reader before (Spark) or while (DuckDB) the
engine reads it: the expanded (decompressed) size, the longest line and the widest record are
checked chunk by chunk, so a gzip bomb is stopped at the cap and never expanded whole, on
disk or in memory. A run that hits a limit raises :class:`LimitExceededError`; its message
starts with the reason code ``limit_exceeded``, which the job-events Lambda puts in the ledger
and the DLQ message (the runner and Glue report the exception line as the run's error).

Which suffix means gzip is the lake's rule (``shoplake_contract.datasets.compression``, shared with the
S3 trigger Lambda), matched case-insensitively.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import IO, Any

import numpy as np  # in the venv and in the Glue 5 runtime

from shoplake_contract.datasets import compression
from shoplake_contract.glue import LIMIT_EXCEEDED
from shoplake_contract.ids import split_uri
from shoplake_jobs.storage import is_s3, s3_client

log = logging.getLogger(__name__)

REASON = LIMIT_EXCEEDED
MiB = 1 << 20
GiB = 1 << 30
#: bytes decompressed per step: the most the scan holds besides one (capped) partial line
CHUNK = 4 * MiB


@dataclass(frozen=True)
class Limits:
    """Per-run limits; each is a job argument of the same name (``--max_expanded_bytes`` ...).

    Defaults (why): 1 GiB expanded is ~5x the largest raw file the lake expects (a 2M-row
    orders file is ~200 MB) and what the DuckDB engine's line split holds in 4 GB (measured
    ~2.7x the text size at peak); 1 MiB per line is ~1000x a real record; 64 fields is ~6x the
    widest dataset (orders: 10 columns) and leaves room for extra columns, which are ignored.
    """

    max_expanded_bytes: int = GiB
    max_line_bytes: int = MiB
    max_fields: int = 64
    #: DuckDB ``memory_limit`` (beyond it DuckDB spills to the run's scratch folder or fails
    #: with limit_exceeded). Spark: the driver/executor heap is set by whoever starts the JVM
    #: (the local runner's ``spark_driver_memory``; the worker type on Glue).
    memory_limit: str = "4GB"

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> Limits:
        """Limits from job arguments (missing or empty -> default); bad values fail clearly."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = args.get(f.name)
            if raw in (None, ""):
                continue
            if f.name == "memory_limit":
                values[f.name] = str(raw)
                continue
            try:
                number = int(str(raw))
            except ValueError:
                raise ValueError(f"--{f.name} must be a whole number, not {raw!r}") from None
            if number <= 0:
                raise ValueError(f"--{f.name} must be positive, not {number}")
            values[f.name] = number
        return cls(**values)


class LimitExceededError(RuntimeError):
    """A run stopped at a limit; ``str()`` is ``limit_exceeded: <what>`` (the failure reason)."""

    reason = REASON

    def __init__(self, detail: str) -> None:
        super().__init__(f"{REASON}: {detail}")
        self.detail = detail


@dataclass
class Scan:
    expanded_bytes: int = 0
    lines: int = 0


@contextmanager
def open_raw(uri: str) -> Iterator[IO[bytes]]:
    """The stored bytes of ``uri`` as a stream (a local file or an S3 object body)."""
    if is_s3(uri):
        bucket, key = split_uri(uri)
        body = s3_client().get_object(Bucket=bucket, Key=key)["Body"]
        try:
            yield body
        finally:
            body.close()
    else:
        with open(uri, "rb") as f:
            yield f


@contextmanager
def open_expanded(uri: str) -> Iterator[IO[bytes]]:
    """The expanded bytes of ``uri``: gunzipped (streaming) when the lake's rule says gzip."""
    with open_raw(uri) as raw:
        if compression(uri) == "gzip":
            with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                yield gz
        else:
            yield raw


def scan(uri: str, limits: Limits, fmt: str, out: IO[str] | None = None) -> Scan:
    """Check ``uri`` against ``limits`` in one streaming pass; with ``out``, also write its text
    (UTF-8, invalid bytes -> U+FFFD) there. Raises :class:`LimitExceededError` at the first
    limit crossed, having read at most one chunk past it."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace") if out is not None else None
    result = Scan()
    partial = b""  # the current line's bytes so far (never more than max_line_bytes + CHUNK)
    held_cr = False  # a chunk ended in \r: the next may start with its \n
    with open_expanded(uri) as stream:
        while chunk := stream.read(CHUNK):
            result.expanded_bytes += len(chunk)
            if result.expanded_bytes > limits.max_expanded_bytes:
                raise LimitExceededError(
                    f"{uri} expands to more than {limits.max_expanded_bytes} bytes "
                    f"(--max_expanded_bytes); stopped after {result.expanded_bytes}"
                )
            if decoder is not None and out is not None:
                out.write(decoder.decode(chunk))
            # line ends as the engines see them: \n, \r\n or \r (also split across chunks)
            text = chunk[1:] if held_cr and chunk.startswith(b"\n") else chunk
            held_cr = text.endswith(b"\r")
            if b"\r" in text:
                text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            partial = _check(partial + text, result, limits, fmt, uri)
        if partial:
            _check(partial + b"\n", result, limits, fmt, uri)
        if decoder is not None and out is not None:
            out.write(decoder.decode(b"", final=True))
    log.info("%s: %d bytes expanded, %d lines, within limits", uri, result.expanded_bytes, result.lines)
    return result


def _check(buf: bytes, result: Scan, limits: Limits, fmt: str, uri: str) -> bytes:
    """Check the complete lines of ``buf`` (``\n``-ended), count them in ``result``; returns
    the unfinished last line (refused already if longer than the cap). Vectorised (numpy):
    per-line Python work happens only for lines over the separator bound."""
    a = np.frombuffer(buf, dtype=np.uint8)
    ends = np.flatnonzero(a == ord("\n"))
    if ends.size:
        starts = np.concatenate(([0], ends[:-1] + 1))
        too_long = np.flatnonzero(ends - starts > limits.max_line_bytes)
        if too_long.size:
            raise _too_long(uri, result.lines + int(too_long[0]) + 1, limits)
        # separators bound the field count from above; a line over the bound is parsed exactly
        seps = np.flatnonzero(a[: ends[-1]] == ord("," if fmt == "csv" else ":"))
        if seps.size >= limits.max_fields:
            per_line = np.diff(np.searchsorted(seps, ends), prepend=0)  # separators per line
            for i in np.flatnonzero(per_line >= limits.max_fields):
                if _fields(buf[starts[i]: ends[i]], fmt) > limits.max_fields:
                    raise LimitExceededError(
                        f"{uri} line {result.lines + int(i) + 1} has more than {limits.max_fields} fields"
                        " (--max_fields)"
                    )
        result.lines += int(ends.size)
        buf = buf[int(ends[-1]) + 1:]
    if len(buf) > limits.max_line_bytes:  # no line end yet: stop now, not at the end of file
        raise _too_long(uri, result.lines + 1, limits)
    return buf


def _too_long(uri: str, line: int, limits: Limits) -> LimitExceededError:
    return LimitExceededError(f"{uri} line {line} is longer than {limits.max_line_bytes} bytes (--max_line_bytes)")


def _fields(line: bytes, fmt: str) -> int:
    text = line.decode("utf-8", errors="replace")
    if fmt == "csv":
        return len(next(csv.reader([text]), []))
    try:
        doc = json.loads(text)
    except ValueError:
        return 0  # not JSON: a malformed row, quarantined by the job
    return len(doc) if isinstance(doc, dict) else 0
