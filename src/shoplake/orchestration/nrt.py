"""The near-real-time feed: an SQS queue subscribed to the alerts topic, receiving only
``job_succeeded`` alerts (an SNS filter policy on the message body, raw delivery), watched by
Airflow's triggerer (``dags/near_real_time.py``: AssetWatcher + SqsSensorTrigger).

A queue of its own, not the alerts queue: a queue is consumed, and ``shoplake alerts``
already drains the alerts queue; two consumers would steal each other's messages.
"""

from __future__ import annotations

import json
import logging

from shoplake import aws
from shoplake.settings import Settings

log = logging.getLogger(__name__)

#: the events that mean "new curated data is committed"
EVENTS = ["job_succeeded"]


def queue_name(settings: Settings) -> str:
    return settings.curated_events_queue


def queue_url(settings: Settings, aws_url: str | None = None) -> str:
    """The queue's URL without calling AWS (the DAG file needs it at parse time)."""
    endpoint = aws_url or settings.aws_endpoint_url
    base = endpoint.rstrip("/") if endpoint else f"https://sqs.{settings.region}.amazonaws.com"
    return f"{base}/{settings.account_id}/{queue_name(settings)}"


def ensure_queue(settings: Settings) -> str:
    """Create the queue and its subscription to the alerts topic (idempotent); returns the
    queue URL. Needs the topic (``shoplake deploy``)."""
    from shoplake.orchestration.config import topic_arn

    sqs = aws.client("sqs", settings)
    sns = aws.client("sns", settings)
    url = sqs.create_queue(QueueName=queue_name(settings),
                           Attributes={"MessageRetentionPeriod": "86400"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = topic_arn(settings)
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "alerts-topic", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    subs = sns.list_subscriptions_by_topic(TopicArn=topic).get("Subscriptions", [])
    if not any(s.get("Endpoint") == arn for s in subs):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={
            "RawMessageDelivery": "true",
            "FilterPolicyScope": "MessageBody",
            "FilterPolicy": json.dumps({"event": EVENTS}),
        })
        log.info("subscribed %s to %s (events %s)", arn, topic, EVENTS)
    return str(url)
