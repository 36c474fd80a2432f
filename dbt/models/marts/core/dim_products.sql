-- Product dimension (type 1): the latest version of each product.
with latest as (
    select *
    from {{ ref('stg_shop__products') }}
    qualify row_number() over (
        partition by product_id
        order by updated_at desc, loaded_at desc
    ) = 1
)

select
    cast(product_id as varchar) as product_id,
    cast(sku as varchar) as sku,
    cast(product_name as varchar) as product_name,
    cast(category as varchar) as category,
    cast(unit_cost as decimal(18, 2)) as unit_cost,
    cast(list_price as decimal(18, 2)) as list_price,
    cast(currency_code as varchar) as currency_code,
    cast(is_active as boolean) as is_active,
    cast(updated_at as timestamp) as updated_at
from latest
