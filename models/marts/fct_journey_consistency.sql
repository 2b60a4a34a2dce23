{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy=customer_incremental_strategy(),
        on_schema_change='sync_all_columns',
        cluster_by=bigquery_cluster_by(['customer_id']),
        post_hook="{{ delete_vanished_customers(ref('customers')) }}",
    )
}}

-- One row per customer: "one voice across the whole journey" (SPEC §7).
-- Every metric is a function of the customer's own timeline, so an
-- incremental run recomputes exactly the customers whose timeline may have
-- changed: any event received within the look-back window before the latest
-- received_at already built, a changed event count (late events, merges),
-- or every customer when a metric parameter (SLA, window, scale) changed.
{%- set lookback_days = metric_number('incremental_lookback_days') %}
{%- set params_fingerprint = metric_params_fingerprint() %}

with

customers as (

    select * from {{ ref('customers') }}

),

themes as (

    select * from {{ ref('int_customers_themes') }}

),

handoffs as (

    select * from {{ ref('int_customers_handoffs') }}

),

latencies as (

    select * from {{ ref('int_customers_latencies') }}

),

experience as (

    select * from {{ ref('int_customers_experience') }}

),

tickets as (

    select * from {{ ref('int_tickets') }}

),

timeline as (

    select * from {{ ref('stg_lake__timeline') }}

),

customer_activity as (

    select
        customer_id,
        count(*) as events_count,
        max(received_at) as last_received_at

    from timeline

    group by 1

),

customers_in_scope as (

    select customer_activity.*

    from
        customer_activity

    {%- if incremental_run() %}

left join {{ this }} as built
    on customer_activity.customer_id = built.customer_id

where
    built.customer_id is null
    or built.events_count != customer_activity.events_count
    or {{ days_between(
            'customer_activity.last_received_at',
            '(select max(last_received_at) from ' ~ this ~ ')',
        ) }} <= {{ lookback_days }}
    or exists (
        select 1 as stale_row
        from {{ this }} as stale
        where stale.metric_params_fingerprint != '{{ params_fingerprint }}'
    )
    {%- endif %}

),

ticket_summary as (

    select
        customer_id,
        count(*) as tickets_count,
        count(first_reply_at) as tickets_replied_count,
        {{ stable_float('avg(first_reply_hours)') }} as avg_first_reply_hours,
        {{ count_where('is_first_reply_breached') }}
            as first_reply_breaches_count,
        {{ count_where('is_first_contact_resolved') }}
            as tickets_resolved_first_contact_count,
        cast(
            {{ count_where('is_first_contact_resolved') }}
            as {{ type_double() }}
        ) / count(*) as first_contact_resolution_rate

    from tickets

    group by 1

),

final as (

    select
        customers.customer_id,
        {{ month_start('customers.first_seen_at') }} as cohort_month,
        customers.first_seen_at,
        customers.first_touch_channel,
        customers.segment,
        customers.account_id,

        ---------- one story
        coalesce(themes.themed_touchpoints_count, 0)
            as themed_touchpoints_count,
        themes.primary_theme,
        themes.theme_consistency,
        coalesce(themes.theme_changes_count, 0) as theme_changes_count,
        coalesce(themes.theme_changes_at_handoff_count, 0)
            as theme_changes_at_handoff_count,

        ---------- hand-offs
        handoffs.handoffs_count,
        handoffs.hard_restarts_count,
        cast(handoffs.hard_restarts_count as {{ type_double() }})
        / nullif(handoffs.handoffs_count, 0) as hard_restart_share,
        latencies.speed_to_lead_hours,
        latencies.is_speed_to_lead_breached,
        latencies.onboarding_start_days,
        latencies.is_onboarding_start_breached,

        ---------- service
        coalesce(ticket_summary.tickets_count, 0) as tickets_count,
        coalesce(ticket_summary.tickets_replied_count, 0)
            as tickets_replied_count,
        ticket_summary.avg_first_reply_hours,
        coalesce(ticket_summary.first_reply_breaches_count, 0)
            as first_reply_breaches_count,
        coalesce(ticket_summary.tickets_resolved_first_contact_count, 0)
            as tickets_resolved_first_contact_count,
        ticket_summary.first_contact_resolution_rate,

        ---------- experience
        experience.survey_answers_count,
        experience.experience_score,
        experience.experience_spread,
        experience.buyer_journey_score,
        experience.customer_journey_score,
        experience.buyer_customer_gap,
        experience.customer_at is not null as is_customer,
        experience.has_post_purchase_friction,

        ---------- incremental bookkeeping
        customers_in_scope.events_count,
        customers_in_scope.last_received_at,
        '{{ params_fingerprint }}' as metric_params_fingerprint

    from customers_in_scope

    inner join customers
        on customers_in_scope.customer_id = customers.customer_id

    left join themes
        on customers_in_scope.customer_id = themes.customer_id

    left join handoffs
        on customers_in_scope.customer_id = handoffs.customer_id

    left join latencies
        on customers_in_scope.customer_id = latencies.customer_id

    left join experience
        on customers_in_scope.customer_id = experience.customer_id

    left join ticket_summary
        on customers_in_scope.customer_id = ticket_summary.customer_id

)

select * from final
