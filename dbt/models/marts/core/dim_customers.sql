{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}
-- SCD Type 2 customer dimension from the snapshot: one row per customer version.
-- No raw PII: only email_hash, email_domain and phone_masked.
-- Incremental: only customers with a snapshot version that is new or was closed since the
-- last run (compared by key and valid_to, a scan of the dimension, not of order history)
-- get all their versions replaced (delete+insert on customer_id).
with snapshot as (
    select * from {{ ref('snp_shop__customers') }}
    {% if is_incremental() %}
    where customer_id in (
        select snp.customer_id
        from {{ ref('snp_shop__customers') }} as snp
        left join {{ this }} as existing
            on existing.customer_sk = snp.dbt_scd_id
        where existing.customer_sk is null
            or (existing.valid_to is null and snp.dbt_valid_to is not null)
            or existing.valid_to <> snp.dbt_valid_to
    )
    {% endif %}
)

select
    cast(dbt_scd_id as varchar) as customer_sk,
    cast(customer_id as varchar) as customer_id,
    cast(email_hash as varchar) as email_hash,
    cast(email_domain as varchar) as email_domain,
    cast(phone_masked as varchar) as phone_masked,
    cast(city as varchar) as city,
    cast(country_code as varchar) as country_code,
    cast(loyalty_tier as varchar) as loyalty_tier,
    cast(signed_up_at as timestamp) as signed_up_at,
    cast(updated_at as timestamp) as updated_at,
    cast(dbt_valid_from as timestamp) as valid_from,
    cast(dbt_valid_to as timestamp) as valid_to,
    cast(dbt_valid_to is null as boolean) as is_current
from snapshot
