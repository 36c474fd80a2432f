"""The warehouse side of ``shoplake deploy``.

Both backends: ``warehouse/create_tables.sql`` (database, schemas, tables; idempotent) and
the file format and stage of ``stage_and_copy.sql`` (Snowflake keeps them; fakesnow holds them
per connection, so the loader runs that section again each session).

Snowflake only (fakesnow has no account objects): ``warehouse/account.sql`` (warehouse,
roles, grants) and the storage-integration handshake Snowflake documents for S3: the stack's
IAM role exists; the integration names it; ``DESC INTEGRATION`` gives the Snowflake IAM user
and external id that role must trust, which :func:`shoplake.deploy.deploy` then writes into the
stack parameters (a change set that modifies the role's trust policy only).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from shoplake.settings import Settings
from shoplake.warehouse.sqlfiles import section_statements
from shoplake_contract.keys import CURATED

log = logging.getLogger(__name__)

ACCOUNT_SQL = "account.sql"
INTEGRATION_KEYS = {"STORAGE_AWS_IAM_USER_ARN": "SnowflakeIamUserArn",
                    "STORAGE_AWS_EXTERNAL_ID": "SnowflakeExternalId"}


def _run(cursor: Any, statements: list[str]) -> None:
    for sql in statements:
        cursor.execute(sql)


def describe_integration(cursor: Any) -> dict[str, str]:
    """``{property: value}`` of ``DESC INTEGRATION SHOPLAKE_S3`` (columns property,
    property_type, property_value, property_default)."""
    _run(cursor, section_statements(ACCOUNT_SQL, "integration_describe"))
    names = [d[0].lower() for d in cursor.description]
    rows = [dict(zip(names, row, strict=False)) for row in cursor.fetchall()]
    return {str(r["property"]).upper(): str(r.get("property_value") or "") for r in rows}


def _locations(value: str) -> list[str]:
    return [v.strip().strip("'\"") for v in value.strip("[]()").split(",") if v.strip()]


def storage_integration(cursor: Any, role_arn: str, lake_bucket: str) -> dict[str, str]:
    """Create or align the integration with the stage role and the curated prefix; return the
    stack parameters its trust policy needs (``SnowflakeIamUserArn``, ``SnowflakeExternalId``)."""
    variables = {"role_arn": role_arn, "allowed_location": f"s3://{lake_bucket}/{CURATED}"}
    _run(cursor, section_statements(ACCOUNT_SQL, "integration_create", **variables))
    current = describe_integration(cursor)
    aligned = (current.get("STORAGE_AWS_ROLE_ARN") == role_arn
               and _locations(current.get("STORAGE_ALLOWED_LOCATIONS", "")) == [variables["allowed_location"]]
               and current.get("ENABLED", "true").lower() == "true")
    if not aligned:
        # only when something differs: an update may give the integration a new external id
        _run(cursor, section_statements(ACCOUNT_SQL, "integration_update", **variables))
        current = describe_integration(cursor)
    _run(cursor, section_statements(ACCOUNT_SQL, "integration_grant"))
    missing = [k for k in INTEGRATION_KEYS if not current.get(k)]
    if missing:
        raise RuntimeError(f"DESC INTEGRATION SHOPLAKE_S3 gave no {', '.join(missing)}")
    return {param: current[prop] for prop, param in INTEGRATION_KEYS.items()}


def deploy_warehouse(
    settings: Settings, stack_outputs: dict[str, str], echo: Callable[[str], None]
) -> dict[str, str] | None:
    """Deploy the warehouse objects; on Snowflake return the integration's trust parameters."""
    from shoplake.warehouse.connection import backend, connect, create_tables, run_statements

    conn = connect(settings)
    try:
        create_tables(conn)
        trust = None
        if backend(settings).has_account_objects:
            cursor = conn.cursor()
            try:
                _run(cursor, section_statements(ACCOUNT_SQL, "account"))
                trust = storage_integration(cursor, stack_outputs["SnowflakeStageRoleArn"],
                                            settings.lake_bucket)
            finally:
                cursor.close()
        # the stage names the integration, so it comes after it
        run_statements(conn, section_statements("stage_and_copy.sql", "setup",
                                                lake_bucket=settings.lake_bucket))
        echo("warehouse: " + ("tables, roles, grants, storage integration SHOPLAKE_S3 and stage ready"
                              if trust else f"tables, file format and stage ready ({settings.warehouse_file})"))
        return trust
    finally:
        conn.close()
