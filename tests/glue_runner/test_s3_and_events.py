"""Scripts and --extra-py-files from S3 (MiniStack), and EventBridge state-change events."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest


def _aws(service: str, url: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


@pytest.fixture(scope="module")
def events_queue(ministack: str) -> str:
    """An SQS queue that receives every 'Glue Job State Change' event of the default bus.

    EventBridge refuses ``aws.*`` sources from PutEvents (MiniStack like AWS), so locally the
    runner falls back to ``shoplake.glue``; a rule listing both sources works in both places.
    """
    sqs, events = _aws("sqs", ministack), _aws("events", ministack)
    url = sqs.create_queue(QueueName="glue-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="glue-state", EventBusName="default", EventPattern=json.dumps(
        {"source": ["aws.glue", "shoplake.glue"], "detail-type": ["Glue Job State Change"]}))
    events.put_targets(Rule="glue-state", EventBusName="default", Targets=[{"Id": "q", "Arn": arn}])
    return url


_SEEN: dict[str, dict[str, Any]] = {}  # events received so far, by run id


def _event_of(ministack: str, queue: str, run_id: str, helpers: Any) -> dict[str, Any]:
    sqs = _aws("sqs", ministack)
    seen = _SEEN

    def poll() -> dict[str, Any] | None:
        for msg in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=1).get("Messages", []):
            event = json.loads(msg["Body"])
            seen[event["detail"]["jobRunId"]] = event
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=msg["ReceiptHandle"])
        return seen.get(run_id)

    return helpers.wait_for(poll, f"the state change event of {run_id}")


def test_s3_script_with_extra_py_files(glue: Any, ministack: str, helpers: Any) -> None:
    s3 = _aws("s3", ministack)
    s3.create_bucket(Bucket="artifacts")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("shoplake_jobs_demo/__init__.py", "GREETING = 'hello from the zip'\n")
    s3.put_object(Bucket="artifacts", Key="jobs/demo_lib.zip", Body=buf.getvalue())
    s3.put_object(Bucket="artifacts", Key="jobs/extra_mod.py", Body=b"VALUE = 42\n")
    s3.put_object(Bucket="artifacts", Key="jobs/cleanse.py", Body=(
        b"import os, sys\nfrom shoplake_jobs_demo import GREETING\nfrom extra_mod import VALUE\n"
        b"print(GREETING, VALUE, os.environ['SHOPLAKE_JOB_ENGINE'], os.environ['AWS_ENDPOINT_URL'])\n"
    ))
    helpers.create_job(glue, "s3-job", "s3://artifacts/jobs/cleanse.py", DefaultArguments={
        "--extra-py-files": "s3://artifacts/jobs/demo_lib.zip,s3://artifacts/jobs/extra_mod.py"})
    run = helpers.wait_state(glue, "s3-job", glue.start_job_run(JobName="s3-job")["JobRunId"])
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    assert f"hello from the zip 42 duckdb {ministack}" in Path(run["LogGroupName"]).read_text()


def test_missing_s3_script_fails(glue: Any, helpers: Any) -> None:
    helpers.create_job(glue, "s3-missing", "s3://artifacts/jobs/not-there.py")
    run = helpers.wait_state(glue, "s3-missing", glue.start_job_run(JobName="s3-missing")["JobRunId"])
    assert run["JobRunState"] == "FAILED"
    assert "404" in run["ErrorMessage"] or "Not Found" in run["ErrorMessage"]


def test_state_change_events(
    glue: Any, ministack: str, events_queue: str, scripts: Path, helpers: Any
) -> None:
    helpers.create_job(glue, "evt-ok", scripts / "ok.py")
    helpers.create_job(glue, "evt-fail", scripts / "fail.py")
    ok = glue.start_job_run(JobName="evt-ok")["JobRunId"]
    bad = glue.start_job_run(JobName="evt-fail")["JobRunId"]

    event = _event_of(ministack, events_queue, ok, helpers)
    assert event["source"] == "shoplake.glue"  # MiniStack refused aws.glue
    assert event["detail-type"] == "Glue Job State Change"
    assert event["detail"]["jobName"] == "evt-ok"
    assert (event["detail"]["state"], event["detail"]["severity"]) == ("SUCCEEDED", "INFO")

    detail = _event_of(ministack, events_queue, bad, helpers)["detail"]
    assert (detail["state"], detail["severity"]) == ("FAILED", "ERROR")
    assert detail["message"] == "ValueError: boom: bad input row 7"
