-- shoplake: Parquet file format, external stage on the curated zone, and the COPY statements
-- the loader runs (Snowflake SQL; locally run unchanged on DuckDB through fakesnow).
--
-- Sections start with a `-- name: <section>` line; the loader runs one section at a time.
-- Templating: `{{ var }}` inside a string literal is replaced by the loader with a checked
-- value (letters, digits and `_ - . / = :` only), so the file parses as-is and a Snowflake
-- engineer can paste a section into a worksheet after filling the values in. `?` are bound
-- parameters (qmark paramstyle).
--   {{ lake_bucket }}  the lake bucket of the profile (Settings.lake_bucket)
--   {{ file }}         a curated file, relative to @CURATED_STAGE/<dataset>/
--
-- How _SOURCE_FILE / _LOADED_AT are filled: each file is copied on its own with
-- MATCH_BY_COLUMN_NAME (metadata columns are left NULL), then the same transaction stamps the
-- rows that have no _SOURCE_FILE yet. Both Snowflake and fakesnow accept this. (Snowflake's
-- INCLUDE_METADATA = (... METADATA$FILENAME) and a transforming COPY selecting
-- METADATA$FILENAME are not supported by fakesnow 0.12.) The loader runs one load at a time.
--
-- Load history: COPY without FORCE skips a file already loaded into the table (Snowflake load
-- metadata; fakesnow keeps the same history in the database file). A replayed file with new
-- content (same key, new ETag) is reloaded with the *_replace sections after its old rows are
-- deleted, all in one transaction.

-- name: setup
-- On Snowflake the storage integration SHOPLAKE_S3 is created by `shoplake deploy`
-- (warehouse/account.sql, src/shoplake/warehouse/setup.py: the IAM role handshake).
-- fakesnow ignores STORAGE_INTEGRATION and reads s3:// through the registered s3fs filesystem.
CREATE FILE FORMAT IF NOT EXISTS SHOPLAKE.RAW.PARQUET_FORMAT
    TYPE = PARQUET;

CREATE OR REPLACE STAGE SHOPLAKE.RAW.CURATED_STAGE
    URL = 's3://{{ lake_bucket }}/curated/'
    STORAGE_INTEGRATION = SHOPLAKE_S3
    FILE_FORMAT = (FORMAT_NAME = 'SHOPLAKE.RAW.PARQUET_FORMAT')
    COMMENT = 'Curated Parquet written by the Glue cleanse jobs';

-- name: copy_orders
COPY INTO SHOPLAKE.RAW.ORDERS
    FROM @SHOPLAKE.RAW.CURATED_STAGE/orders/
    FILES = ('{{ file }}')
    FILE_FORMAT = (FORMAT_NAME = 'SHOPLAKE.RAW.PARQUET_FORMAT')
    MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
    ON_ERROR = ABORT_STATEMENT;

-- name: copy_orders_replace
COPY INTO SHOPLAKE.RAW.ORDERS
    FROM @SHOPLAKE.RAW.CURATED_STAGE/orders/
    FILES = ('{{ file }}')
    FILE_FORMAT = (FORMAT_NAME = 'SHOPLAKE.RAW.PARQUET_FORMAT')
    MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
    ON_ERROR = ABORT_STATEMENT
    FORCE = TRUE;

-- name: stamp_orders
UPDATE SHOPLAKE.RAW.ORDERS SET _SOURCE_FILE = ?, _LOADED_AT = SYSDATE() WHERE _SOURCE_FILE IS NULL;

-- name: forget_orders
DELETE FROM SHOPLAKE.RAW.ORDERS WHERE _SOURCE_FILE = ?;

-- name: copy_customers
COPY INTO SHOPLAKE.RAW.CUSTOMERS
    FROM @SHOPLAKE.RAW.CURATED_STAGE/customers/
    FILES = ('{{ file }}')
    FILE_FORMAT = (FORMAT_NAME = 'SHOPLAKE.RAW.PARQUET_FORMAT')
    MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
    ON_ERROR = ABORT_STATEMENT;

-- name: copy_customers_replace
COPY INTO SHOPLAKE.RAW.CUSTOMERS
    FROM @SHOPLAKE.RAW.CURATED_STAGE/customers/
    FILES = ('{{ file }}')
    FILE_FORMAT = (FORMAT_NAME = 'SHOPLAKE.RAW.PARQUET_FORMAT')
    MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
    ON_ERROR = ABORT_STATEMENT
    FORCE = TRUE;

-- name: stamp_customers
UPDATE SHOPLAKE.RAW.CUSTOMERS SET _SOURCE_FILE = ?, _LOADED_AT = SYSDATE() WHERE _SOURCE_FILE IS NULL;

-- name: forget_customers
DELETE FROM SHOPLAKE.RAW.CUSTOMERS WHERE _SOURCE_FILE = ?;

-- name: copy_products
COPY INTO SHOPLAKE.RAW.PRODUCTS
    FROM @SHOPLAKE.RAW.CURATED_STAGE/products/
    FILES = ('{{ file }}')
    FILE_FORMAT = (FORMAT_NAME = 'SHOPLAKE.RAW.PARQUET_FORMAT')
    MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
    ON_ERROR = ABORT_STATEMENT;

-- name: copy_products_replace
COPY INTO SHOPLAKE.RAW.PRODUCTS
    FROM @SHOPLAKE.RAW.CURATED_STAGE/products/
    FILES = ('{{ file }}')
    FILE_FORMAT = (FORMAT_NAME = 'SHOPLAKE.RAW.PARQUET_FORMAT')
    MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
    ON_ERROR = ABORT_STATEMENT
    FORCE = TRUE;

-- name: stamp_products
UPDATE SHOPLAKE.RAW.PRODUCTS SET _SOURCE_FILE = ?, _LOADED_AT = SYSDATE() WHERE _SOURCE_FILE IS NULL;

-- name: forget_products
DELETE FROM SHOPLAKE.RAW.PRODUCTS WHERE _SOURCE_FILE = ?;
