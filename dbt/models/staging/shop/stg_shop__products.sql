-- 1:1 with raw.products (every loaded version); rename and cast only.
with source as (
    select * from {{ source('shop', 'products') }}
),

renamed as (
    select
        cast(product_id as {{ dbt.type_string() }}) as product_id,
        cast(sku as {{ dbt.type_string() }}) as sku,
        cast(name as {{ dbt.type_string() }}) as product_name,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(unit_cost as decimal(18, 2)) as unit_cost,
        cast(list_price as decimal(18, 2)) as list_price,
        upper(cast(currency as {{ dbt.type_string() }})) as currency_code,
        cast(is_active as {{ dbt.type_boolean() }}) as is_active,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(source_object as {{ dbt.type_string() }}) as source_object,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
    from source
)

select * from renamed
