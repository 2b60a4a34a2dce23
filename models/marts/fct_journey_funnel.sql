-- Cohort (month of first touch) × dimension × ordered stage. Reaching a stage
-- counts as passing every stage before it (SPEC §5): the effective time a
-- customer reached stage s is the earliest reach time of any stage t >= s, so
-- a skipped stage takes the time of the later stage that was reached.
with

customers as (

    select * from {{ ref('customers') }}

),

customer_dimensions as (

    select * from {{ ref('int_customer_dimensions') }}

),

stages as (

    {{ journey_stages_rows() }}

),

customer_stages as (

    select
        customers.customer_id,
        stages.stage,
        stages.stage_rank,
        case stages.stage
            {%- for stage in journey_stages() %}
            when '{{ stage }}' then customers.{{ stage }}_at
            {%- endfor %}
        end as reached_at

    from customers

    cross join stages

),

effective_reach as (

    select
        customer_id,
        stage,
        stage_rank,
        min(reached_at) over (
            partition by customer_id
            order by stage_rank desc
            rows between unbounded preceding and current row
        ) as effective_reached_at

    from customer_stages

),

stage_steps as (

    select
        customer_id,
        stage,
        stage_rank,
        effective_reached_at,
        lag(effective_reached_at) over (
            partition by customer_id order by stage_rank
        ) as previous_reached_at

    from effective_reach

),

stage_durations as (

    select
        customer_id,
        stage,
        stage_rank,
        effective_reached_at,
        {{ days_between('previous_reached_at', 'effective_reached_at') }}
            as days_from_previous

    from stage_steps

),

funnel_counts as (

    select
        customer_dimensions.cohort_month,
        customer_dimensions.dimension,
        customer_dimensions.dimension_value,
        stage_durations.stage,
        stage_durations.stage_rank,
        count(stage_durations.effective_reached_at) as customers_reached,
        {{ median('stage_durations.days_from_previous') }}
            as median_days_from_previous,
        {{ percentile('stage_durations.days_from_previous', 0.9) }}
            as p90_days_from_previous

    from customer_dimensions

    inner join stage_durations
        on customer_dimensions.customer_id = stage_durations.customer_id

    group by 1, 2, 3, 4, 5

),

reference_counts as (

    select
        *,
        lag(customers_reached) over (
            partition by cohort_month, dimension, dimension_value
            order by stage_rank
        ) as previous_stage_reached,
        first_value(customers_reached) over (
            partition by cohort_month, dimension, dimension_value
            order by stage_rank
        ) as first_stage_reached

    from funnel_counts

),

final as (

    select
        cohort_month,
        dimension,
        dimension_value,
        stage,
        stage_rank,
        customers_reached,
        cast(customers_reached as {{ type_double() }})
        / nullif(previous_stage_reached, 0) as conversion_from_previous,
        cast(customers_reached as {{ type_double() }})
        / nullif(first_stage_reached, 0) as conversion_from_top,
        median_days_from_previous,
        p90_days_from_previous,
        previous_stage_reached as customers_reached_previous,
        first_stage_reached as customers_reached_top

    from reference_counts

)

select * from final
