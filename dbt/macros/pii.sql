{#- PII helpers. Dialect-specific parts go through adapter.dispatch so the same models run
    on Snowflake (prod) and DuckDB (local). -#}

{#- Hex SHA-256 of an expression (null stays null). -#}
{% macro hash_pii(expr) -%}
    {{ return(adapter.dispatch('hash_pii', 'shoplake')(expr)) }}
{%- endmacro %}

{% macro default__hash_pii(expr) -%}
    sha2(cast({{ expr }} as {{ dbt.type_string() }}), 256)
{%- endmacro %}

{% macro snowflake__hash_pii(expr) -%}
    sha2(cast({{ expr }} as varchar), 256)
{%- endmacro %}

{% macro duckdb__hash_pii(expr) -%}
    sha256(cast({{ expr }} as varchar))
{%- endmacro %}

{#- Remove every non-digit character. -#}
{% macro digits_only(expr) -%}
    {{ return(adapter.dispatch('digits_only', 'shoplake')(expr)) }}
{%- endmacro %}

{% macro default__digits_only(expr) -%}
    regexp_replace({{ expr }}, '[^0-9]', '')
{%- endmacro %}

{#- DuckDB replaces only the first match unless the 'g' option is given. -#}
{% macro duckdb__digits_only(expr) -%}
    regexp_replace({{ expr }}, '[^0-9]', '', 'g')
{%- endmacro %}

{#- Phone number masked to its last two digits, e.g. '*******42'. -#}
{% macro mask_phone(expr) -%}
    case
        when {{ expr }} is null then null
        when length({{ shoplake.digits_only(expr) }}) < 2 then '**'
        else {{ dbt.concat([
            "repeat('*', length(" ~ shoplake.digits_only(expr) ~ ") - 2)",
            dbt.right(shoplake.digits_only(expr), "2")
        ]) }}
    end
{%- endmacro %}
