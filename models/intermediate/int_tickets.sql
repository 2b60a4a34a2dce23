-- One row per support ticket: when it was opened, first answered and first
-- resolved, whether it was reopened, and whether the customer opened another
-- ticket soon after. A ticket's events share the properties key
-- journey_metrics.ticket_id_property; a ticket_opened without it is a ticket
-- of its own that no reply or resolution can be tied to.
{%- set ticket_property = metric_param('ticket_id_property') %}
{%- set fcr_days = metric_number('first_contact_resolution_days') %}
{%- set first_reply_hours = journey_number('sla', 'first_reply_hours') %}

with

timeline as (

    select * from {{ ref('stg_lake__timeline') }}

),

ticket_events as (

    select
        customer_id,
        event_id,
        event_seq,
        event_type,
        occurred_at,
        coalesce(
            {{ json_string('properties', ticket_property) }}, event_id
        ) as ticket_key

    from timeline

    where event_type in (
        {{ metric_name('ticket_opened_event_type') }},
        {{ metric_name('ticket_replied_event_type') }},
        {{ metric_name('ticket_resolved_event_type') }},
        {{ metric_name('ticket_reopened_event_type') }}
    )

),

opened as (

    select
        customer_id,
        ticket_key,
        min(occurred_at) as opened_at,
        min(event_seq) as opened_event_seq

    from ticket_events

    where
        event_type
        = {{ metric_name('ticket_opened_event_type') }}

    group by 1, 2

),

follow_ups as (

    select
        opened.customer_id,
        opened.ticket_key,
        min(
            case
                when
                    ticket_events.event_type
                    = {{ metric_name('ticket_replied_event_type') }}
                    then ticket_events.occurred_at
            end
        ) as first_reply_at,
        min(
            case
                when
                    ticket_events.event_type
                    = {{ metric_name('ticket_resolved_event_type') }}
                    then ticket_events.occurred_at
            end
        ) as resolved_at,
        count(
            case
                when
                    ticket_events.event_type
                    = {{ metric_name('ticket_reopened_event_type') }}
                    then ticket_events.event_id
            end
        ) as reopens_count

    from opened

    left join ticket_events
        on
            opened.customer_id = ticket_events.customer_id
            and opened.ticket_key = ticket_events.ticket_key
            and opened.opened_event_seq < ticket_events.event_seq

    group by 1, 2

),

sequenced as (

    select
        opened.customer_id,
        opened.ticket_key,
        opened.opened_at,
        follow_ups.first_reply_at,
        follow_ups.resolved_at,
        follow_ups.reopens_count,
        lead(opened.opened_at) over (
            partition by opened.customer_id
            order by opened.opened_event_seq
        ) as next_ticket_opened_at

    from opened

    inner join follow_ups
        on
            opened.customer_id = follow_ups.customer_id
            and opened.ticket_key = follow_ups.ticket_key

),

measured as (

    select
        customer_id,
        ticket_key,
        opened_at,
        first_reply_at,
        resolved_at,
        reopens_count,
        next_ticket_opened_at,
        {{ days_between('opened_at', 'first_reply_at') }}
        * 24 as first_reply_hours,
        {{ days_between('resolved_at', 'next_ticket_opened_at') }}
            as days_to_next_ticket

    from sequenced

),

final as (

    select
        customer_id,
        ticket_key,
        opened_at,
        first_reply_at,
        resolved_at,
        reopens_count,
        next_ticket_opened_at,
        first_reply_hours,
        first_reply_hours > {{ first_reply_hours }} as is_first_reply_breached,
        coalesce(
            resolved_at is not null
            and reopens_count = 0
            and (
                next_ticket_opened_at is null
                or days_to_next_ticket > {{ fcr_days }}
            ),
            false
        ) as is_first_contact_resolved

    from measured

)

select * from final
