"""The desired state of every cloud resource, as plain data derived from the settings.

Pure: no AWS calls. ``shoplake deploy --plan`` prints this; :mod:`shoplake.deploy.apply`
makes the account match it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from shoplake.settings import ROOT, Settings

DATASETS = ("orders", "customers", "products")
RAW_DATASETS = (*DATASETS, "fx_rates")


@dataclass(frozen=True)
class Names:
    region: str
    account: str
    s: Settings

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account if account else ''}:{resource}"

    @property
    def lake_arn(self) -> str:
        return f"arn:aws:s3:::{self.s.lake_bucket}"

    @property
    def artifacts_arn(self) -> str:
        return f"arn:aws:s3:::{self.s.artifacts_bucket}"

    @property
    def ingest_queue_arn(self) -> str:
        return self.arn("sqs", self.s.ingest_queue)

    @property
    def dlq_arn(self) -> str:
        return self.arn("sqs", self.s.ingest_dlq)

    @property
    def alerts_queue_arn(self) -> str:
        return self.arn("sqs", self.s.alerts_queue)

    @property
    def topic_arn(self) -> str:
        return self.arn("sns", self.s.alerts_topic)

    def job_name(self, dataset: str) -> str:
        return f"{self.s.glue_job_prefix}-{dataset}"

    def role_arn(self, role: str) -> str:
        return self.arn("iam", f"role/{role}", region=False)

    def function_arn(self, name: str) -> str:
        return self.arn("lambda", f"function:{name}")

    @property
    def job_events_function(self) -> str:
        return f"{self.s.project}-job-events"

    @property
    def sweeper_function(self) -> str:
        return f"{self.s.project}-sweeper"


@dataclass
class LambdaSpec:
    name: str
    source_dir: str  # relative to ROOT
    role: str
    environment: dict[str, str]
    timeout: int = 60
    memory: int = 256
    handler: str = "handler.handler"
    runtime: str = "python3.11"
    shared: tuple[str, ...] = ("lambdas/shared/shoplake_events.py", "lambdas/shared/shoplake_ledger.py")


@dataclass
class Plan:
    buckets: list[dict[str, Any]] = field(default_factory=list)
    queues: list[dict[str, Any]] = field(default_factory=list)
    topics: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    roles: list[dict[str, Any]] = field(default_factory=list)
    parameters: list[dict[str, Any]] = field(default_factory=list)
    functions: list[LambdaSpec] = field(default_factory=list)
    event_source_mappings: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)


def _trust(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def _logs_statement(n: Names, group_prefix: str) -> dict[str, Any]:
    return {
        "Sid": "WriteOwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": n.arn("logs", f"log-group:{group_prefix}*"),
    }


def build_plan(s: Settings, account: str) -> Plan:
    n = Names(region=s.region, account=account, s=s)
    p = Plan()
    encryption = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]}
    for bucket, versioned in ((s.lake_bucket, True), (s.artifacts_bucket, True)):
        p.buckets.append({"Bucket": bucket, "Versioning": versioned, "Encryption": encryption, "PublicAccessBlock": True})

    p.queues.append({"QueueName": s.ingest_dlq, "Attributes": {"MessageRetentionPeriod": "1209600"}})
    p.queues.append({
        "QueueName": s.ingest_queue,
        "Attributes": {
            "VisibilityTimeout": "120",
            "MessageRetentionPeriod": "345600",
            "RedrivePolicy": {"deadLetterTargetArn": n.dlq_arn, "maxReceiveCount": "3"},
            "Policy": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "AllowLakeBucketEvents",
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": n.ingest_queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": n.lake_arn}},
                }],
            },
        },
    })
    p.queues.append({
        "QueueName": s.alerts_queue,
        "Attributes": {
            "MessageRetentionPeriod": "1209600",
            "Policy": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "AllowAlertsTopic",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": n.alerts_queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": n.topic_arn}},
                }],
            },
        },
    })
    curated_arn = n.arn("sqs", s.curated_events_queue)
    p.queues.append({
        "QueueName": s.curated_events_queue,
        "Attributes": {
            "MessageRetentionPeriod": "86400",
            "Policy": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "AllowAlertsTopic", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage", "Resource": curated_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": n.topic_arn}},
                }],
            },
        },
    })
    p.topics.append({"Name": s.alerts_topic})
    p.subscriptions.append({"TopicArn": n.topic_arn, "Protocol": "sqs", "Endpoint": n.alerts_queue_arn})
    # The near-real-time DAG's asset watcher: only job_succeeded alerts, raw JSON bodies.
    p.subscriptions.append({
        "TopicArn": n.topic_arn, "Protocol": "sqs", "Endpoint": curated_arn,
        "Attributes": {"RawMessageDelivery": "true", "FilterPolicyScope": "MessageBody",
                       "FilterPolicy": json.dumps({"event": ["job_succeeded"]})},
    })
    if s.alert_email:
        p.subscriptions.append({"TopicArn": n.topic_arn, "Protocol": "email", "Endpoint": s.alert_email})

    # Every object created under raw/ goes to the ingest queue: unknown prefixes too, so the
    # Lambda can reject them loudly instead of never hearing of them.
    p.notifications.append({
        "Bucket": s.lake_bucket,
        "QueueConfigurations": [{
            "Id": "raw-to-ingest-queue",
            "QueueArn": n.ingest_queue_arn,
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "raw/"}]}},
        }],
    })

    trigger_role = f"{s.project}-s3-trigger"
    events_role = f"{s.project}-job-events"
    glue_role = f"{s.project}-glue-job"
    job_arns = [n.arn("glue", f"job/{n.job_name(d)}") for d in DATASETS]
    p.roles.append({
        "RoleName": trigger_role,
        "Trust": _trust("lambda.amazonaws.com"),
        "Policy": {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "ConsumeIngestQueue", "Effect": "Allow",
                 "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                            "sqs:GetQueueUrl", "sqs:ChangeMessageVisibility"],
                 "Resource": n.ingest_queue_arn},
                {"Sid": "ReadRawMetadata", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                 "Resource": f"{n.lake_arn}/raw/*"},
                {"Sid": "Ledger", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                 "Resource": f"{n.lake_arn}/state/*"},
                {"Sid": "ReadManifests", "Effect": "Allow", "Action": "s3:GetObject",
                 "Resource": f"{n.lake_arn}/curated/_manifests/*"},
                {"Sid": "StartCleanseJobs", "Effect": "Allow",
                 "Action": ["glue:StartJobRun", "glue:GetJobRun", "glue:BatchStopJobRun"],
                 "Resource": job_arns},
                {"Sid": "DeadLetter", "Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:GetQueueUrl"],
                 "Resource": n.dlq_arn},
                {"Sid": "Alert", "Effect": "Allow", "Action": "sns:Publish", "Resource": n.topic_arn},
                _logs_statement(n, f"/aws/lambda/{s.lambda_name}"),
            ],
        },
    })
    p.roles.append({
        "RoleName": events_role,
        "Trust": _trust("lambda.amazonaws.com"),
        "Policy": {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "Ledger", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                 "Resource": f"{n.lake_arn}/state/*"},
                {"Sid": "ReadManifests", "Effect": "Allow", "Action": "s3:GetObject",
                 "Resource": f"{n.lake_arn}/curated/_manifests/*"},
                {"Sid": "ReadRuns", "Effect": "Allow", "Action": "glue:GetJobRun", "Resource": job_arns},
                {"Sid": "RequeueOrDeadLetter", "Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:GetQueueUrl"],
                 "Resource": [n.ingest_queue_arn, n.dlq_arn]},
                {"Sid": "Alert", "Effect": "Allow", "Action": "sns:Publish", "Resource": n.topic_arn},
                _logs_statement(n, f"/aws/lambda/{n.job_events_function}"),
            ],
        },
    })
    sweeper_role = f"{s.project}-sweeper"
    p.roles.append({
        "RoleName": sweeper_role,
        "Trust": _trust("lambda.amazonaws.com"),
        "Policy": {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "ListRawAndState", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:ListBucketVersions"],
                 "Resource": n.lake_arn,
                 "Condition": {"StringLike": {"s3:prefix": ["raw/*", "state/*"]}}},
                {"Sid": "Ledger", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                 "Resource": f"{n.lake_arn}/state/*"},
                {"Sid": "ReadManifests", "Effect": "Allow", "Action": "s3:GetObject",
                 "Resource": f"{n.lake_arn}/curated/_manifests/*"},
                {"Sid": "Runs", "Effect": "Allow", "Action": ["glue:GetJobRun", "glue:BatchStopJobRun"],
                 "Resource": job_arns},
                {"Sid": "RequeueOrDeadLetter", "Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:GetQueueUrl"],
                 "Resource": [n.ingest_queue_arn, n.dlq_arn]},
                {"Sid": "Alert", "Effect": "Allow", "Action": "sns:Publish", "Resource": n.topic_arn},
                _logs_statement(n, f"/aws/lambda/{n.sweeper_function}"),
            ],
        },
    })
    p.roles.append({
        "RoleName": glue_role,
        "Trust": _trust("glue.amazonaws.com"),
        "Policy": {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "ReadRaw", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                 "Resource": f"{n.lake_arn}/raw/*"},
                {"Sid": "WriteCurated", "Effect": "Allow",
                 "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                 "Resource": [f"{n.lake_arn}/curated/*", f"{n.lake_arn}/quarantine/*", f"{n.lake_arn}/tmp/*"]},
                {"Sid": "ListLake", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": n.lake_arn},
                {"Sid": "ReadScripts", "Effect": "Allow", "Action": "s3:GetObject",
                 "Resource": f"{n.artifacts_arn}/jobs/*"},
                _logs_statement(n, "/aws-glue/"),
            ],
        },
    })

    for key, value in {
        "lake_bucket": s.lake_bucket,
        "artifacts_bucket": s.artifacts_bucket,
        "alerts_topic_arn": n.topic_arn,
        "ingest_queue": s.ingest_queue,
        "ingest_dlq": s.ingest_dlq,
        "glue_job_prefix": s.glue_job_prefix,
    }.items():
        p.parameters.append({"Name": f"{s.ssm_prefix}/{key}", "Value": value, "Type": "String"})

    common_env = {
        "LAKE_BUCKET": s.lake_bucket,
        "ALERTS_TOPIC_ARN": n.topic_arn,
        "GLUE_JOB_PREFIX": s.glue_job_prefix,
        "PIPELINE": s.project,
        "INGEST_QUEUE": s.ingest_queue,
        "INGEST_DLQ": s.ingest_dlq,
        "MAX_ATTEMPTS": str(s.max_attempts),
        "JOB_TIMEOUT_MINUTES": str(s.glue_job_timeout_minutes),
    }
    p.functions.append(LambdaSpec(name=s.lambda_name, source_dir="lambdas/s3_trigger", role=n.role_arn(trigger_role),
                                  environment={**common_env, "MAX_RECEIVE_COUNT": "3"}))
    p.functions.append(LambdaSpec(name=n.job_events_function, source_dir="lambdas/job_events",
                                  role=n.role_arn(events_role), environment=common_env))
    p.functions.append(LambdaSpec(name=n.sweeper_function, source_dir="lambdas/sweeper", timeout=300,
                                  role=n.role_arn(sweeper_role), environment=common_env))
    p.event_source_mappings.append({
        "FunctionName": s.lambda_name,
        "EventSourceArn": n.ingest_queue_arn,
        "BatchSize": 5,
        "MaximumBatchingWindowInSeconds": 1,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": 2},
    })
    p.rules.append({
        "Name": f"{s.project}-glue-job-state",
        "EventPattern": {
            # aws.glue on AWS; the local Glue job runner's own source elsewhere (AWS refuses
            # PutEvents for aws.* sources, so it cannot pretend to be Glue).
            "source": ["aws.glue", "shoplake.glue-runner"],
            "detail-type": ["Glue Job State Change"],
            "detail": {"jobName": [{"prefix": s.glue_job_prefix}],
                       "state": ["SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR"]},
        },
        "Target": {"Id": "job-events-lambda", "Arn": n.function_arn(n.job_events_function)},
        "FunctionName": n.job_events_function,
    })
    # The backstop for anything a crash or a stop left half-done (lambdas/sweeper).
    p.rules.append({
        "Name": f"{s.project}-sweeper-schedule",
        "ScheduleExpression": "rate(1 minute)",
        "Target": {"Id": "sweeper-lambda", "Arn": n.function_arn(n.sweeper_function)},
        "FunctionName": n.sweeper_function,
    })
    p.artifacts.append({"Bucket": s.artifacts_bucket, "Key": "jobs/cleanse.py", "Source": str(ROOT / "jobs" / "cleanse.py")})
    p.artifacts.append({"Bucket": s.artifacts_bucket, "Key": "jobs/shoplake_jobs.zip",
                        "SourceDir": str(ROOT / "jobs" / "shoplake_jobs")})
    for d in DATASETS:
        p.jobs.append({
            "Name": n.job_name(d),
            "Role": n.role_arn(glue_role),
            "Command": {"Name": "glueetl", "ScriptLocation": f"s3://{s.artifacts_bucket}/jobs/cleanse.py",
                        "PythonVersion": "3"},
            "DefaultArguments": {
                "--dataset": d,
                "--lake_bucket": s.lake_bucket,
                "--extra-py-files": f"s3://{s.artifacts_bucket}/jobs/shoplake_jobs.zip",
                "--job-language": "python",
                "--enable-metrics": "true",
            },
            # One run per raw object: a burst of files must queue, not be refused
            # (ConcurrentRunsExceededException would send objects to the DLQ after 3 receives).
            # Locally the runner executes 2 at a time and queues the rest.
            "ExecutionProperty": {"MaxConcurrentRuns": s.glue_max_concurrent_runs},
            "MaxRetries": 0,
            "Timeout": s.glue_job_timeout_minutes,
            "GlueVersion": "5.0",
            "WorkerType": "G.1X",
            "NumberOfWorkers": 2,
        })
    return p
