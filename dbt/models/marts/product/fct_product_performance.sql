-- Per product: lines, units, revenue (USD) and return rate (returned lines / lines),
-- ranked by net USD revenue. Cancelled lines are excluded. Products that appear in orders
-- but not in the catalogue are kept (has_known_product = false).
-- The sums are kept incrementally in int_orders__product_sales (only the products an
-- increment touches are recomputed); the rank is global, so this table is rebuilt from that
-- small table (one row per product) on every run.
with per_product as (
    select * from {{ ref('int_orders__product_sales') }}
    -- a product whose lines are all cancelled has no row
    where line_count > 0
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
    cast(per_product.has_known_product = 1 as boolean) as has_known_product
from per_product
left join {{ ref('dim_products') }} as dim_products
    on dim_products.product_id = per_product.product_id
