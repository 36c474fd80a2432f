-- shoplake warehouse DDL (Snowflake SQL). Idempotent: safe to run on every deploy and before
-- every load. Locally it runs unchanged on DuckDB through fakesnow (src/shoplake/warehouse/).
--
-- Layout (docs/contracts.md, "Warehouse"):
--   SHOPLAKE.RAW        loaded by `shoplake load` (COPY INTO from the curated stage)
--   SHOPLAKE.STAGING    dbt staging models
--   SHOPLAKE.ANALYTICS  dbt marts
--   SHOPLAKE.SNAPSHOTS  dbt snapshots
-- All timestamps are UTC, stored as TIMESTAMP_NTZ.

CREATE DATABASE IF NOT EXISTS SHOPLAKE;

CREATE SCHEMA IF NOT EXISTS SHOPLAKE.RAW;
CREATE SCHEMA IF NOT EXISTS SHOPLAKE.STAGING;
CREATE SCHEMA IF NOT EXISTS SHOPLAKE.ANALYTICS;
CREATE SCHEMA IF NOT EXISTS SHOPLAKE.SNAPSHOTS;

-- Curated columns are loaded by name (MATCH_BY_COLUMN_NAME); the last two columns are load
-- metadata set by the loader in the same transaction as the COPY.
CREATE TABLE IF NOT EXISTS SHOPLAKE.RAW.ORDERS (
    ORDER_ID       VARCHAR,
    LINE_NUMBER    NUMBER(10, 0),
    CUSTOMER_ID    VARCHAR,
    PRODUCT_ID     VARCHAR,
    QUANTITY       NUMBER(10, 0),
    UNIT_PRICE     NUMBER(18, 2),
    CURRENCY       VARCHAR(3),
    STATUS         VARCHAR,
    ORDER_TS       TIMESTAMP_NTZ,
    UPDATED_AT     TIMESTAMP_NTZ,
    LINE_AMOUNT    NUMBER(18, 2),
    SOURCE_OBJECT  VARCHAR,
    _SOURCE_FILE   VARCHAR,
    _LOADED_AT     TIMESTAMP_NTZ
) COMMENT = 'Curated order lines as loaded (append-only; dbt keeps the latest UPDATED_AT per ORDER_ID, LINE_NUMBER)';

CREATE TABLE IF NOT EXISTS SHOPLAKE.RAW.CUSTOMERS (
    CUSTOMER_ID    VARCHAR,
    FIRST_NAME     VARCHAR,
    LAST_NAME      VARCHAR,
    EMAIL          VARCHAR,
    PHONE          VARCHAR,
    CITY           VARCHAR,
    COUNTRY        VARCHAR,
    LOYALTY_TIER   VARCHAR,
    SIGNUP_AT      TIMESTAMP_NTZ,
    UPDATED_AT     TIMESTAMP_NTZ,
    SOURCE_OBJECT  VARCHAR,
    _SOURCE_FILE   VARCHAR,
    _LOADED_AT     TIMESTAMP_NTZ
) COMMENT = 'Curated customers as loaded (append-only; dbt keeps the latest UPDATED_AT per CUSTOMER_ID)';

CREATE TABLE IF NOT EXISTS SHOPLAKE.RAW.PRODUCTS (
    PRODUCT_ID     VARCHAR,
    SKU            VARCHAR,
    NAME           VARCHAR,
    CATEGORY       VARCHAR,
    UNIT_COST      NUMBER(18, 2),
    LIST_PRICE     NUMBER(18, 2),
    CURRENCY       VARCHAR(3),
    IS_ACTIVE      BOOLEAN,
    UPDATED_AT     TIMESTAMP_NTZ,
    SOURCE_OBJECT  VARCHAR,
    _SOURCE_FILE   VARCHAR,
    _LOADED_AT     TIMESTAMP_NTZ
) COMMENT = 'Curated products as loaded (append-only; dbt keeps the latest UPDATED_AT per PRODUCT_ID)';

CREATE TABLE IF NOT EXISTS SHOPLAKE.RAW.FX_RATES (
    RATE_DATE      DATE,
    BASE           VARCHAR(3),
    CURRENCY       VARCHAR(3),
    RATE           NUMBER(18, 8),
    SOURCE         VARCHAR,
    FETCHED_AT     TIMESTAMP_NTZ,
    _SOURCE_FILE   VARCHAR,
    _LOADED_AT     TIMESTAMP_NTZ
) COMMENT = 'FX rates: units of CURRENCY per 1 BASE on the ECB business day RATE_DATE';

CREATE TABLE IF NOT EXISTS SHOPLAKE.RAW.PIPELINE_RUNS (
    RUN_ID            VARCHAR,
    STAGE             VARCHAR,
    DATASET           VARCHAR,
    ROWS_IN           NUMBER,
    ROWS_OUT          NUMBER,
    ROWS_QUARANTINED  NUMBER,
    FILES_LOADED      NUMBER,
    FILES_SKIPPED     NUMBER,
    STARTED_AT        TIMESTAMP_NTZ,
    ENDED_AT          TIMESTAMP_NTZ,
    STATUS            VARCHAR,
    DETAIL            VARCHAR
) COMMENT = 'One row per pipeline stage run and dataset (audit and reconciliation)';

-- The loader's own ledger: which version (S3 ETag) of which file is in which raw table.
-- COPY load history alone cannot tell a replayed file with new content (same key) from the
-- file already loaded; this ledger can, and lets the loader replace that file's rows.
CREATE TABLE IF NOT EXISTS SHOPLAKE.RAW.LOAD_LEDGER (
    DATASET       VARCHAR,
    SOURCE_FILE   VARCHAR,
    SOURCE_ID     VARCHAR,
    ETAG          VARCHAR,
    MANIFEST_RUN  VARCHAR,
    ROWS_LOADED   NUMBER,
    LOAD_RUN_ID   VARCHAR,
    LOADED_AT     TIMESTAMP_NTZ
) COMMENT = 'Loader ledger: file version loaded per dataset (replay detection)';

USE SCHEMA SHOPLAKE.RAW;
