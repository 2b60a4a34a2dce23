-- Per customer: the hand-off latencies with an SLA (var sla): speed to lead
-- (the lead hand-off stage, MQL by default → the first sales touch at or after
-- it) and won → onboarding (the customer stage → the first onboarding event at
-- or after it), each with its breach flag (null when not measured).
{%- set sla_lead_hours = journey_number('sla', 'speed_to_lead_hours') %}
{%- set sla_onboarding_days = journey_number('sla', 'onboarding_start_days') %}

with

timeline as (

    select * from {{ ref('stg_lake__timeline') }}

),

stages_reached as (

    select * from {{ ref('int_customers_stages_reached') }}

),

handoff_starts as (

    select
        customer_id,
        min(
            case
                when
                    stage
                    = {{ metric_name('lead_handoff_stage') }}
                    then reached_at
            end
        ) as lead_handoff_at,
        min(
            case
                when
                    stage
                    = {{ metric_name('customer_stage') }}
                    then reached_at
            end
        ) as customer_at

    from stages_reached

    group by 1

),

handoff_ends as (

    select
        handoff_starts.customer_id,
        handoff_starts.lead_handoff_at,
        handoff_starts.customer_at,
        min(
            case
                when
                    timeline.event_type in (
                        {{ metric_names('sales_touch_event_types') }}
                    )
                    and timeline.occurred_at >= handoff_starts.lead_handoff_at
                    then timeline.occurred_at
            end
        ) as first_sales_touch_at,
        min(
            case
                when
                    timeline.event_type in (
                        {{ metric_names('onboarding_event_types') }}
                    )
                    and timeline.occurred_at >= handoff_starts.customer_at
                    then timeline.occurred_at
            end
        ) as onboarding_started_at

    from handoff_starts

    inner join timeline
        on handoff_starts.customer_id = timeline.customer_id

    group by 1, 2, 3

),

measured as (

    select
        customer_id,
        lead_handoff_at,
        first_sales_touch_at,
        customer_at,
        onboarding_started_at,
        {{ days_between('lead_handoff_at', 'first_sales_touch_at') }} * 24
            as speed_to_lead_hours,
        {{ days_between('customer_at', 'onboarding_started_at') }}
            as onboarding_start_days

    from handoff_ends

),

final as (

    select
        customer_id,
        lead_handoff_at,
        first_sales_touch_at,
        speed_to_lead_hours,
        speed_to_lead_hours > {{ sla_lead_hours }}
            as is_speed_to_lead_breached,
        customer_at,
        onboarding_started_at,
        onboarding_start_days,
        onboarding_start_days > {{ sla_onboarding_days }}
            as is_onboarding_start_breached

    from measured

)

select * from final
