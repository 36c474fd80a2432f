-- Recency / frequency / monetary scores (1-5, 5 = best) and a segment per customer,
-- plus first vs repeat purchase facts. Cancelled lines do not count; monetary is net USD
-- (lines without an FX rate do not contribute).
{%- set as_of = var('rfm_as_of_date') %}

-- Per-customer order facts are kept incrementally in int_orders__customer_orders (only the
-- customers an increment touches are recomputed); the scores rank every customer and the
-- recency counts from the latest order date, so they are recomputed here from that small
-- table (one row per customer) on every run, which keeps them equal to a full refresh.
with customers as (
    select
        customer_id,
        first_order_id,
        first_order_date,
        last_order_date,
        order_count,
        monetary_usd,
        is_orphan = 1 as is_orphan_customer
    from {{ ref('int_orders__customer_orders') }}
    -- a customer whose lines are all cancelled has no row
    where order_count > 0
),

as_of as (
    select
        {% if as_of %}cast('{{ as_of }}' as date){% else %}max(last_order_date){% endif %} as as_of_date
    from customers
),

scored as (
    select
        customers.*,
        {{ dbt.datediff('customers.last_order_date', 'as_of.as_of_date', 'day') }} as recency_days,
        ntile(5) over (order by customers.last_order_date, customers.customer_id) as recency_score,
        ntile(5) over (order by customers.order_count, customers.customer_id) as frequency_score,
        ntile(5) over (order by customers.monetary_usd, customers.customer_id) as monetary_score
    from customers
    cross join as_of
)

select
    cast(customer_id as varchar) as customer_id,
    cast(first_order_id as varchar) as first_order_id,
    cast(first_order_date as date) as first_order_date,
    cast(last_order_date as date) as last_order_date,
    cast(order_count as bigint) as order_count,
    cast(order_count > 1 as boolean) as is_repeat_customer,
    cast(monetary_usd as decimal(18, 2)) as monetary_usd,
    cast(recency_days as integer) as recency_days,
    cast(recency_score as integer) as recency_score,
    cast(frequency_score as integer) as frequency_score,
    cast(monetary_score as integer) as monetary_score,
    cast(
        cast(recency_score as varchar) || cast(frequency_score as varchar) || cast(monetary_score as varchar)
        as varchar
    ) as rfm_code,
    cast(case
        when recency_score >= 4 and frequency_score >= 4 then 'champions'
        when recency_score >= 3 and frequency_score >= 3 then 'loyal'
        when recency_score >= 4 then 'new'
        when recency_score <= 2 and frequency_score >= 3 then 'at_risk'
        when recency_score <= 2 then 'hibernating'
        else 'needs_attention'
    end as varchar) as rfm_segment,
    cast(is_orphan_customer as boolean) as is_orphan_customer
from scored
