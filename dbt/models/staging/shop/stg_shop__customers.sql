-- 1:1 with raw.customers (every loaded version); rename and cast only.
-- Still holds PII (a view: nothing is copied); int_customers__deduplicated masks it before
-- anything is persisted.
with source as (
    select * from {{ source('shop', 'customers') }}
),

renamed as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(first_name as {{ dbt.type_string() }}) as first_name,
        cast(last_name as {{ dbt.type_string() }}) as last_name,
        lower(trim(cast(email as {{ dbt.type_string() }}))) as email,
        cast(phone as {{ dbt.type_string() }}) as phone,
        cast(city as {{ dbt.type_string() }}) as city,
        upper(cast(country as {{ dbt.type_string() }})) as country_code,
        lower(cast(loyalty_tier as {{ dbt.type_string() }})) as loyalty_tier,
        cast(signup_at as {{ dbt.type_timestamp() }}) as signed_up_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(source_object as {{ dbt.type_string() }}) as source_object,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
    from source
)

select * from renamed
