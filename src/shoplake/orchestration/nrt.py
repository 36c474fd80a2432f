"""The near-real-time feed: an SQS queue subscribed to the alerts topic, receiving only
``job_succeeded`` alerts (an SNS filter policy on the message body, raw delivery), watched by
Airflow's triggerer (``dags/near_real_time.py``: AssetWatcher + SqsSensorTrigger).

A queue of its own, not the alerts queue: a queue is consumed, and ``shoplake alerts``
already drains the alerts queue; two consumers would steal each other's messages. The queue,
its policy and its subscription are ``CuratedEventsQueue`` & co. in infra/shoplake.yaml.
"""

from __future__ import annotations

from shoplake.settings import Settings


def queue_name(settings: Settings) -> str:
    return settings.curated_events_queue


def queue_url(settings: Settings, aws_url: str | None = None) -> str:
    """The queue's URL without calling AWS (the DAG file needs it at parse time)."""
    endpoint = aws_url or settings.aws_endpoint_url
    base = endpoint.rstrip("/") if endpoint else f"https://sqs.{settings.region}.amazonaws.com"
    return f"{base}/{settings.account_id}/{queue_name(settings)}"
