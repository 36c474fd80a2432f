-- Per product: lines, units, revenue (USD) and return rate (returned lines / lines),
-- ranked by net USD revenue. Cancelled lines are excluded. Products that appear in orders
-- but not in the catalogue are kept (has_known_product = false).
with lines as (
    select * from {{ ref('fct_orders') }}
    where not is_cancelled
),

per_product as (
    select
        product_id,
        count(*) as line_count,
        sum(case when is_returned then 1 else 0 end) as returned_line_count,
        sum(quantity) as units_sold,
        sum(case when is_returned then 0 else quantity end) as units_kept,
        sum(amount_usd) as gross_revenue_usd,
        sum(case when is_returned then 0 else amount_usd end) as net_revenue_usd,
        max(case when has_known_product then 1 else 0 end) = 1 as has_known_product
    from lines
    group by product_id
)

select
    cast(per_product.product_id as varchar) as product_id,
    cast(dim_products.sku as varchar) as sku,
    cast(dim_products.product_name as varchar) as product_name,
    cast(dim_products.category as varchar) as category,
    cast(per_product.line_count as bigint) as line_count,
    cast(per_product.returned_line_count as bigint) as returned_line_count,
    cast(per_product.units_sold as bigint) as units_sold,
    cast(per_product.units_kept as bigint) as units_kept,
    cast(coalesce(per_product.gross_revenue_usd, 0) as decimal(18, 2)) as gross_revenue_usd,
    cast(coalesce(per_product.net_revenue_usd, 0) as decimal(18, 2)) as net_revenue_usd,
    cast(
        cast(per_product.returned_line_count as double) / per_product.line_count as double
    ) as return_rate,
    cast(
        rank() over (order by coalesce(per_product.net_revenue_usd, 0) desc) as integer
    ) as revenue_rank,
    cast(per_product.has_known_product as boolean) as has_known_product
from per_product
left join {{ ref('dim_products') }} as dim_products
    on dim_products.product_id = per_product.product_id
