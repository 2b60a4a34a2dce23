-- Consistency by cohort (month of first touch) × dimension (all, first-touch
-- channel, segment, account, first-touch campaign): rates are pooled over the
-- customers of the slice (e.g. hard restarts / hand-offs), not averages of
-- per-customer rates, except where the metric is a per-customer score.
with

consistency as (

    select * from {{ ref('fct_journey_consistency') }}

),

customer_dimensions as (

    select * from {{ ref('int_customer_dimensions') }}

),

sliced as (

    select
        consistency.*,
        customer_dimensions.dimension,
        customer_dimensions.dimension_value

    from consistency

    inner join customer_dimensions
        on consistency.customer_id = customer_dimensions.customer_id

),

final as (

    select
        cohort_month,
        dimension,
        dimension_value,
        count(*) as customers_count,
        {{ stable_float('avg(theme_consistency)') }} as avg_theme_consistency,
        {{ sum_bigint('theme_changes_at_handoff_count') }}
            as theme_changes_at_handoff_count,
        {{ sum_bigint('handoffs_count') }} as handoffs_count,
        {{ sum_bigint('hard_restarts_count') }} as hard_restarts_count,
        cast(sum(hard_restarts_count) as {{ type_double() }})
        / nullif(sum(handoffs_count), 0) as hard_restart_share,
        {{ median('speed_to_lead_hours') }} as median_speed_to_lead_hours,
        cast(
            {{ count_where('is_speed_to_lead_breached') }}
            as {{ type_double() }}
        )
        / nullif(count(speed_to_lead_hours), 0) as speed_to_lead_breach_rate,
        {{ median('onboarding_start_days') }} as median_onboarding_start_days,
        cast(
            {{ count_where('is_onboarding_start_breached') }}
            as {{ type_double() }}
        )
        / nullif(count(onboarding_start_days), 0)
            as onboarding_start_breach_rate,
        {{ sum_bigint('tickets_count') }} as tickets_count,
        cast(sum(first_reply_breaches_count) as {{ type_double() }})
        / nullif(sum(tickets_replied_count), 0) as first_reply_breach_rate,
        cast(sum(tickets_resolved_first_contact_count) as {{ type_double() }})
        / nullif(sum(tickets_count), 0) as first_contact_resolution_rate,
        {{ stable_float('avg(experience_spread)') }} as avg_experience_spread,
        {{ stable_float('avg(buyer_customer_gap)') }} as avg_buyer_customer_gap,
        {{ count_where('is_customer') }} as new_customers_count,
        cast(
            {{ count_where('has_post_purchase_friction') }}
            as {{ type_double() }}
        )
        / nullif({{ count_where('is_customer') }}, 0)
            as post_purchase_friction_rate

    from sliced

    group by 1, 2, 3

)

select * from final
