{#- The load watermark of an incremental model: the latest loaded_at it has processed
    (1900-01-01 when its table is empty, so that the first increment reads everything).
    Models downstream of fct_orders store max(loaded_at) of the lines they aggregate, so
    `loaded_at > watermark` selects the lines merged into fct_orders since their last run
    (new lines, late-arriving lines and status updates all carry the load's timestamp). -#}
{% macro load_watermark(relation=this, column='loaded_at') -%}
    coalesce(
        (select max({{ column }}) from {{ relation }}),
        cast('1900-01-01 00:00:00' as {{ dbt.type_timestamp() }})
    )
{%- endmacro %}

{#- A line fct_orders re-evaluates on every run (its customer, product or FX rate was
    unknown): groups holding one are recomputed on every run too, since the line may have
    changed without a new load timestamp. -#}
{% macro needs_recheck(prefix='') -%}
    case when {{ prefix }}is_orphan_customer or not {{ prefix }}has_known_product or not {{ prefix }}has_fx_rate
        then 1 else 0 end
{%- endmacro %}
