{{
    config(
        materialized='incremental',
        unique_key='product_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}
-- Sales sums per product (the body of fct_product_performance), kept incrementally: a run
-- recomputes only the products of the lines merged into fct_orders since the last run, plus
-- products holding a line fct_orders re-evaluates, and replaces them (delete+insert on
-- product_id). Cancelled lines are read too (a product whose lines all became cancelled
-- keeps a row with line_count = 0, so its old figures are replaced); the mart drops them.
with touched as (
    {% if is_incremental() %}
    select product_id from {{ ref('fct_orders') }}
    where loaded_at > {{ shoplake.load_watermark() }}
    union
    select product_id from {{ this }} where needs_recheck = 1
    {% else %}
    select cast(null as {{ dbt.type_string() }}) as product_id
    {% endif %}
),

lines as (
    select * from {{ ref('fct_orders') }}
    {% if is_incremental() %}
    where product_id in (select product_id from touched)
    {% endif %}
)

select
    product_id,
    -- `case when is_cancelled then null ...`: sums over the non-cancelled lines only
    count(case when not is_cancelled then 1 end) as line_count,
    sum(case when is_cancelled then null when is_returned then 1 else 0 end) as returned_line_count,
    sum(case when not is_cancelled then quantity end) as units_sold,
    sum(case when is_cancelled then null when is_returned then 0 else quantity end) as units_kept,
    sum(case when not is_cancelled then amount_usd end) as gross_revenue_usd,
    sum(case when is_cancelled then null when is_returned then 0 else amount_usd end) as net_revenue_usd,
    max(case when is_cancelled then null when has_known_product then 1 else 0 end) as has_known_product,
    max({{ shoplake.needs_recheck() }}) as needs_recheck,
    max(loaded_at) as loaded_at
from lines
group by product_id
