-- The top of the funnel (dimension 'all', first stage) counts every customer
-- who reached any journey stage, cohort by cohort: nobody falls out of the
-- funnel and nobody is counted twice.
{%- set first_stage = journey_stages()[0] %}

with

customers_per_cohort as (

    select
        {{ month_start('first_seen_at') }} as cohort_month,
        count(*) as customers_count

    from {{ ref('customers') }}

    where highest_stage_rank is not null

    group by 1

),

funnel_top as (

    select
        cohort_month,
        customers_reached

    from {{ ref('fct_journey_funnel') }}

    where dimension = 'all' and stage = '{{ first_stage }}'

)

select
    coalesce(customers_per_cohort.cohort_month, funnel_top.cohort_month) as cohort_month,
    customers_per_cohort.customers_count,
    funnel_top.customers_reached

from customers_per_cohort

full outer join funnel_top
    on customers_per_cohort.cohort_month = funnel_top.cohort_month

where
    coalesce(customers_per_cohort.customers_count, 0)
    != coalesce(funnel_top.customers_reached, 0)
