"""Per-source watermark in SSM Parameter Store: the last ECB business date ingested.

Parameter ``<ssm_prefix>/fx/<source>/watermark``, type String, value ``YYYY-MM-DD``.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from botocore.exceptions import ClientError

log = logging.getLogger(__name__)


def parameter_name(ssm_prefix: str, source: str) -> str:
    return f"{ssm_prefix.rstrip('/')}/fx/{source}/watermark"


def read_watermark(ssm: Any, name: str) -> date | None:
    """The stored date, or None if the parameter does not exist yet."""
    try:
        value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return None
        raise
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"SSM parameter {name} holds {value!r}, not an ISO date") from exc


def write_watermark(ssm: Any, name: str, day: date) -> None:
    ssm.put_parameter(
        Name=name,
        Value=day.isoformat(),
        Type="String",
        Overwrite=True,
        Description="Last ECB business date ingested into raw/fx_rates (shoplake fetch-rates)",
    )
    log.info("FX watermark advanced", extra={"ctx": {"parameter": name, "value": day.isoformat()}})
