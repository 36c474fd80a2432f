"""Limits of the cleanse job (issue 12, findings 5 and 6): expanded size, line length, field
count, memory; scratch removed on every exit path; case-insensitive suffixes.

A run over a limit raises ``LimitExceededError`` ("limit_exceeded: ..."), writes nothing
visible (no manifest, no curated files) and leaves no scratch. Bombs are generated here, as
concatenated gzip members (one compressed block repeated: a valid gzip file, ~1 MB on disk,
any expanded size), so they cost no time to build.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from jobs_expectations import EXPECTED, counts
from shoplake_jobs import run
from shoplake_jobs.limits import GiB, LimitExceededError, Limits, MiB, scan

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
JOB_PATH = os.pathsep.join([str(REPO / "jobs"), str(REPO / "src")])
HEADER = "order_id,line_number,customer_id,product_id,quantity,unit_price,currency,status,order_ts,updated_at\n"
ROW = "B{n},1,C1,P1,2,9.99,EUR,paid,2026-01-01T10:00:00Z,2026-01-01T10:00:00Z\n"
ENGINES = ["duckdb", pytest.param("spark", marks=[pytest.mark.spark, pytest.mark.slow])]


def bomb(path: Path, block: bytes, members: int, first: bytes = b"") -> Path:
    """A gzip file of ``first`` + ``block`` x ``members`` (multi-member gzip, written streaming)."""
    member = gzip.compress(block, compresslevel=9)
    with open(path, "wb") as f:
        f.write(gzip.compress(first))
        for _ in range(members):
            f.write(member)
    return path


def order_lines(size: int) -> bytes:
    """Valid order rows (distinct ids within the block), about ``size`` bytes."""
    row = ROW.encode()
    return b"".join(row.replace(b"{n}", str(i).encode()) for i in range(size // len(row)))


#: 16 MiB of 256 KiB lines of zeros (each a one-field row, under the line cap): ~16 KB
#: compressed, ~1000:1 like the issue's bomb
ZERO_LINES = (b"0" * (256 * 1024 - 1) + b"\n") * 64


def same_rows(size: int) -> bytes:
    """One valid order row repeated: compresses ~1000:1, as a real bomb does."""
    row = ROW.format(n=1).encode()
    return row * (size // len(row))


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temp folder the job's scratch goes to (checked empty after each run)."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _run(engine: str, spark: Any, source: Path, lake: Path, dataset: str = "orders",
         limits: Limits | None = None) -> dict[str, Any]:
    return run(engine, spark=spark if engine == "spark" else None, dataset=dataset, source_uri=str(source),
               source_version="v1", lake=str(lake), job_name="t", run_id=f"t-{engine}", limits=limits)


def _engine_spark(request: pytest.FixtureRequest, engine: str) -> Any:
    return request.getfixturevalue("spark") if engine == "spark" else None


def _assert_nothing_left(lake: Path, scratch: Path) -> None:
    visible = [p for p in lake.rglob("*") if p.is_file()] if lake.exists() else []
    assert visible == [], f"a failed run left files: {visible}"
    assert list(scratch.iterdir()) == [], f"scratch left behind: {list(scratch.rglob('*'))[:5]}"


def _fails_with_limit(engine: str, spark: Any, source: Path, lake: Path, scratch: Path, match: str,
                      dataset: str = "orders", limits: Limits | None = None) -> LimitExceededError:
    with pytest.raises(LimitExceededError, match=match) as info:
        _run(engine, spark, source, lake, dataset, limits)
    assert str(info.value).startswith("limit_exceeded: ")
    _assert_nothing_left(lake, scratch)
    return info.value


# --- expanded size -----------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["orders_bomb.csv.gz", "ORDERS_BOMB.CSV.GZ", "orders_bomb.csv.Gz"])
def test_gzip_bomb_stops_at_the_expanded_cap(request, engine: str, name: str, tmp_path: Path,
                                             scratch: Path) -> None:
    # ~128 MiB of valid rows from a ~130 KB file; cap 16 MiB: stopped after the cap + one chunk
    src = bomb(tmp_path / name, same_rows(4 * MiB), 32, first=HEADER.encode())
    assert src.stat().st_size < 1 * MiB
    _fails_with_limit(engine, _engine_spark(request, engine), src, tmp_path / "lake", scratch,
                      r"expands to more than 16777216 bytes", limits=Limits(max_expanded_bytes=16 * MiB))


def test_file_just_under_the_cap_loads(tmp_path: Path, scratch: Path) -> None:
    body = (HEADER + "".join(ROW.format(n=i) for i in range(100))).encode()
    src = tmp_path / "orders_edge.csv.gz"
    src.write_bytes(gzip.compress(body))
    m = _run("duckdb", None, src, tmp_path / "lake", limits=Limits(max_expanded_bytes=len(body)))
    assert m["rows_written"] == 100
    with pytest.raises(LimitExceededError):
        _run("duckdb", None, src, tmp_path / "lake2", limits=Limits(max_expanded_bytes=len(body) - 1))
    assert list(scratch.iterdir()) == []


#: Runs a command and writes its peak RSS (KiB) to argv[1]. The job is started from this small,
#: freshly exec'd process because Linux carries a process's RSS high-water mark into its
#: children (fork, and exec keeps ``maxrss``): measured straight from pytest, the job's "peak"
#: was pytest's own size (736 MiB late in the suite).
_MEASURE = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[2:]); "
            "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
            "sys.exit(code)")


def _measured(cmd: list[str], rss_file: Path) -> list[str]:
    return [sys.executable, "-c", _MEASURE, str(rss_file), *cmd]


def _job_cmd(src: Path, lake: Path, *extra: str) -> list[str]:
    return [sys.executable, str(REPO / "jobs" / "cleanse.py"), "--JOB_NAME", "shoplake-cleanse-orders",
            "--dataset", "orders", "--source_uri", str(src), "--source_version", "v1",
            "--lake_bucket", str(lake), "--JOB_RUN_ID", "jr_bomb", *extra]


def _job_env(scratch: Path) -> dict[str, str]:
    return {**os.environ, "SHOPLAKE_JOB_ENGINE": "duckdb", "PYTHONPATH": JOB_PATH, "TMPDIR": str(scratch)}


def test_one_megabyte_bomb_fails_cleanly_with_bounded_memory(tmp_path: Path) -> None:
    """The issue's case: ~1 MB of gzip expanding to 1.1 GB. The entry script, its arguments
    (cap 64 MiB here) and its exit: non-zero, one limit_exceeded line, no scratch, small RSS."""
    scratch, lake = tmp_path / "scratch", tmp_path / "lake"
    scratch.mkdir()
    src = bomb(tmp_path / "orders_bomb.csv.gz", ZERO_LINES, 70, first=HEADER.encode())
    assert src.stat().st_size <= 1.5 * MiB
    log = tmp_path / "job.log"
    with open(log, "wb") as err_file:
        code = subprocess.call(_measured(_job_cmd(src, lake, "--max_expanded_bytes", str(64 * MiB)),
                                         tmp_path / "rss"),
                               env=_job_env(scratch), stdout=subprocess.DEVNULL, stderr=err_file)
    rss_mib = int((tmp_path / "rss").read_text()) // 1024
    err = log.read_text()
    assert code != 0, err[-2000:]
    assert "LimitExceededError: limit_exceeded: " in err.strip().splitlines()[-1]
    assert rss_mib < 400, f"peak RSS {rss_mib} MiB"  # ~120 measured; the unbounded job: 2.6 GiB at 256 MiB
    _assert_nothing_left(lake, scratch)


def test_sigterm_mid_run_removes_scratch(tmp_path: Path) -> None:
    """A stopped run (the runner sends SIGTERM) unwinds: its partial decoded copy is removed."""
    scratch, lake = tmp_path / "scratch", tmp_path / "lake"
    scratch.mkdir()
    src = bomb(tmp_path / "orders_slow.csv.gz", ZERO_LINES, 70, first=HEADER.encode())
    proc = subprocess.Popen(_job_cmd(src, lake), env=_job_env(scratch),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(scratch.glob("shoplake-duckdb-*/*.txt")) and proc.poll() is None:
        assert time.monotonic() < deadline, "the job never started writing its scratch copy"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 128 + signal.SIGTERM
    _assert_nothing_left(lake, scratch)


# --- line length ---------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_over_long_line_is_refused(request, engine: str, ending: str, tmp_path: Path, scratch: Path) -> None:
    rows = [ROW.format(n=1), "B2,1,C1," + "P" * 5000 + ",2,9.99,EUR,paid,x,y\n", ROW.format(n=3)]
    src = tmp_path / "orders_long.csv"
    src.write_bytes((HEADER + "".join(rows)).replace("\n", ending).encode())
    _fails_with_limit(engine, _engine_spark(request, engine), src, tmp_path / "lake", scratch,
                      r"line 3 is longer than 4096 bytes", limits=Limits(max_line_bytes=4096))


@pytest.mark.parametrize("engine", ENGINES)
def test_line_without_end_stops_at_the_line_cap(request, engine: str, tmp_path: Path, scratch: Path) -> None:
    """A bomb of one endless line (zeros, no line end): refused after ~1 MiB, not at EOF."""
    src = bomb(tmp_path / "orders_zeros.csv.gz", b"\0" * (16 * MiB), 64)  # 1 GiB, no newline
    _fails_with_limit(engine, _engine_spark(request, engine), src, tmp_path / "lake", scratch,
                      r"line 1 is longer than 1048576 bytes")


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_line_ends_across_chunks_are_counted_as_the_engines_do(tmp_path: Path, ending: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import shoplake_jobs.limits as limits

    monkeypatch.setattr(limits, "CHUNK", 7)  # every line end falls across some chunk boundary
    lines = [f"line {i}," + "x" * (i % 13) for i in range(200)]
    src = tmp_path / "lines.txt"
    src.write_bytes(ending.join(lines).encode() + ending.encode())
    result = scan(str(src), Limits(max_line_bytes=max(map(len, lines))), "csv")
    assert result.lines == len(lines) and result.expanded_bytes == src.stat().st_size
    first = next(n for n, line in enumerate(lines, start=1) if len(line) > 20)
    with pytest.raises(LimitExceededError, match=rf"line {first} is longer than 20 bytes"):
        scan(str(src), Limits(max_line_bytes=20), "csv")


# --- field count ---------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dataset,body", [
    ("orders", HEADER + ROW.format(n=1) + "B2" + ",x" * 70 + "\n"),
    ("orders", HEADER.rstrip("\n") + ",x" * 70 + "\n" + ROW.format(n=1)),  # a header that wide too
    ("customers", '{"customer_id":"C1"}\n{' + ",".join(f'"k{i}":{i}' for i in range(70)) + "}\n"),
])
def test_too_many_fields_is_refused(request, engine: str, dataset: str, body: str, tmp_path: Path,
                                    scratch: Path) -> None:
    src = tmp_path / (f"{dataset}_wide.csv" if dataset == "orders" else f"{dataset}_wide.jsonl")
    src.write_text(body, encoding="utf-8")
    _fails_with_limit(engine, _engine_spark(request, engine), src, tmp_path / "lake", scratch,
                      r"line \d has more than 64 fields", dataset=dataset)


def test_separators_inside_values_are_not_fields(tmp_path: Path, scratch: Path) -> None:
    """The fast bound (commas / colons per line) is confirmed by a real parse: quoted commas and
    colons inside JSON strings do not count, so such rows load (or quarantine) as before."""
    orders = tmp_path / "orders_commas.csv"
    orders.write_text(HEADER + 'B1,1,C1,"P' + "," * 200 + '",2,9.99,EUR,paid,2026-01-01T10:00:00Z,'
                      "2026-01-01T10:00:00Z\n", encoding="utf-8")
    assert _run("duckdb", None, orders, tmp_path / "lake")["rows_read"] == 1
    customers = tmp_path / "customers_colons.jsonl"
    customers.write_text('{"customer_id":"C1","city":"' + ":" * 200 + '","updated_at":"2026-01-01T00:00:00Z"}\n'
                         + "not json" + ":" * 100 + "\n", encoding="utf-8")
    assert _run("duckdb", None, customers, tmp_path / "lake", dataset="customers")["rows_read"] == 2
    assert list(scratch.iterdir()) == []


# --- memory ------------------------------------------------------------------------------
def test_duckdb_memory_limit_is_a_clean_limit_failure(tmp_path: Path, scratch: Path) -> None:
    src = tmp_path / "orders_mem.csv"
    src.write_text(HEADER + "".join(ROW.format(n=i) for i in range(1000)), encoding="utf-8")
    _fails_with_limit("duckdb", None, src, tmp_path / "lake", scratch, r"memory_limit 1MB reached",
                      limits=Limits(memory_limit="1MB"))


def test_spark_out_of_memory_is_a_limit() -> None:
    from shoplake_jobs.io_spark import SparkIO

    io = SparkIO.__new__(SparkIO)
    err = RuntimeError("An error occurred while calling o93.collect.\n: java.lang.OutOfMemoryError: Java heap space\n\tat x")
    assert str(io.limit_error(err)).startswith("limit_exceeded: Spark memory exhausted (")
    assert "java.lang.OutOfMemoryError: Java heap space" in str(io.limit_error(err))
    assert io.limit_error(RuntimeError("java.io.FileNotFoundException")) is None


def test_limits_from_job_arguments() -> None:
    assert Limits.from_args({}) == Limits(GiB, MiB, 64, "4GB")
    assert Limits.from_args({"max_expanded_bytes": "1024", "max_line_bytes": None, "max_fields": "",
                             "memory_limit": "512MB"}) == Limits(1024, MiB, 64, "512MB")
    for bad in ("x", "0", "-5", "1.5"):
        with pytest.raises(ValueError, match="--max_fields"):
            Limits.from_args({"max_fields": bad})


# --- suffixes ------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("fixture,name", [
    ("orders_gzip.csv.gz", "ORDERS_x.CSV.GZ"),
    ("orders_gzip.csv.gz", "orders_x.csv.Gz"),
    ("orders_ragged.csv", "Orders_x.Csv"),
    ("customers_mixed.json", "CUSTOMERS_x.JSONL.GZ"),
    ("customers_mixed.json", "customers_x.Json.gZ"),
    ("products_mixed.csv", "products_x.CSV.GZ"),
])
def test_suffix_case_variants_load_like_lowercase(request, engine: str, fixture: str, name: str,
                                                  tmp_path: Path, scratch: Path) -> None:
    data = (FIXTURES / fixture).read_bytes()
    if name.lower().endswith(".gz") and not fixture.endswith(".gz"):
        data = gzip.compress(data)
    src = tmp_path / name
    src.write_bytes(data)
    lake = tmp_path / "lake"
    m = _run(engine, _engine_spark(request, engine), src, lake, dataset=fixture.split("_")[0])
    assert counts(m) == EXPECTED[fixture]
    assert [p for p in (lake / "_staging").rglob("*") if p.is_file()] == []
    assert list(scratch.iterdir()) == []
    assert json.loads((lake / f"curated/_manifests/{m['dataset']}/{m['source_id']}.json").read_text())


def test_limit_failure_is_the_runs_error_line(tmp_path: Path) -> None:
    """What the runner (and Glue) report as the run's ErrorMessage names the reason."""
    from glue_runner.launcher import error_message
    from shoplake_events import run_failure_reason

    src = tmp_path / "orders_long.csv"
    src.write_text(HEADER + "B1" + ",x" * 100 + "\n", encoding="utf-8")
    out = subprocess.run(_job_cmd(src, tmp_path / "lake"), env=_job_env(tmp_path), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode != 0
    message = error_message(out.stderr, out.returncode)
    assert message.startswith("shoplake_jobs.limits.LimitExceededError: limit_exceeded: ")
    assert run_failure_reason("FAILED", message) == "limit_exceeded"
    assert run_failure_reason("FAILED", "ValueError: boom") == "job_failed"
    assert run_failure_reason("TIMEOUT", None) == "job_timeout"
    shutil.rmtree(tmp_path / "lake", ignore_errors=True)


@pytest.mark.parametrize("key,reason", [
    ("raw/orders/ingest_date=2026-01-01/ORDERS_x.CSV.GZ", None),
    ("raw/orders/ingest_date=2026-01-01/orders_x.Csv", None),
    ("raw/customers/ingest_date=2026-01-01/Customers_x.JSONL.GZ", None),
    ("raw/customers/ingest_date=2026-01-01/customers_x.JSON", None),
    ("raw/products/ingest_date=2026-01-01/PRODUCTS_x.csv.gZ", None),
    ("raw/orders/ingest_date=2026-01-01/ORDERS_x.CSV.ZIP", "bad_file_name"),
    ("raw/orders/ingest_date=2026-01-01/orders_x.csv.gz.txt", "bad_file_name"),
    ("raw/customers/ingest_date=2026-01-01/customers_x.CSV.GZ", "bad_file_name"),
])
def test_lambda_accepts_exactly_what_the_job_reads(key: str, reason: str | None) -> None:
    """One suffix rule (shoplake_events): what the trigger accepts in any case, the job
    decompresses by the same case-insensitive test."""
    from shoplake_events import InvalidObject, RawObject, compression, validate

    obj = RawObject("lake", key, 10, "v1")
    if reason is None:
        assert validate(obj) == key.split("/")[1]
        assert (compression(key) == "gzip") == key.lower().endswith(".gz")
    else:
        with pytest.raises(InvalidObject) as info:
            validate(obj)
        assert info.value.reason == reason
