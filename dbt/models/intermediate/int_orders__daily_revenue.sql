{{
    config(
        materialized='incremental',
        unique_key='order_date',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}
-- Revenue sums per order day and currency (the body of fct_daily_revenue), kept
-- incrementally: a run recomputes only the order dates the lines merged into fct_orders
-- since the last run touch (new, late-arriving and updated lines), plus dates holding a line
-- fct_orders re-evaluates (unknown FX rate, customer or product), and replaces those dates
-- (delete+insert on order_date). Every line counts, cancelled ones included, so that a date
-- whose lines all became cancelled still has a row here (line_count = 0) and its old
-- figures are replaced; fct_daily_revenue drops such rows.
with touched as (
    {% if is_incremental() %}
    select order_date from {{ ref('fct_orders') }}
    where loaded_at > {{ shoplake.load_watermark() }}
    union
    select order_date from {{ this }} where needs_recheck = 1
    {% else %}
    select cast(null as date) as order_date
    {% endif %}
),

lines as (
    select * from {{ ref('fct_orders') }}
    {% if is_incremental() %}
    where order_date in (select order_date from touched)
    {% endif %}
)

select
    order_date,
    currency_code,
    -- `case when is_cancelled then null ...`: the sums over the non-cancelled lines only,
    -- exactly as a filter `where not is_cancelled` would give them
    count(distinct case when not is_cancelled then order_id end) as order_count,
    count(case when not is_cancelled then 1 end) as line_count,
    sum(case when not is_cancelled then quantity end) as units_sold,
    sum(case when not is_cancelled then line_amount end) as gross_amount,
    sum(case when is_cancelled then null when is_returned then line_amount else 0 end) as returned_amount,
    sum(case when is_cancelled then null when is_returned then 0 else line_amount end) as net_amount,
    sum(case when not is_cancelled then amount_usd end) as gross_amount_usd,
    sum(case when is_cancelled then null when is_returned then 0 else amount_usd end) as net_amount_usd,
    sum(case when is_cancelled then null when has_fx_rate then 0 else 1 end) as unconverted_line_count,
    max({{ shoplake.needs_recheck() }}) as needs_recheck,
    max(loaded_at) as loaded_at
from lines
group by order_date, currency_code
