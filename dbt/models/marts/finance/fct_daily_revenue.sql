-- Revenue per order day and currency, in the order currency and in USD.
-- Cancelled lines are excluded; returned lines count in gross and are subtracted in net.
with lines as (
    select * from {{ ref('fct_orders') }}
    where not is_cancelled
)

select
    cast(order_date as date) as order_date,
    cast(currency_code as varchar) as currency_code,
    cast(count(distinct order_id) as bigint) as order_count,
    cast(count(*) as bigint) as line_count,
    cast(sum(quantity) as bigint) as units_sold,
    cast(sum(line_amount) as decimal(18, 2)) as gross_amount,
    cast(sum(case when is_returned then line_amount else 0 end) as decimal(18, 2)) as returned_amount,
    cast(sum(case when is_returned then 0 else line_amount end) as decimal(18, 2)) as net_amount,
    cast(sum(amount_usd) as decimal(18, 2)) as gross_amount_usd,
    cast(sum(case when is_returned then 0 else amount_usd end) as decimal(18, 2)) as net_amount_usd,
    cast(sum(case when has_fx_rate then 0 else 1 end) as bigint) as unconverted_line_count,
    cast(sum(case when has_fx_rate then 0 else 1 end) = 0 as boolean) as is_fully_converted
from lines
group by order_date, currency_code
