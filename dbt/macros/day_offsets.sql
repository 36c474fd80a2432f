{#- `select n from ...` with n = 0 .. 9999: a portable number series (no generator
    function is common to Snowflake and DuckDB) for date spines of up to ~27 years. -#}
{% macro day_offsets() -%}
    {%- set digits -%}
        (select 0 as d union all select 1 union all select 2 union all select 3
         union all select 4 union all select 5 union all select 6 union all select 7
         union all select 8 union all select 9)
    {%- endset -%}
    select d0.d + 10 * d1.d + 100 * d2.d + 1000 * d3.d as n
    from {{ digits }} as d0
    cross join {{ digits }} as d1
    cross join {{ digits }} as d2
    cross join {{ digits }} as d3
{%- endmacro %}
