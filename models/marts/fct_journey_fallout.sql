-- Where customers stop (SPEC §7 fallout): cohort (month of first touch) ×
-- journey stage, counting the customers whose furthest stage it is and, of
-- those, who stopped there — an outcome status (lost, churned) or no event
-- for var journey_metrics.fallout_inactive_days before the latest event in
-- the data — and who are still in progress.
{%- set inactive_days = metric_number('fallout_inactive_days') %}

with

customers as (

    select * from {{ ref('customers') }}

),

stages as (

    {{ journey_stages_rows() }}

),

reached_customers as (

    select
        customer_id,
        {{ month_start('first_seen_at') }} as cohort_month,
        highest_stage_rank,
        current_stage,
        last_seen_at,
        max(last_seen_at) over () as data_as_of

    from customers

    where highest_stage_rank is not null

),

classified as (

    select
        cohort_month,
        highest_stage_rank,
        case
            {%- for outcome in outcome_statuses() %}
            when current_stage = '{{ outcome }}' then '{{ outcome }}'
            {%- endfor %}
            when
                {{ days_between('last_seen_at', 'data_as_of') }}
                >= {{ inactive_days }}
                then 'inactive'
        end as stop_reason

    from reached_customers

),

cohorts as (

    select distinct cohort_month from classified

),

furthest as (

    select
        cohorts.cohort_month,
        stages.stage,
        stages.stage_rank,
        count(classified.highest_stage_rank) as customers_furthest,
        count(classified.stop_reason) as customers_stopped,
        {%- for outcome in outcome_statuses() %}
        {{ count_where("classified.stop_reason = '" ~ outcome ~ "'") }}
            as {{ outcome }}_count,
        {%- endfor %}
        {{ count_where("classified.stop_reason = 'inactive'") }}
            as inactive_count

    from cohorts

    cross join stages

    left join classified
        on
            cohorts.cohort_month = classified.cohort_month
            and stages.stage_rank = classified.highest_stage_rank

    group by 1, 2, 3

),

final as (

    select
        cohort_month,
        stage,
        stage_rank,
        cast(sum(customers_furthest) over (
            partition by cohort_month
            order by stage_rank desc
            rows between unbounded preceding and current row
        ) as {{ type_bigint() }}) as customers_reached,
        customers_furthest,
        customers_stopped,
        customers_furthest - customers_stopped as customers_in_progress,
        {%- for outcome in outcome_statuses() %}
        {{ outcome }}_count,
        {%- endfor %}
        inactive_count,
        cast(customers_stopped as {{ type_double() }})
        / nullif(
            sum(customers_furthest) over (
                partition by cohort_month
                order by stage_rank desc
                rows between unbounded preceding and current row
            ),
            0
        ) as fallout_rate,
        cast(customers_stopped as {{ type_double() }})
        / nullif(sum(customers_stopped) over (partition by cohort_month), 0)
            as share_of_stopped

    from furthest

)

select * from final
