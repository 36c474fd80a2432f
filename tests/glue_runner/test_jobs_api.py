"""Job definitions and protocol errors, through boto3 and raw HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _raw(url: str, target: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target:
        headers["X-Amz-Target"] = target
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_health(runner: Any) -> None:
    with urllib.request.urlopen(f"{runner.url}/health", timeout=5) as resp:
        body = json.loads(resp.read())
    assert resp.status == 200 and body["status"] == "ok"


def test_create_get_update_delete_job(glue: Any, scripts: Any, helpers: Any) -> None:
    helpers.create_job(
        glue, "api-job", scripts / "ok.py", DefaultArguments={"--dataset": "orders"},
        ExecutionProperty={"MaxConcurrentRuns": 3}, Tags={"team": "data"},
    )
    job = glue.get_job(JobName="api-job")["Job"]
    assert job["Command"]["ScriptLocation"] == str(scripts / "ok.py")
    assert job["DefaultArguments"] == {"--dataset": "orders"}
    assert job["ExecutionProperty"]["MaxConcurrentRuns"] == 3
    assert job["CreatedOn"] == job["LastModifiedOn"]

    with pytest.raises(glue.exceptions.AlreadyExistsException):
        helpers.create_job(glue, "api-job", scripts / "ok.py")

    glue.update_job(JobName="api-job", JobUpdate={
        "Role": job["Role"], "Command": job["Command"], "DefaultArguments": {"--dataset": "items"},
    })
    updated = glue.get_job(JobName="api-job")["Job"]
    assert updated["DefaultArguments"] == {"--dataset": "items"}
    # UpdateJob replaces the definition, as Glue does: left-out fields return to defaults
    assert updated["ExecutionProperty"]["MaxConcurrentRuns"] == 1
    assert updated["CreatedOn"] == job["CreatedOn"] < updated["LastModifiedOn"]

    assert "api-job" in [j["Name"] for j in glue.get_jobs()["Jobs"]]
    assert "api-job" in glue.list_jobs()["JobNames"]
    arn = "arn:aws:glue:us-east-1:000000000000:job/api-job"
    assert glue.get_tags(ResourceArn=arn)["Tags"] == {"team": "data"}
    glue.tag_resource(ResourceArn=arn, TagsToAdd={"env": "local"})
    glue.untag_resource(ResourceArn=arn, TagsToRemove=["team"])
    assert glue.get_tags(ResourceArn=arn)["Tags"] == {"env": "local"}

    assert glue.delete_job(JobName="api-job")["JobName"] == "api-job"
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_job(JobName="api-job")


def test_paging(glue: Any, scripts: Any, helpers: Any) -> None:
    for i in range(3):
        helpers.create_job(glue, f"page-{i}", scripts / "ok.py")
    names = [n for page in glue.get_paginator("get_jobs").paginate(PaginationConfig={"PageSize": 2})
             for n in (j["Name"] for j in page["Jobs"])]
    assert {"page-0", "page-1", "page-2"} <= set(names)
    assert len(names) == len(set(names))


def test_invalid_input(glue: Any) -> None:
    with pytest.raises(glue.exceptions.InvalidInputException):
        glue.create_job(Name="no-script", Role="r", Command={"Name": "glueetl"})
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.start_job_run(JobName="does-not-exist")
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_job_run(JobName="does-not-exist", RunId="jr_0")


def test_unknown_operation_is_an_aws_error(runner: Any) -> None:
    status, body = _raw(runner.url, "AWSGlue.CreateCrawlerOfDoom", b"{}")
    assert status == 400
    assert body["__type"] == "UnknownOperationException"
    assert "CreateCrawlerOfDoom" in body["message"]


def test_bad_json_and_missing_target(runner: Any) -> None:
    status, body = _raw(runner.url, "AWSGlue.GetJob", b"{not json")
    assert (status, body["__type"]) == (400, "SerializationException")
    status, body = _raw(runner.url, None, b"{}")
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, body = _raw(runner.url, "AWSGlue.GetJob", b'{"JobName": 42}')
    assert (status, body["__type"]) == (400, "InvalidInputException")


def test_unknown_operation_through_boto3(glue: Any) -> None:
    with pytest.raises(ClientError) as err:
        glue.get_crawler(Name="x")
    assert err.value.response["Error"]["Code"] == "UnknownOperationException"


@pytest.mark.parametrize(("value", "minutes"), [(None, None), (60, 60), ("60", 60), (" 5 ", 5), (1.5, 1)])
def test_timeout_minutes_accepts_cloudformation_strings(value: Any, minutes: int | None) -> None:
    # a CloudFormation `!Ref` parameter reaches the job definition as a string
    from glue_runner.api import _minutes

    assert _minutes(value) == minutes


@pytest.mark.parametrize("value", [0, -1, "0", "-3", "sixty", "", True, [], {}])
def test_timeout_minutes_rejects_non_positive(value: Any) -> None:
    from glue_runner.api import GlueError, _minutes

    with pytest.raises(GlueError, match="positive number of minutes"):
        _minutes(value)


def test_emulator_job_definitions_are_answered_with_typed_numbers() -> None:
    # MiniStack keeps CloudFormation's strings; boto3 refuses them when sent back (UpdateJob)
    from glue_runner.job_source import _typed_numbers

    job = {"Timeout": "60", "MaxRetries": "0", "MaxCapacity": "2", "NumberOfWorkers": 2,
           "ExecutionProperty": {"MaxConcurrentRuns": "3"}, "Description": "7"}
    _typed_numbers(job)
    assert job == {"Timeout": 60, "MaxRetries": 0, "MaxCapacity": 2.0, "NumberOfWorkers": 2,
                   "ExecutionProperty": {"MaxConcurrentRuns": 3}, "Description": "7"}
