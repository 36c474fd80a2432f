-- shoplake loader bookkeeping (Snowflake SQL; locally unchanged through fakesnow):
-- table columns for the schema-drift check, the load ledger, raw.pipeline_runs and FX rows.
-- Sections start with `-- name: <section>`; `?` are bound parameters (qmark paramstyle).

-- name: table_columns
SELECT COLUMN_NAME, DATA_TYPE
FROM SHOPLAKE.INFORMATION_SCHEMA.COLUMNS
WHERE TABLE_SCHEMA = 'RAW' AND TABLE_NAME = ?
ORDER BY ORDINAL_POSITION;

-- name: ledger_for_dataset
SELECT SOURCE_FILE, SOURCE_ID, ETAG FROM SHOPLAKE.RAW.LOAD_LEDGER WHERE DATASET = ?;

-- name: ledger_forget
DELETE FROM SHOPLAKE.RAW.LOAD_LEDGER WHERE DATASET = ? AND SOURCE_FILE = ?;

-- name: ledger_record
INSERT INTO SHOPLAKE.RAW.LOAD_LEDGER
    (DATASET, SOURCE_FILE, SOURCE_ID, ETAG, MANIFEST_RUN, ROWS_LOADED, LOAD_RUN_ID, LOADED_AT)
VALUES (?, ?, ?, ?, ?, ?, ?, SYSDATE());

-- name: ledger_record_many
-- The ledger rows of one batch of files in ONE statement (a bound JSON array, as fx_insert),
-- not one INSERT per file: fakesnow runs executemany as one statement per row.
INSERT INTO SHOPLAKE.RAW.LOAD_LEDGER
    (DATASET, SOURCE_FILE, SOURCE_ID, ETAG, MANIFEST_RUN, ROWS_LOADED, LOAD_RUN_ID, LOADED_AT)
SELECT r.value:dataset::VARCHAR,
       r.value:source_file::VARCHAR,
       r.value:source_id::VARCHAR,
       r.value:etag::VARCHAR,
       r.value:manifest_run::VARCHAR,
       r.value:rows_loaded::NUMBER,
       r.value:load_run_id::VARCHAR,
       SYSDATE()
FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) r;

-- name: record_run
INSERT INTO SHOPLAKE.RAW.PIPELINE_RUNS
    (RUN_ID, STAGE, DATASET, ROWS_IN, ROWS_OUT, ROWS_QUARANTINED, FILES_LOADED, FILES_SKIPPED,
     STARTED_AT, ENDED_AT, STATUS, DETAIL)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: fx_forget
DELETE FROM SHOPLAKE.RAW.FX_RATES WHERE _SOURCE_FILE = ?;

-- name: fx_insert
-- One statement per raw document: the flattened rows arrive as ONE bound JSON array
-- (first ? = the source file, second ? = the rows), so no per-row round trips.
INSERT INTO SHOPLAKE.RAW.FX_RATES
    (RATE_DATE, BASE, CURRENCY, RATE, SOURCE, FETCHED_AT, _SOURCE_FILE, _LOADED_AT)
SELECT r.value:rate_date::DATE,
       r.value:base::VARCHAR,
       r.value:currency::VARCHAR,
       r.value:rate::NUMBER(18, 8),
       r.value:source::VARCHAR,
       r.value:fetched_at::TIMESTAMP_NTZ,
       ?,
       SYSDATE()
FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) r;
