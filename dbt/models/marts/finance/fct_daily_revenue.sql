-- Revenue per order day and currency, in the order currency and in USD.
-- Cancelled lines are excluded; returned lines count in gross and are subtracted in net.
-- The sums are kept incrementally in int_orders__daily_revenue (only the order dates an
-- increment touches are recomputed); this table is a projection of that small table
-- (days x currencies), so a run costs what the increment costs.
select
    cast(order_date as date) as order_date,
    cast(currency_code as varchar) as currency_code,
    cast(order_count as bigint) as order_count,
    cast(line_count as bigint) as line_count,
    cast(units_sold as bigint) as units_sold,
    cast(gross_amount as decimal(18, 2)) as gross_amount,
    cast(returned_amount as decimal(18, 2)) as returned_amount,
    cast(net_amount as decimal(18, 2)) as net_amount,
    cast(gross_amount_usd as decimal(18, 2)) as gross_amount_usd,
    cast(net_amount_usd as decimal(18, 2)) as net_amount_usd,
    cast(unconverted_line_count as bigint) as unconverted_line_count,
    cast(unconverted_line_count = 0 as boolean) as is_fully_converted
-- a day whose lines are all cancelled has no revenue row
from {{ ref('int_orders__daily_revenue') }}
where line_count > 0
