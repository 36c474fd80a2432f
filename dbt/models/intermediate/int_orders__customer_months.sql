{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}
-- The months in which each customer ordered (the input of fct_cohort_retention), kept
-- incrementally: a run recomputes only the customers of the lines merged into fct_orders
-- since the last run and replaces all their months (delete+insert on customer_id). Months
-- with cancelled lines only are kept with is_active = 0 (so that a month whose lines all
-- became cancelled is replaced); the mart reads active months only. Cohorts need no
-- amounts or flags, so lines fct_orders re-evaluates do not matter here.
with lines as (
    select * from {{ ref('fct_orders') }}
    {% if is_incremental() %}
    where customer_id in (
        select customer_id from {{ ref('fct_orders') }}
        where loaded_at > {{ shoplake.load_watermark() }}
    )
    {% endif %}
)

select
    customer_id,
    cast({{ dbt.date_trunc('month', 'order_date') }} as date) as activity_month,
    max(case when is_cancelled then 0 else 1 end) as is_active,
    max(loaded_at) as loaded_at
from lines
group by 1, 2
