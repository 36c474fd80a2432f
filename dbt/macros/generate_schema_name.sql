{#- Schemas are exactly STAGING / ANALYTICS / SNAPSHOTS (no `<target schema>_` prefix): a
    custom schema is used as is, models without one land in the target's schema.
    Upper case, as Snowflake stores unquoted names: the local DuckDB file is created through
    fakesnow (warehouse/create_tables.sql), which stores them upper case too, and dbt refuses
    relations whose schema differs from the file's only by case ("approximate match"). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim | upper }}
    {%- else -%}
        {{ custom_schema_name | trim | upper }}
    {%- endif -%}
{%- endmacro %}
