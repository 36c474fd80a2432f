{{ config(materialized='table') }}
-- One row per calendar day and currency with the ECB rate that applies on that day:
-- the latest rate_date <= day (an as-of join), but never older than
-- var('fx_max_staleness_days'). Days without an applicable rate have no row: a missing rate
-- is never invented. EUR (the base) is 1 by definition on every ECB business day.

{%- set max_staleness = var('fx_max_staleness_days') | int %}

with rates as (
    select
        rate_date,
        currency_code,
        rate as rate_per_eur
    from {{ ref('stg_fx__rates') }}
    where base_currency_code = 'EUR'
    -- the same day may be fetched more than once: keep the latest fetch
    qualify row_number() over (
        partition by rate_date, currency_code
        order by fetched_at desc, loaded_at desc
    ) = 1
),

ecb_days as (
    select distinct rate_date from rates
),

with_base as (
    select rate_date, currency_code, rate_per_eur from rates
    where currency_code <> 'EUR'
    union all
    select rate_date, 'EUR' as currency_code, cast(1 as decimal(18, 8)) as rate_per_eur
    from ecb_days
),

rate_periods as (
    select
        rate_date,
        currency_code,
        rate_per_eur,
        lead(rate_date) over (partition by currency_code order by rate_date) as next_rate_date
    from with_base
),

bounds as (
    select
        min(rate_date) as first_day,
        cast({{ dbt.dateadd('day', max_staleness, 'max(rate_date)') }} as date) as last_day
    from ecb_days
),

offsets as (
    {{ shoplake.day_offsets() }}
),

spine as (
    select cast({{ dbt.dateadd('day', 'offsets.n', 'bounds.first_day') }} as date) as date_day
    from bounds
    cross join offsets
    where offsets.n <= {{ dbt.datediff('bounds.first_day', 'bounds.last_day', 'day') }}
)

select
    spine.date_day,
    rate_periods.currency_code,
    rate_periods.rate_per_eur,
    rate_periods.rate_date,
    cast({{ dbt.datediff('rate_periods.rate_date', 'spine.date_day', 'day') }} as integer)
        as rate_age_days
from spine
inner join rate_periods
    on spine.date_day >= rate_periods.rate_date
    and (rate_periods.next_rate_date is null or spine.date_day < rate_periods.next_rate_date)
    and spine.date_day <= cast({{ dbt.dateadd('day', max_staleness, 'rate_periods.rate_date') }} as date)
