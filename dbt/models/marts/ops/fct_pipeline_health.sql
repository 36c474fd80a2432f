-- Pipeline health per day, stage and dataset: runs, failures, volumes, quarantine rate,
-- durations and the status of the latest run.
with runs as (
    select
        run_id,
        coalesce(stage, 'unknown') as stage,
        -- runs that span every dataset (e.g. a full load) have no dataset
        coalesce(dataset, 'all') as dataset,
        rows_in,
        rows_out,
        rows_quarantined,
        files_loaded,
        files_skipped,
        started_at,
        run_status,
        cast(started_at as date) as run_date,
        {{ dbt.datediff('started_at', 'ended_at', 'second') }} as duration_seconds
    from {{ ref('stg_shop__pipeline_runs') }}
),

latest as (
    select run_date, stage, dataset, run_status as last_run_status, started_at as last_run_at
    from runs
    qualify row_number() over (
        partition by run_date, stage, dataset order by started_at desc, run_id desc
    ) = 1
),

daily as (
    select
        run_date,
        stage,
        dataset,
        count(*) as run_count,
        sum(case when run_status = 'succeeded' then 1 else 0 end) as succeeded_count,
        sum(case when run_status = 'warning' then 1 else 0 end) as warning_count,
        sum(case when run_status = 'failed' then 1 else 0 end) as failed_count,
        sum(coalesce(rows_in, 0)) as rows_in,
        sum(coalesce(rows_out, 0)) as rows_out,
        sum(coalesce(rows_quarantined, 0)) as rows_quarantined,
        sum(coalesce(files_loaded, 0)) as files_loaded,
        sum(coalesce(files_skipped, 0)) as files_skipped,
        avg(duration_seconds) as avg_duration_seconds,
        max(duration_seconds) as max_duration_seconds
    from runs
    group by run_date, stage, dataset
)

select
    cast(daily.run_date as date) as run_date,
    cast(daily.stage as varchar) as stage,
    cast(daily.dataset as varchar) as dataset,
    cast(daily.run_count as bigint) as run_count,
    cast(daily.succeeded_count as bigint) as succeeded_count,
    cast(daily.warning_count as bigint) as warning_count,
    cast(daily.failed_count as bigint) as failed_count,
    cast(cast(daily.succeeded_count as double) / daily.run_count as double) as success_rate,
    cast(daily.rows_in as bigint) as rows_in,
    cast(daily.rows_out as bigint) as rows_out,
    cast(daily.rows_quarantined as bigint) as rows_quarantined,
    cast(
        case when daily.rows_in > 0 then cast(daily.rows_quarantined as double) / daily.rows_in end
        as double
    ) as quarantine_rate,
    cast(daily.files_loaded as bigint) as files_loaded,
    cast(daily.files_skipped as bigint) as files_skipped,
    cast(daily.avg_duration_seconds as double) as avg_duration_seconds,
    cast(daily.max_duration_seconds as double) as max_duration_seconds,
    cast(latest.last_run_at as timestamp) as last_run_at,
    cast(latest.last_run_status as varchar) as last_run_status,
    cast(latest.last_run_status = 'failed' as boolean) as is_failing
from daily
inner join latest
    on latest.run_date = daily.run_date
    and latest.stage = daily.stage
    and latest.dataset = daily.dataset
