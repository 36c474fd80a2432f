"""Stock clients against the runner: the AWS CLI and Airflow's GlueJobHook/GlueJobOperator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent


def _client_env(runner: Any, helpers: Any, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(helpers.KEYS)
    env["AWS_ENDPOINT_URL_GLUE"] = runner.url
    env["AWS_CONFIG_FILE"] = str(tmp / "aws-config")  # ignore any ~/.aws of this machine
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp / "aws-credentials")
    return env


def _aws(env: dict[str, str], *args: str) -> dict[str, Any]:
    out = subprocess.run([str(BIN / "aws"), "glue", *args, "--output", "json"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_aws_cli_start_and_get_job_run(
    runner: Any, glue: Any, scripts: Path, helpers: Any, tmp_path: Path
) -> None:
    helpers.create_job(glue, "cli-job", scripts / "ok.py")
    env = _client_env(runner, helpers, tmp_path)
    run_id = _aws(env, "start-job-run", "--job-name", "cli-job",
                  "--arguments", json.dumps({"--source_uri": "s3://raw/x.csv"}))["JobRunId"]

    def final() -> dict[str, Any] | None:
        run = _aws(env, "get-job-run", "--job-name", "cli-job", "--run-id", run_id)["JobRun"]
        return run if run["JobRunState"] not in ("STARTING", "RUNNING") else None

    run = helpers.wait_for(final, "the CLI-started run to finish")
    assert run["JobRunState"] == "SUCCEEDED"
    assert run["Arguments"] == {"--source_uri": "s3://raw/x.csv"}

    bad = subprocess.run([str(BIN / "aws"), "glue", "get-job-run", "--job-name", "cli-job",
                          "--run-id", "jr_nope"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "EntityNotFoundException" in bad.stderr


AIRFLOW_SCRIPT = textwrap.dedent('''
    import json, sys
    from airflow.providers.amazon.aws.hooks.glue import GlueJobHook
    from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
    from airflow.providers.amazon.aws.sensors.glue import GlueJobSensor

    script, role = sys.argv[1], "arn:aws:iam::000000000000:role/glue"
    result = {}
    # the hook creates the job (GetJob -> EntityNotFound -> CreateJob), starts and polls a run
    hook = GlueJobHook(job_name="airflow-job", desc="d", script_location=script, iam_role_arn=role,
                       job_poll_interval=0.2, concurrent_run_limit=2,
                       create_job_kwargs={"GlueVersion": "5.0", "DefaultArguments": {"--a": "1"}})
    run_id = hook.initialize_job({"--b": "2"})["JobRunId"]
    result["hook"] = hook.job_completion("airflow-job", run_id, verbose=False)
    result["args"] = hook.conn.get_job_run(JobName="airflow-job", RunId=run_id)["JobRun"]["Arguments"]
    # update_config=True takes the UpdateJob path
    hook2 = GlueJobHook(job_name="airflow-job", desc="d", script_location=script, iam_role_arn=role,
                        job_poll_interval=0.2, update_config=True, concurrent_run_limit=2,
                        create_job_kwargs={"GlueVersion": "5.0", "DefaultArguments": {"--a": "9"}})
    run2 = hook2.initialize_job({})["JobRunId"]
    result["updated_args"] = hook2.conn.get_job(JobName="airflow-job")["Job"]["DefaultArguments"]
    # the sensor's poke, and the hook raising on a failed run
    sensor = GlueJobSensor(task_id="s", job_name="airflow-job", run_id=run2, verbose=False)
    hook2.job_completion("airflow-job", run2)
    result["poke"] = sensor.poke({})
    # the deferrable path (triggerer) polls through aiobotocore
    import asyncio
    result["async"] = asyncio.run(hook2.async_job_completion("airflow-job", run2))
    fail = GlueJobHook(job_name="airflow-fail", desc="d", script_location=sys.argv[2], iam_role_arn=role,
                       job_poll_interval=0.2)
    fail_id = fail.initialize_job({})["JobRunId"]
    try:
        fail.job_completion("airflow-fail", fail_id)
        result["fail"] = "no exception"
    except Exception as exc:
        result["fail"] = str(exc)
    # the operator builds the same hook (execute() itself needs a task-instance context)
    op = GlueJobOperator(task_id="t", job_name="airflow-job", job_desc="d",
                         script_location="s3://artifacts/jobs/cleanse.py",
                         iam_role_arn=role, wait_for_completion=False)
    result["operator_hook_job"] = op.hook.get_or_create_glue_job()
    print("RESULT" + json.dumps(result))
''')


def test_airflow_glue_hook_and_sensor(
    runner: Any, scripts: Path, helpers: Any, tmp_path: Path
) -> None:
    env = _client_env(runner, helpers, tmp_path)
    del env["AWS_ENDPOINT_URL_GLUE"]  # the connection carries the endpoint, as in the DAGs
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow")
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    env["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps({"conn_type": "aws", "extra": {
        "endpoint_url": runner.url, "region_name": "us-east-1"}})
    (tmp_path / "a.py").write_text(AIRFLOW_SCRIPT)
    out = subprocess.run([sys.executable, str(tmp_path / "a.py"), str(scripts / "ok.py"),
                          str(scripts / "fail.py")], env=env, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.split("RESULT", 1)[1])
    assert result["hook"]["JobRunState"] == "SUCCEEDED"
    assert result["args"] == {"--a": "1", "--b": "2"}
    assert result["updated_args"] == {"--a": "9"}
    assert result["poke"] is True
    assert result["async"]["JobRunState"] == "SUCCEEDED"
    assert "FAILED" in result["fail"]
    assert result["operator_hook_job"] == "airflow-job"
