-- 1:1 with raw.pipeline_runs; rename and cast only.
with source as (
    select * from {{ source('shop', 'pipeline_runs') }}
),

renamed as (
    select
        cast(run_id as {{ dbt.type_string() }}) as run_id,
        lower(cast(stage as {{ dbt.type_string() }})) as stage,
        lower(cast(dataset as {{ dbt.type_string() }})) as dataset,
        cast(rows_in as {{ dbt.type_bigint() }}) as rows_in,
        cast(rows_out as {{ dbt.type_bigint() }}) as rows_out,
        cast(rows_quarantined as {{ dbt.type_bigint() }}) as rows_quarantined,
        cast(files_loaded as {{ dbt.type_bigint() }}) as files_loaded,
        cast(files_skipped as {{ dbt.type_bigint() }}) as files_skipped,
        cast(started_at as {{ dbt.type_timestamp() }}) as started_at,
        cast(ended_at as {{ dbt.type_timestamp() }}) as ended_at,
        lower(cast(status as {{ dbt.type_string() }})) as run_status,
        cast(detail as {{ dbt.type_string() }}) as detail
    from source
)

select * from renamed
