"""Unit tests of the pure parts of the launcher (command lines, environment, error lines)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from glue_runner import command, launcher

from shoplake.settings import Settings


def _settings(tmp_path: Path, **kw: object) -> Settings:
    (tmp_path / "a.jar").write_text("")
    (tmp_path / "b.jar").write_text("")
    base = dict(job_engine="spark", spark_master="local[2]", jars_dir=tmp_path,
                aws_endpoint_url="http://127.0.0.1:4566", aws_access_key_id="k",
                aws_secret_access_key="s", glue_endpoint_url=None, region="us-east-1")
    base.update(kw)
    return Settings(**base)  # type: ignore[arg-type]


def test_script_args_glue_style() -> None:
    args = launcher.script_args("j", "jr_1", {"--dataset": "orders", "job-bookmark-option": "x"})
    assert args[:4] == ["--JOB_NAME", "j", "--JOB_RUN_ID", "jr_1"]
    pairs = dict(zip(args[::2], args[1::2], strict=True))
    assert pairs == {"--JOB_NAME": "j", "--JOB_RUN_ID": "jr_1", "--job-bookmark-option": "x",
                     "--dataset": "orders"}


def test_spark_submit_command(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    cmd = launcher.command(s, "job", Path("/x/job.py"), [Path("/x/lib.zip")], ["--a", "1"])
    assert cmd[0].endswith("spark-submit")
    assert cmd[cmd.index("--master") + 1] == "local[2]"
    assert cmd[cmd.index("--jars") + 1] == f"{tmp_path}/a.jar,{tmp_path}/b.jar"
    assert cmd[cmd.index("--py-files") + 1] == "/x/lib.zip"
    confs = {cmd[i + 1] for i, c in enumerate(cmd) if c == "--conf"}
    assert {
        "spark.hadoop.fs.s3a.endpoint=http://127.0.0.1:4566",
        "spark.hadoop.fs.s3a.path.style.access=true",
        "spark.hadoop.fs.s3.impl=org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.access.key=k", "spark.hadoop.fs.s3a.secret.key=s",
        "spark.hadoop.fs.s3a.connection.ssl.enabled=false", "spark.sql.session.timeZone=UTC",
    } <= confs
    assert cmd[-3:] == ["/x/job.py", "--a", "1"]


def test_duckdb_command_and_environment(tmp_path: Path) -> None:
    s = _settings(tmp_path, job_engine="duckdb")
    cmd = launcher.command(s, "job", Path("/x/job.py"), [], ["--a", "1"])
    assert cmd == [sys.executable, "/x/job.py", "--a", "1"]
    env = launcher.environment(s, [Path("/x/lib.zip"), Path("/y/mod.py")])
    assert env["PYTHONPATH"].split(":")[:2] == ["/x/lib.zip", "/y"]
    assert env["SHOPLAKE_JOB_ENGINE"] == "duckdb" and env["SPARK_LOCAL_IP"] == "127.0.0.1"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)


@pytest.mark.parametrize(("text", "code", "expected"), [
    ("Traceback (most recent call last):\n  File \"x\", line 1\n    raise ValueError('v')\n"
     "ValueError: v\n", 1, "ValueError: v"),
    ("pyspark.errors.exceptions.captured.AnalysisException: [X] no table\n"
     "26/11/29 14:00:00 INFO SparkContext: Successfully stopped SparkContext\n"
     "26/11/29 14:00:00 INFO ShutdownHookManager: Deleting directory /tmp/x\n", 1,
     "pyspark.errors.exceptions.captured.AnalysisException: [X] no table"),
    ("writing rows\nerror: disk full\n", 2, "error: disk full"),
    ("", -9, "process killed by signal 9"),
    ("\n\n", 3, "process exited with code 3"),
])
def test_error_message(text: str, code: int, expected: str) -> None:
    assert launcher.error_message(text, code) == expected


def test_fetch_local_and_file_uri(tmp_path: Path) -> None:
    f = tmp_path / "s c.py"
    f.write_text("")
    assert launcher.fetch(str(f), tmp_path, _settings(tmp_path)) == f
    assert launcher.fetch(f"file://{tmp_path}/s%20c.py", tmp_path, _settings(tmp_path)) == f
    with pytest.raises(FileNotFoundError):
        launcher.fetch(str(tmp_path / "missing.py"), tmp_path, _settings(tmp_path))


def test_command_line_of_the_runner(tmp_path: Path) -> None:
    cmd = command(4599, tmp_path, emit_events=True)
    assert cmd[:2] == [sys.executable, str(Path(launcher.__file__).with_name("server.py"))]
    assert cmd[2:] == ["--host", "127.0.0.1", "--port", "4599", "--home", str(tmp_path),
                       "--emit-events"]
