"""infra/*.yaml: linted against the AWS resource specification (cfn-lint), security-scanned
(checkov), and the policy documents checked as AWS will see them (pure: no AWS calls)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from shoplake import pii
from shoplake.deploy import DATASETS, package, plan, template
from shoplake.deploy.parameters import INFRA, artifacts_stack, platform_parameters, platform_stack
from shoplake.settings import ROOT, load_settings

ACCOUNT = "123456789012"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def _rendered(profile: str = "aws", tmp: Path | None = None, **overrides: Any) -> template.Rendered:
    s = load_settings(profile=profile, **({"home": tmp} if tmp else {}), **overrides)
    spec = platform_stack(s, package.keys(package.build()))
    return template.render(template.load(spec.template), spec.parameters, region="eu-west-1", account=ACCOUNT)


@pytest.fixture(scope="module")
def rendered() -> template.Rendered:
    return _rendered()


def _statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_policy(rendered: template.Rendered, logical: str) -> list[dict[str, Any]]:
    props = rendered.resources[logical]["Properties"]
    return [st for pol in props["Policies"] for st in _statements(pol["PolicyDocument"])]


# --- the tools -------------------------------------------------------------------------
def test_cfn_lint_has_no_findings() -> None:
    assert plan.lint(sorted(INFRA.glob("*.yaml"))) == []


@pytest.fixture(scope="module")
def checkov_report() -> dict[str, Any]:
    """checkov's JSON report on infra/ with passed and skipped checks (one run per module)."""
    if not CHECKOV.exists():
        pytest.fail("checkov is not installed: run `make setup` (it creates .venv-checkov)")
    out = subprocess.run(
        [str(CHECKOV), "-d", str(INFRA), "--framework", "cloudformation", "--output", "json",
         "--skip-download"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    report = json.loads(out.stdout)
    return report[0] if isinstance(report, list) else report


#: checkov's checks on the policy documents (issue 12, finding 9), by the resource type they
#: judge: each must PASS on every such resource, never be skipped.
POLICY_CHECKS = {
    "AWS::IAM::Role": {"CKV_AWS_60", "CKV_AWS_61", "CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_107",
                       "CKV_AWS_108", "CKV_AWS_109", "CKV_AWS_110", "CKV_AWS_111"},
    # service principals on Lambda permissions limited by SourceArn / SourceAccount
    "AWS::Lambda::Permission": {"CKV_AWS_364"},
    "AWS::S3::Bucket": {"CKV_AWS_20", "CKV_AWS_57", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"},
}


def test_checkov_policy_checks_pass_on_every_policy_and_none_is_skipped(
    checkov_report: dict[str, Any]
) -> None:
    results = checkov_report["results"]
    passed = {(c["check_id"], c["resource"]) for c in results["passed_checks"]}
    skipped = {c["check_id"] for c in results.get("skipped_checks", [])}
    for rtype, checks in POLICY_CHECKS.items():
        assert not checks & skipped, (rtype, checks & skipped)
        resources = [f"{rtype}.{logical}" for path in INFRA.glob("*.yaml")
                     for logical, res in template.load(path)["Resources"].items() if res["Type"] == rtype]
        assert resources, rtype
        missing = [(c, r) for c in sorted(checks) for r in resources if (c, r) not in passed]
        assert not missing, missing


def test_checkov_has_no_failed_checks_and_every_skip_says_why(checkov_report: dict[str, Any]) -> None:
    report = checkov_report
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']}" for c in report["results"]["failed_checks"]]
    assert summary["failed"] == 0 and not failed, failed
    assert summary["passed"] > 50
    for path in INFRA.glob("*.yaml"):
        for logical, res in template.load(path)["Resources"].items():
            for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert skip.get("id") and len(skip.get("comment", "")) > 20, (logical, skip)


# --- IAM -------------------------------------------------------------------------------
def test_no_wildcard_actions_and_resources_scoped(rendered: template.Rendered) -> None:
    for logical, kind, doc in template.policy_documents(rendered):
        if kind == "lambda permission":
            continue
        for st in _statements(doc):
            for action in _listed(st["Action"]):
                if st["Effect"] == "Allow":
                    assert action != "*" and not action.endswith(":*"), (logical, action)
            if kind == "key policy":  # there Resource "*" means this key
                assert st["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, (logical, st)
                continue
            if st["Effect"] == "Allow" and "Resource" in st and _listed(st["Resource"]) == ["*"]:
                # the one action without a resource type, scoped by its condition key
                assert _listed(st["Action"]) == ["cloudwatch:PutMetricData"], (logical, st)
                assert st["Condition"]["StringEquals"]["cloudwatch:namespace"] == "Glue"


def test_service_trust_policies_name_the_source_account(rendered: template.Rendered) -> None:
    roles = rendered.of_type("AWS::IAM::Role")
    assert {r["Properties"]["RoleName"] for r in roles.values()} == {
        "shoplake-s3-trigger", "shoplake-job-events", "shoplake-sweeper", "shoplake-glue-job",
        "shoplake-snowflake-stage"}
    for logical, role in roles.items():
        for st in _statements(role["Properties"]["AssumeRolePolicyDocument"]):
            if "Service" in st["Principal"]:
                assert st["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT, logical
            else:  # Snowflake's IAM user: the external id is the confused-deputy guard
                assert st["Condition"]["StringEquals"]["sts:ExternalId"], logical


def test_service_principals_in_resource_policies_are_pinned_to_source(rendered: template.Rendered) -> None:
    seen = 0
    for logical, kind, doc in template.policy_documents(rendered):
        if kind == "lambda permission":
            assert doc["SourceArn"].startswith("arn:aws:events:") and doc["SourceAccount"] == ACCOUNT
            seen += 1
            continue
        if kind != "resource policy":
            continue
        for st in _statements(doc):
            if st["Effect"] == "Allow" and "Service" in st.get("Principal", {}):
                cond = st["Condition"]
                assert cond["StringEquals"]["aws:SourceAccount"] == ACCOUNT, logical
                source = cond.get("ArnEquals", cond.get("ArnLike", {}))["aws:SourceArn"]
                assert source.startswith("arn:aws:"), logical
                seen += 1
    assert seen >= 4


def test_list_bucket_is_always_scoped_by_prefix(rendered: template.Rendered) -> None:
    found = 0
    for logical in rendered.of_type("AWS::IAM::Role"):
        for st in _role_policy(rendered, logical):
            if "s3:ListBucket" in _listed(st["Action"]):
                prefixes = st["Condition"]["StringLike"]["s3:prefix"]
                assert prefixes and all(p.endswith("/*") and len(p) > 2 for p in prefixes), logical
                found += 1
    assert found == 5


def test_glue_role_writes_exactly_the_job_output_prefixes(rendered: template.Rendered) -> None:
    statements = {st["Sid"]: st for st in _role_policy(rendered, "GlueJobRole")}
    lake = "arn:aws:s3:::shoplake-lake"
    write = [st for st in statements.values() if "s3:PutObject" in _listed(st["Action"])]
    assert len(write) == 1
    # the Spark engine stages under _staging/ (jobs/shoplake_jobs/io_spark.py), then moves
    assert sorted(_listed(write[0]["Resource"])) == sorted(
        f"{lake}/{p}/*" for p in ("curated", "quarantine", "_staging"))
    assert statements["ListOutputs"]["Condition"]["StringLike"]["s3:prefix"] == [
        "curated/*", "quarantine/*", "_staging/*"]
    assert statements["ReadRaw"]["Resource"] == f"{lake}/raw/*"
    assert "_staging/" in (ROOT / "jobs" / "shoplake_jobs" / "io_spark.py").read_text()


def test_metrics_permission_matches_enable_metrics(rendered: template.Rendered) -> None:
    jobs = rendered.of_type("AWS::Glue::Job")
    assert all(j["Properties"]["DefaultArguments"]["--enable-metrics"] == "true" for j in jobs.values())
    actions = [a for st in _role_policy(rendered, "GlueJobRole") for a in _listed(st["Action"])]
    assert "cloudwatch:PutMetricData" in actions


def test_buckets_deny_plain_http_private_encrypted_raw_versioned() -> None:
    s = load_settings(profile="aws")
    for spec in (artifacts_stack(s), platform_stack(s, package.keys(package.build()))):
        r = template.render(template.load(spec.template), spec.parameters, region="eu-west-1", account=ACCOUNT)
        buckets = r.of_type("AWS::S3::Bucket")
        policies = r.of_type("AWS::S3::BucketPolicy")
        assert len(policies) == len(buckets) >= 1
        for bucket in buckets.values():
            p = bucket["Properties"]
            assert all(p["PublicAccessBlockConfiguration"].values())
            rule = p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
            assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
            assert p["VersioningConfiguration"]["Status"] == "Enabled"
            arn = f"arn:aws:s3:::{p['BucketName']}"
            deny = [st for pol in policies.values() for st in _statements(pol["Properties"]["PolicyDocument"])
                    if st["Effect"] == "Deny" and st["Condition"]["Bool"]["aws:SecureTransport"] == "false"]
            assert deny and {arn, f"{arn}/*"} <= set(_listed(deny[0]["Resource"])), p["BucketName"]


def test_lifecycle_never_expires_raw_quarantine_or_state(rendered: template.Rendered) -> None:
    rules = rendered.resources["LakeBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    for rule in rules:
        if "ExpirationInDays" in rule:
            assert rule["Prefix"] == "_staging/"
    assert {r.get("Prefix") for r in rules} == {None, "_staging/", "curated/"}


def test_pii_key_is_generated_retained_and_named_as_the_code_reads_it(rendered: template.Rendered) -> None:
    secrets = rendered.of_type("AWS::SecretsManager::Secret")
    assert list(secrets) == ["PiiHmacKeySecret"]
    raw = template.load(INFRA / "shoplake.yaml")["Resources"]["PiiHmacKeySecret"]
    assert raw["DeletionPolicy"] == raw["UpdateReplacePolicy"] == "Retain"
    props = secrets["PiiHmacKeySecret"]["Properties"]
    assert props["Name"] == pii.secret_name(load_settings(profile="aws"))
    assert "SecretString" not in props  # generated by Secrets Manager, never in the template
    gen = props["GenerateSecretString"]
    assert int(gen["PasswordLength"]) >= 32 and gen["ExcludePunctuation"] is True
    assert rendered.outputs["PiiHmacKeySecretArn"]
    # encrypted with its own key, rotated, usable only through Secrets Manager in this account
    assert props["KmsKeyId"] == "kms-key-id"
    key = rendered.resources["PiiKeyEncryptionKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    use = [st for st in _statements(key["KeyPolicy"]) if "kms:Decrypt" in _listed(st["Action"])]
    assert len(use) == 1 and use[0]["Condition"]["StringEquals"] == {
        "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com", "kms:CallerAccount": ACCOUNT}


# --- the event path ----------------------------------------------------------------------
def test_event_path_wiring(rendered: template.Rendered) -> None:
    res = rendered.resources
    q = res["IngestQueue"]["Properties"]
    assert q["RedrivePolicy"] == {"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:123456789012:shoplake-ingest-dlq",
                                  "maxReceiveCount": 3}
    esm = res["IngestEventSourceMapping"]["Properties"]
    assert (esm["BatchSize"], esm["MaximumBatchingWindowInSeconds"], esm["FunctionResponseTypes"],
            esm["ScalingConfig"]) == (5, 1, ["ReportBatchItemFailures"], {"MaximumConcurrency": 2})
    notif = res["LakeBucket"]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert [(n["Queue"], n["Filter"]["S3Key"]["Rules"]) for n in notif] == [
        ("arn:aws:sqs:eu-west-1:123456789012:shoplake-ingest", [{"Name": "prefix", "Value": "raw/"}])]
    sub = res["CuratedEventsSubscription"]["Properties"]
    assert (sub["FilterPolicy"], sub["FilterPolicyScope"], sub["RawMessageDelivery"]) == (
        {"event": ["job_succeeded"]}, "MessageBody", True)
    alarm = res["IngestDlqAlarm"]["Properties"]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "shoplake-ingest-dlq"}]
    assert alarm["AlarmActions"] == ["arn:aws:sns:eu-west-1:123456789012:shoplake-alerts"]
    for group in rendered.of_type("AWS::Logs::LogGroup").values():
        assert int(group["Properties"]["RetentionInDays"]) == 30
    rule = res["JobStateRule"]["Properties"]
    assert rule["Targets"][0]["Arn"].endswith(":function:shoplake-job-events")


def test_one_glue_job_per_dataset_with_code_from_the_artifacts_bucket(rendered: template.Rendered) -> None:
    jobs = {j["Properties"]["Name"]: j["Properties"] for j in rendered.of_type("AWS::Glue::Job").values()}
    assert set(jobs) == {f"shoplake-cleanse-{d}" for d in DATASETS}
    for name, job in jobs.items():
        assert job["GlueVersion"] == "5.0" and job["Command"]["Name"] == "glueetl"
        assert job["Command"]["ScriptLocation"].startswith("s3://shoplake-artifacts/jobs/")
        assert job["DefaultArguments"]["--extra-py-files"].startswith("s3://shoplake-artifacts/jobs/")
        assert job["DefaultArguments"]["--dataset"] == name.rsplit("-", 1)[1]
        assert job["ExecutionProperty"]["MaxConcurrentRuns"] == "500"


def test_profiles_differ_only_in_parameter_values(tmp_path: Path) -> None:
    """One template for every profile; its parameters cover all the settings it needs."""
    declared = set(template.load(INFRA / "shoplake.yaml")["Parameters"])
    for profile in ("embedded", "compose", "aws"):
        params = platform_parameters(load_settings(profile=profile, home=tmp_path), package.keys(package.build()))
        assert set(params) <= declared
        assert declared - set(params) == {"SnowflakeIamUserArn", "SnowflakeExternalId"}
    assert "Profile" not in declared
    custom = _rendered("aws", lake_bucket="acme-lake", alert_email="ops@example.com")
    assert custom.resources["LakeBucket"]["Properties"]["BucketName"] == "acme-lake"
    assert custom.resources["AlertEmailSubscription"]["Properties"]["Endpoint"] == "ops@example.com"


def test_snowflake_role_trusts_the_integration_user_once_known() -> None:
    s = load_settings(profile="aws")
    spec = platform_stack(s, package.keys(package.build()), {
        "SnowflakeIamUserArn": "arn:aws:iam::999999999999:user/abc-s", "SnowflakeExternalId": "ACME_SFCRole=2_x"})
    r = template.render(template.load(spec.template), spec.parameters, region="eu-west-1", account=ACCOUNT)
    st = _statements(r.resources["SnowflakeStageRole"]["Properties"]["AssumeRolePolicyDocument"])[0]
    assert st["Principal"] == {"AWS": "arn:aws:iam::999999999999:user/abc-s"}
    assert st["Condition"]["StringEquals"]["sts:ExternalId"] == "ACME_SFCRole=2_x"
    before = _statements(_rendered().resources["SnowflakeStageRole"]["Properties"]["AssumeRolePolicyDocument"])[0]
    assert before["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}


# --- packaging -------------------------------------------------------------------------
def test_packaging_is_deterministic_and_content_addressed(tmp_path: Path) -> None:
    assert package.keys(package.build()) == package.keys(package.build())
    for folder in ("lambdas", "jobs", "src/shoplake_contract"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    before = package.keys(package.build(tmp_path))
    assert before == package.keys(package.build())
    handler = tmp_path / "lambdas" / "job_events" / "handler.py"
    handler.write_text(handler.read_text() + "\n# edited\n")
    after = package.keys(package.build(tmp_path))
    assert {k for k in before if before[k] != after[k]} == {"JobEventsCodeKey"}
    shared = tmp_path / "lambdas" / "shared" / "shoplake_events.py"
    shared.write_text(shared.read_text() + "\n# edited\n")
    again = package.keys(package.build(tmp_path))
    assert {k for k in after if after[k] != again[k]} == {"JobEventsCodeKey", "TriggerCodeKey", "SweeperCodeKey"}
    contract = tmp_path / "src" / "shoplake_contract" / "keys.py"
    contract.write_text(contract.read_text() + "\n# edited\n")
    last = package.keys(package.build(tmp_path))
    # the job imports the lake contract too (datasets, keys, suffixes, limit_exceeded): its
    # library changes with it
    assert {k for k in again if again[k] != last[k]} == {"JobEventsCodeKey", "TriggerCodeKey", "SweeperCodeKey",
                                                        "JobsLibraryKey"}
