"""The warehouse side of deploy: account.sql and the storage-integration handshake.

The Snowflake path cannot run here (no Snowflake account): the handshake logic runs against a
fake cursor that answers DESC INTEGRATION the way Snowflake documents it. The local path
(fakesnow) runs for real.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from shoplake.settings import load_settings
from shoplake.warehouse import setup, sqlfiles

ROLE = "arn:aws:iam::123456789012:role/shoplake-snowflake-stage"
USER = "arn:aws:iam::999999999999:user/abc1-s-ohss"


class FakeSnowflake:
    """Just enough of a Snowflake cursor: keeps the integration's properties."""

    def __init__(self, external_id: str = "MYACCOUNT_SFCRole=2_abc=") -> None:
        self.integration: dict[str, str] | None = None
        self.external_id = external_id
        self.executed: list[str] = []
        self.description: list[tuple[str, ...]] = []
        self._rows: list[tuple[str, ...]] = []

    def execute(self, sql: str, params: Any = None) -> None:
        self.executed.append(" ".join(sql.split()).rstrip(";"))
        text = self.executed[-1]
        if text.startswith("CREATE STORAGE INTEGRATION IF NOT EXISTS") and self.integration is None:
            self.integration = {"ROLE": text.split("STORAGE_AWS_ROLE_ARN = '")[1].split("'")[0],
                                "LOC": text.split("STORAGE_ALLOWED_LOCATIONS = ('")[1].split("'")[0]}
        elif text.startswith("ALTER STORAGE INTEGRATION"):
            assert self.integration is not None
            self.integration = {"ROLE": text.split("STORAGE_AWS_ROLE_ARN = '")[1].split("'")[0],
                                "LOC": text.split("STORAGE_ALLOWED_LOCATIONS = ('")[1].split("'")[0]}
            self.external_id += "x"  # Snowflake may issue a new external id
        elif text.startswith("DESC INTEGRATION"):
            assert self.integration is not None
            self.description = [("property",), ("property_type",), ("property_value",), ("property_default",)]
            self._rows = [
                ("ENABLED", "Boolean", "true", "false"),
                ("STORAGE_PROVIDER", "String", "S3", ""),
                ("STORAGE_ALLOWED_LOCATIONS", "List", self.integration["LOC"], "[]"),
                ("STORAGE_AWS_IAM_USER_ARN", "String", USER, ""),
                ("STORAGE_AWS_ROLE_ARN", "String", self.integration["ROLE"], ""),
                ("STORAGE_AWS_EXTERNAL_ID", "String", self.external_id, ""),
            ]

    def fetchall(self) -> list[tuple[str, ...]]:
        return self._rows


def test_handshake_returns_the_trust_the_stage_role_needs() -> None:
    cur = FakeSnowflake()
    trust = setup.storage_integration(cur, ROLE, "shoplake-lake")
    assert trust == {"SnowflakeIamUserArn": USER, "SnowflakeExternalId": "MYACCOUNT_SFCRole=2_abc="}
    assert any("STORAGE_ALLOWED_LOCATIONS = ('s3://shoplake-lake/curated/')" in s for s in cur.executed)
    assert not any(s.startswith("ALTER") for s in cur.executed)
    assert cur.executed[-1] == "GRANT USAGE ON INTEGRATION SHOPLAKE_S3 TO ROLE SHOPLAKE_LOADER"


def test_handshake_is_idempotent_and_never_recreates_the_integration() -> None:
    cur = FakeSnowflake()
    first = setup.storage_integration(cur, ROLE, "shoplake-lake")
    cur.executed.clear()
    assert setup.storage_integration(cur, ROLE, "shoplake-lake") == first
    assert not any("OR REPLACE" in s or s.startswith("ALTER") for s in cur.executed)


def test_a_changed_role_or_bucket_alters_it_and_returns_the_new_external_id() -> None:
    cur = FakeSnowflake()
    setup.storage_integration(cur, ROLE, "shoplake-lake")
    trust = setup.storage_integration(cur, ROLE, "acme-lake")
    assert cur.integration == {"ROLE": ROLE, "LOC": "s3://acme-lake/curated/"}
    assert trust["SnowflakeExternalId"] == "MYACCOUNT_SFCRole=2_abc=x"


def test_account_sql_has_the_objects_deploy_runs() -> None:
    names = set(sqlfiles.sections(sqlfiles.read_sql(setup.ACCOUNT_SQL)))
    assert names == {"account", "integration_create", "integration_update", "integration_grant",
                     "integration_describe"}
    account = [s.rstrip(";") for s in sqlfiles.section_statements(setup.ACCOUNT_SQL, "account")]
    assert all(s.startswith(("CREATE WAREHOUSE IF NOT EXISTS", "CREATE ROLE IF NOT EXISTS", "GRANT "))
               for s in account)
    # the analyst role reads the marts only: the staging views carry raw PII
    analyst = [s for s in account if s.endswith("TO ROLE SHOPLAKE_ANALYST")]
    assert analyst and not any("STAGING" in s or ".RAW" in s for s in analyst)


def test_analyst_grants_are_an_allow_list_of_the_marts() -> None:
    """The staging views carry raw PII (issue 12, finding 10): every grant to the analyst role
    names the warehouse, the database's USAGE or schema ANALYTICS, never a database-wide or
    account-wide object set (which would include STAGING, RAW and any schema made later)."""
    account = [" ".join(s.rstrip(";").split()) for s in sqlfiles.section_statements(setup.ACCOUNT_SQL, "account")]
    analyst = [s for s in account if "SHOPLAKE_ANALYST" in s and s.startswith("GRANT ")]
    allowed = re.compile(
        r"GRANT USAGE ON WAREHOUSE SHOPLAKE_WH TO ROLE SHOPLAKE_ANALYST"
        r"|GRANT USAGE ON DATABASE SHOPLAKE TO ROLE SHOPLAKE_ANALYST"
        r"|GRANT USAGE ON SCHEMA SHOPLAKE\.ANALYTICS TO ROLE SHOPLAKE_ANALYST"
        r"|GRANT SELECT ON (ALL|FUTURE) (TABLES|VIEWS) IN SCHEMA SHOPLAKE\.ANALYTICS TO ROLE SHOPLAKE_ANALYST"
        r"|GRANT ROLE SHOPLAKE_ANALYST TO ROLE SYSADMIN")
    assert len(analyst) == 8
    assert all(allowed.fullmatch(s) for s in analyst), [s for s in analyst if not allowed.fullmatch(s)]
    # nothing is granted to PUBLIC, and the analyst role is granted to no other role or user
    assert not any(s.endswith("TO ROLE PUBLIC") for s in account)


def test_local_deploy_runs_the_same_table_files_through_fakesnow(tmp_path: Path) -> None:
    s = load_settings(home=tmp_path, aws_endpoint_url="http://127.0.0.1:9")
    lines: list[str] = []
    assert setup.deploy_warehouse(s, {}, lines.append) is None
    assert s.warehouse_file.exists() and "tables, file format and stage ready" in lines[0]
    assert setup.deploy_warehouse(s, {}, lines.append) is None  # idempotent
