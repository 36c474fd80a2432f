{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='merge',
        on_schema_change='fail'
    )
}}
-- The latest version of each customer (by updated_at, then load time), with PII masked:
-- the snapshot (and so every persisted model) never sees raw email, phone or names.
-- Incremental: only customers with a raw row loaded since the last run are re-deduplicated
-- (over all their versions, so that a re-delivered older version never wins) and merged.
with source_rows as (
    select * from {{ ref('stg_shop__customers') }}
    {% if is_incremental() %}
    where customer_id in (
        select customer_id from {{ ref('stg_shop__customers') }}
        where loaded_at > {{ shoplake.load_watermark() }}
    )
    {% endif %}
),

latest as (
    select *
    from source_rows
    qualify row_number() over (
        partition by customer_id
        order by updated_at desc, loaded_at desc
    ) = 1
)

select
    customer_id,
    {{ shoplake.hash_pii('email') }} as email_hash,
    {{ dbt.split_part('email', "'@'", 2) }} as email_domain,
    {{ shoplake.mask_phone('phone') }} as phone_masked,
    city,
    country_code,
    loyalty_tier,
    signed_up_at,
    updated_at,
    loaded_at
from latest
