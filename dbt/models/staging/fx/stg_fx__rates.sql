-- 1:1 with raw.fx_rates (every fetch); rename and cast only.
with source as (
    select * from {{ source('fx', 'rates') }}
),

renamed as (
    select
        cast(rate_date as date) as rate_date,
        upper(cast(base as {{ dbt.type_string() }})) as base_currency_code,
        upper(cast(currency as {{ dbt.type_string() }})) as currency_code,
        cast(rate as decimal(18, 8)) as rate,
        cast(source as {{ dbt.type_string() }}) as rate_source,
        cast(fetched_at as {{ dbt.type_timestamp() }}) as fetched_at,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
    from source
)

select * from renamed
