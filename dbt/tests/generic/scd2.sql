{#- SCD Type 2 checks on a model with one row per version of an entity. -#}

{#- Versions of one key do not overlap and each interval is non-empty
    (valid_from < valid_to; an open interval has valid_to null). -#}
{% test scd2_intervals_do_not_overlap(model, column_name, valid_from, valid_to, version_key) %}
with versions as (
    select
        {{ column_name }} as entity_key,
        {{ version_key }} as version_key,
        {{ valid_from }} as valid_from,
        coalesce({{ valid_to }}, cast('9999-12-31 00:00:00' as {{ dbt.type_timestamp() }})) as valid_to
    from {{ model }}
),

empty_intervals as (
    select entity_key, version_key, 'empty interval' as problem
    from versions
    where valid_from >= valid_to
),

overlapping as (
    select a.entity_key, a.version_key, 'overlaps ' || b.version_key as problem
    from versions as a
    inner join versions as b
        on a.entity_key = b.entity_key
        and a.version_key <> b.version_key
        and a.valid_from < b.valid_to
        and b.valid_from < a.valid_to
)

select * from empty_intervals
union all
select * from overlapping
{% endtest %}

{#- Exactly one current row per key. -#}
{% test exactly_one_current_row(model, column_name, is_current) %}
select {{ column_name }}, sum(case when {{ is_current }} then 1 else 0 end) as current_rows
from {{ model }}
group by {{ column_name }}
having sum(case when {{ is_current }} then 1 else 0 end) <> 1
{% endtest %}
