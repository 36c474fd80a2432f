"""The deployment plan is least-privilege and complete (pure: no AWS calls)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from shoplake.cli import cli
from shoplake.deploy import DATASETS, build_plan
from shoplake.settings import load_settings


def _actions(policy: dict) -> list[str]:
    out = []
    for st in policy["Statement"]:
        acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        out += acts
        res = st.get("Resource")
        assert res and res != "*", f"statement {st.get('Sid')} has no narrow Resource"
    return out


def test_iam_policies_are_least_privilege(tmp_path: Path) -> None:
    plan = build_plan(load_settings(profile="aws", home=tmp_path), "123456789012")
    assert {r["RoleName"] for r in plan.roles} == {"shoplake-s3-trigger", "shoplake-job-events",
                                                  "shoplake-sweeper", "shoplake-glue-job"}
    for role in plan.roles:
        for action in _actions(role["Policy"]):
            assert action != "*" and not action.endswith(":*"), (role["RoleName"], action)


def test_buckets_private_encrypted_raw_versioned(tmp_path: Path) -> None:
    plan = build_plan(load_settings(home=tmp_path), "000000000000")
    for b in plan.buckets:
        assert b["PublicAccessBlock"] and b["Encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    lake = next(b for b in plan.buckets if b["Bucket"] == "shoplake-lake")
    assert lake["Versioning"]


def test_ingest_queue_redrives_to_dlq_after_three_receives(tmp_path: Path) -> None:
    plan = build_plan(load_settings(home=tmp_path), "000000000000")
    q = next(q for q in plan.queues if q["QueueName"] == "shoplake-ingest")
    assert q["Attributes"]["RedrivePolicy"] == {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:shoplake-ingest-dlq", "maxReceiveCount": "3"}
    assert {j["Name"] for j in plan.jobs} == {f"shoplake-cleanse-{d}" for d in DATASETS}


def test_plan_command_prints_every_policy_without_aws(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SHOPLAKE_HOME", str(tmp_path))
    monkeypatch.setenv("SHOPLAKE_AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: must not be called
    result = CliRunner().invoke(cli, ["deploy", "--profile", "aws", "--plan"])
    assert result.exit_code == 0, result.output
    for role in ("shoplake-s3-trigger", "shoplake-job-events", "shoplake-glue-job"):
        assert role in result.output
    assert result.output.count('"Statement"') >= 6  # trust + permissions per role
    as_json = CliRunner().invoke(cli, ["deploy", "--profile", "aws", "--plan", "--json"])
    assert json.loads(as_json.output)["roles"][0]["Policy"]["Statement"]
