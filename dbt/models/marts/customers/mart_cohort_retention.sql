-- Monthly acquisition cohorts (month of the first non-cancelled order) and how many of
-- each cohort ordered again N months later.
with orders as (
    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as activity_month
    from {{ ref('fct_orders') }}
    where not is_cancelled
    group by 1, 2
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
