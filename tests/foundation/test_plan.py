"""``shoplake deploy --plan``: offline, no credentials, every policy document (pure)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from shoplake.cli import cli
from shoplake.deploy import DATASETS, plan
from shoplake.settings import load_settings

ROLES = ("shoplake-s3-trigger", "shoplake-job-events", "shoplake-sweeper", "shoplake-glue-job",
         "shoplake-snowflake-stage")


def test_plan_covers_both_stacks_with_rendered_parameters(tmp_path: Path) -> None:
    p = plan.build(load_settings(profile="aws", home=tmp_path), "123456789012")
    assert p.ok, p.lint
    artifacts, platform = p.stacks
    assert artifacts.parameters == {"ArtifactsBucketName": "shoplake-artifacts"}
    assert platform.parameters["LakeBucketName"] == "shoplake-lake"
    assert platform.parameters["TriggerCodeKey"].startswith("lambdas/")
    assert sorted(n for n, t in platform.resources.items() if t == "AWS::Glue::Job") == sorted(
        f"{d.capitalize()}Job" for d in DATASETS)
    kinds = {(pol["resource"], pol["kind"].split()[0]) for pol in platform.policies}
    for role in ("TriggerRole", "JobEventsRole", "SweeperRole", "GlueJobRole", "SnowflakeStageRole"):
        assert {(role, "trust"), (role, "permissions")} <= kinds


def test_plan_command_prints_every_policy_without_aws(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SHOPLAKE_HOME", str(tmp_path))
    monkeypatch.setenv("SHOPLAKE_AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: must not be called
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    result = CliRunner().invoke(cli, ["deploy", "--profile", "aws", "--plan"])
    assert result.exit_code == 0, result.output
    assert "cfn-lint: no findings" in result.output
    for role in ROLES:
        assert role in result.output
    assert result.output.count('"Statement"') >= 13  # trust + permissions per role, 5 resource policies
    as_json = CliRunner().invoke(cli, ["deploy", "--profile", "aws", "--plan", "--json"])
    doc = json.loads(as_json.output)
    assert doc["lint"] == [] and doc["stacks"][1]["policies"][0]["document"]["Statement"]


def test_live_needs_plan() -> None:
    result = CliRunner().invoke(cli, ["deploy", "--live"])
    assert result.exit_code != 0 and "--live needs --plan" in result.output
