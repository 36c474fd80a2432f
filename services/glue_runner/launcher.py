"""How one Glue job run becomes a local process: files, command line, environment.

Pure functions except :func:`fetch`, which downloads ``s3://`` objects the way Glue
copies the script and ``--extra-py-files`` onto the driver before starting it.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

from shoplake.settings import Settings

log = logging.getLogger(__name__)

#: Arguments Glue consumes itself; they are still passed to the script, like Glue does.
EXTRA_PY_FILES = "--extra-py-files"

_LOG4J = re.compile(r"^\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} (TRACE|DEBUG|INFO|WARN)\b")
_EXCEPTION = re.compile(r"^[\w.]*(Error|Exception|Exit|Interrupt)\b.*")
_NOISE = re.compile(r"^(\s|Traceback \(most recent call last\)|During handling|The above exception)")


def bin_dir() -> Path:
    """The bin folder of the interpreter running the runner (the project venv)."""
    return Path(sys.executable).parent


def fetch(location: str, dest_dir: Path, settings: Settings) -> Path:
    """Local path of ``location`` (``s3://``, ``file://`` or a path); S3 objects are downloaded."""
    if location.startswith(("s3://", "s3a://")):
        from shoplake.aws import client, split_s3_uri

        bucket, key = split_s3_uri(location)
        if not key or key.endswith("/"):
            raise ValueError(f"not an S3 object: {location}")
        target = dest_dir / Path(key).name
        dest_dir.mkdir(parents=True, exist_ok=True)
        client("s3", settings).download_file(bucket, key, str(target))
        log.info("downloaded %s to %s", location, target)
        return target
    path = Path(unquote(urlparse(location).path)) if location.startswith("file://") else Path(location)
    if not path.is_file():
        raise FileNotFoundError(f"script or file not found: {location}")
    return path.resolve()


def split_list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def script_args(job_name: str, run_id: str, arguments: dict[str, str]) -> list[str]:
    """``--JOB_NAME n --JOB_RUN_ID jr_... --k v ...`` in Glue's style (keys keep their ``--``)."""
    merged = {"--JOB_NAME": job_name, "--JOB_RUN_ID": run_id}
    merged.setdefault("--job-bookmark-option", "job-bookmark-disable")
    for key, value in arguments.items():
        merged[key if key.startswith("--") else f"--{key}"] = value
    args: list[str] = []
    for key, value in merged.items():
        args += [key, str(value)]
    return args


def jars(settings: Settings) -> list[Path]:
    found = sorted(Path(settings.jars_dir).glob("*.jar")) if settings.jars_dir else []
    if not found:
        log.warning("no jars in %s: Spark jobs cannot reach S3", settings.jars_dir)
    return found


def spark_submit(
    settings: Settings, job_name: str, script: Path, py_files: list[Path], args: list[str]
) -> list[str]:
    cmd = [str(bin_dir() / "spark-submit"), "--master", settings.spark_master, "--name", job_name,
           "--driver-memory", settings.spark_driver_memory]
    if found := jars(settings):
        cmd += ["--jars", ",".join(str(j) for j in found)]
    if py_files:
        cmd += ["--py-files", ",".join(str(p) for p in py_files)]
    conf = {
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
    }
    if settings.aws_endpoint_url:
        conf["spark.hadoop.fs.s3a.endpoint"] = settings.aws_endpoint_url
        if settings.aws_endpoint_url.startswith("http://"):
            conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = "false"
    if settings.aws_access_key_id and settings.aws_secret_access_key:
        conf["spark.hadoop.fs.s3a.access.key"] = settings.aws_access_key_id
        conf["spark.hadoop.fs.s3a.secret.key"] = settings.aws_secret_access_key
    for key, value in conf.items():
        cmd += ["--conf", f"{key}={value}"]
    return [*cmd, str(script), *args]


def command(
    settings: Settings, job_name: str, script: Path, py_files: list[Path], args: list[str]
) -> list[str]:
    """The command line of one run for ``settings.job_engine``."""
    if settings.job_engine == "spark":
        return spark_submit(settings, job_name, script, py_files, args)
    return [sys.executable, str(script), *args]


def environment(settings: Settings, py_files: list[Path]) -> dict[str, str]:
    """The child's environment: ours + the profile's AWS variables + engine + PATH/PYTHONPATH."""
    env = dict(os.environ)
    env.update(settings.aws_env())
    env["SHOPLAKE_JOB_ENGINE"] = settings.job_engine
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    env["PYSPARK_PYTHON"] = sys.executable
    env["PYTHONUNBUFFERED"] = "1"
    env["PATH"] = os.pathsep.join([str(bin_dir()), env.get("PATH", "")])
    if py_files and settings.job_engine != "spark":
        entries = [str(p if p.suffix in (".zip", ".egg", ".whl") else p.parent) for p in py_files]
        if env.get("PYTHONPATH"):
            entries.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(entries))
    return env


def error_message(log_text: str, returncode: int) -> str:
    """The last meaningful line of a failed run's output (the exception, as Glue reports it)."""
    lines = [ln.rstrip() for ln in log_text.splitlines() if ln.strip()]
    for line in reversed(lines):
        if _EXCEPTION.match(line):
            return line[:2000]
    for line in reversed(lines):
        if not _LOG4J.match(line) and not _NOISE.match(line):
            return line[:2000]
    if returncode < 0:
        return f"process killed by signal {-returncode}"
    return f"process exited with code {returncode}"


def clean_work_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
