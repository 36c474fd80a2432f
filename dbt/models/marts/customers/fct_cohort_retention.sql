-- Monthly acquisition cohorts (month of the first non-cancelled order) and how many of
-- each cohort ordered again N months later.
-- The customer-months are kept incrementally in int_orders__customer_months (only the
-- customers an increment touches are recomputed); cohorts are rebuilt from that table (one
-- row per customer and month), not from the order lines.
with orders as (
    select customer_id, activity_month
    from {{ ref('int_orders__customer_months') }}
    where is_active = 1
),

cohorts as (
    select customer_id, min(activity_month) as cohort_month
    from orders
    group by customer_id
),

cohort_sizes as (
    select cohort_month, count(*) as cohort_size
    from cohorts
    group by cohort_month
),

activity as (
    select
        cohorts.cohort_month,
        {{ dbt.datediff('cohorts.cohort_month', 'orders.activity_month', 'month') }} as months_since_first_order,
        count(distinct orders.customer_id) as active_customers
    from orders
    inner join cohorts on cohorts.customer_id = orders.customer_id
    group by 1, 2
)

select
    cast(activity.cohort_month as date) as cohort_month,
    cast(activity.months_since_first_order as integer) as months_since_first_order,
    cast(cohort_sizes.cohort_size as bigint) as cohort_size,
    cast(activity.active_customers as bigint) as active_customers,
    cast(cast(activity.active_customers as double) / cohort_sizes.cohort_size as double) as retention_rate
from activity
inner join cohort_sizes on cohort_sizes.cohort_month = activity.cohort_month
