-- 1:1 with raw.orders (every loaded version of every order line); rename and cast only.
with source as (
    select * from {{ source('shop', 'orders') }}
),

renamed as (
    select
        cast(order_id as {{ dbt.type_string() }})
            || '-' || cast(cast(line_number as {{ dbt.type_int() }}) as {{ dbt.type_string() }})
            as order_line_id,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(line_number as {{ dbt.type_int() }}) as line_number,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(product_id as {{ dbt.type_string() }}) as product_id,
        cast(quantity as {{ dbt.type_int() }}) as quantity,
        cast(unit_price as decimal(18, 2)) as unit_price,
        cast(coalesce(line_amount, quantity * unit_price) as decimal(18, 2)) as line_amount,
        upper(cast(currency as {{ dbt.type_string() }})) as currency_code,
        lower(cast(status as {{ dbt.type_string() }})) as order_status,
        cast(order_ts as {{ dbt.type_timestamp() }}) as ordered_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(source_object as {{ dbt.type_string() }}) as source_object,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
    from source
)

select * from renamed
