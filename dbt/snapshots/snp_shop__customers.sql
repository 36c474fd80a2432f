{#- SCD Type 2 history of customers (config and tests in snp_shop__customers.yml).
    Reads only the customers whose deduplicated row was (re)loaded since the snapshot last
    ran (loaded_at > the latest loaded_at it holds): the others cannot have a newer
    updated_at. Customers absent from the query keep their history (hard deletes are
    ignored, the default), so the history equals a snapshot of every customer. -#}
{% snapshot snp_shop__customers %}
select * from {{ ref('int_customers__deduplicated') }}
{%- if execute %}
    {%- set existing = load_relation(this) %}
    {%- if existing is not none %}
where loaded_at > {{ shoplake.load_watermark(existing) }}
    {%- endif %}
{%- endif %}
{% endsnapshot %}
