{#- PII helpers. Dialect-specific parts go through adapter.dispatch so the same models run
    on Snowflake (prod) and DuckDB (local). -#}

{#- Hex HMAC-SHA256 of an expression with the deployment's PII key (null stays null).
    Neither warehouse has an HMAC function, so it is built from SHA-256 as RFC 2104 defines
    it: sha256((K ^ opad) || sha256((K ^ ipad) || m)). The two padded keys come from
    `shoplake transform` (src/shoplake/pii.py) as hex; a bare sha256(m) would let anyone
    re-identify a customer by hashing candidate e-mail addresses. -#}
{% macro hash_pii(expr) -%}
    {%- set inner = env_var('SHOPLAKE_PII_HMAC_INNER', '') -%}
    {%- set outer = env_var('SHOPLAKE_PII_HMAC_OUTER', '') -%}
    {%- if execute and (inner | length != 128 or outer | length != 128) -%}
        {{ exceptions.raise_compiler_error(
            "SHOPLAKE_PII_HMAC_INNER/OUTER are not set: run dbt through `shoplake transform`") }}
    {%- endif -%}
    {%- if inner.strip('0123456789abcdef') or outer.strip('0123456789abcdef') -%}
        {{ exceptions.raise_compiler_error("SHOPLAKE_PII_HMAC_INNER/OUTER must be lower-case hex") }}
    {%- endif -%}
    {{ return(adapter.dispatch('hash_pii', 'shoplake')(expr, inner, outer)) }}
{%- endmacro %}

{% macro default__hash_pii(expr, inner, outer) -%}
    {{ exceptions.raise_compiler_error("hash_pii: no implementation for " ~ target.type) }}
{%- endmacro %}

{% macro snowflake__hash_pii(expr, inner, outer) -%}
    sha2(
        to_binary('{{ outer }}', 'HEX')
        || sha2_binary(to_binary('{{ inner }}', 'HEX') || to_binary(cast({{ expr }} as varchar), 'UTF-8'), 256),
        256)
{%- endmacro %}

{% macro duckdb__hash_pii(expr, inner, outer) -%}
    sha256(
        unhex('{{ outer }}')
        || unhex(sha256(unhex('{{ inner }}') || encode(cast({{ expr }} as varchar)))))
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
