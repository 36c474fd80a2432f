"""Human-readable rendering of a deployment plan (``shoplake deploy --plan``)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from shoplake.deploy.resources import Plan


def render(plan: Plan) -> str:
    out: list[str] = []

    def section(title: str, items: list[str]) -> None:
        out.append(f"\n## {title} ({len(items)})")
        out.extend(items)

    section("S3 buckets", [f"+ {b['Bucket']}  versioning={b['Versioning']} encryption=AES256 "
                           f"public-access-block={b['PublicAccessBlock']}" for b in plan.buckets])
    section("SQS queues", [f"+ {q['QueueName']}  " + json.dumps(q["Attributes"], sort_keys=True) for q in plan.queues])
    section("SNS topics and subscriptions", [f"+ topic {t['Name']}" for t in plan.topics]
            + [f"+ {x['Protocol']} -> {x['Endpoint']}" for x in plan.subscriptions])
    section("S3 event notifications", [f"+ {n['Bucket']}: " + json.dumps(n["QueueConfigurations"]) for n in plan.notifications])
    roles = []
    for r in plan.roles:
        roles.append(f"+ role {r['RoleName']}")
        roles.append("  trust policy:\n" + _indent(json.dumps(r["Trust"], indent=2)))
        roles.append("  permissions policy:\n" + _indent(json.dumps(r["Policy"], indent=2)))
    section("IAM roles and policies", roles)
    section("SSM parameters", [f"+ {p['Name']} = {p['Value']}" for p in plan.parameters])
    section("Lambda functions", [f"+ {f.name} ({f.runtime}, {f.source_dir}, role {f.role}) env={json.dumps(f.environment)}"
                                 for f in plan.functions])
    section("Event source mappings", [f"+ {json.dumps(m)}" for m in plan.event_source_mappings])
    section("EventBridge rules", [f"+ {r['Name']} {_trigger(r)} -> {r['Target']['Arn']}"
                                  for r in plan.rules])
    section("Artifacts", [f"+ s3://{a['Bucket']}/{a['Key']}" for a in plan.artifacts])
    section("Glue jobs", [f"+ {j['Name']} " + json.dumps({k: v for k, v in j.items() if k != 'Name'}) for j in plan.jobs])
    return "\n".join(out).lstrip()


def _indent(text: str, pad: str = "    ") -> str:
    return "\n".join(pad + line for line in text.splitlines())


def as_json(plan: Plan) -> str:
    return json.dumps(asdict(plan), indent=2, default=str)


def _trigger(rule: dict[str, Any]) -> str:
    if "EventPattern" in rule:
        return f"pattern={json.dumps(rule['EventPattern'])}"
    return f"schedule={rule['ScheduleExpression']}"
