-- The latest version of each customer (by updated_at, then load time), with PII masked:
-- the snapshot (and so every persisted model) never sees raw email, phone or names.
with latest as (
    select *
    from {{ ref('stg_shop__customers') }}
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
