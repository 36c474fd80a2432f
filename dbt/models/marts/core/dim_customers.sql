-- SCD Type 2 customer dimension from the snapshot: one row per customer version.
-- No raw PII: only email_hash, email_domain and phone_masked.
with snapshot as (
    select * from {{ ref('snp_shop__customers') }}
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
