-- Recency / frequency / monetary scores (1-5, 5 = best) and a segment per customer,
-- plus first vs repeat purchase facts. Cancelled lines do not count; monetary is net USD
-- (lines without an FX rate do not contribute).
{%- set as_of = var('rfm_as_of_date') %}

with orders as (
    select
        customer_id,
        order_id,
        min(order_date) as order_date,
        sum(case when is_returned then 0 else amount_usd end) as order_amount_usd,
        max(case when is_orphan_customer then 1 else 0 end) as is_orphan
    from {{ ref('fct_orders') }}
    where not is_cancelled
    group by customer_id, order_id
),

as_of as (
    select
        {% if as_of %}cast('{{ as_of }}' as date){% else %}max(order_date){% endif %} as as_of_date
    from orders
),

customers as (
    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(*) as order_count,
        coalesce(sum(order_amount_usd), 0) as monetary_usd,
        max(is_orphan) = 1 as is_orphan_customer
    from orders
    group by customer_id
),

first_orders as (
    select customer_id, order_id as first_order_id
    from orders
    qualify row_number() over (partition by customer_id order by order_date, order_id) = 1
),

scored as (
    select
        customers.*,
        first_orders.first_order_id,
        {{ dbt.datediff('customers.last_order_date', 'as_of.as_of_date', 'day') }} as recency_days,
        ntile(5) over (order by customers.last_order_date, customers.customer_id) as recency_score,
        ntile(5) over (order by customers.order_count, customers.customer_id) as frequency_score,
        ntile(5) over (order by customers.monetary_usd, customers.customer_id) as monetary_score
    from customers
    cross join as_of
    inner join first_orders on first_orders.customer_id = customers.customer_id
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
