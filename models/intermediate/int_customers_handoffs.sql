-- Per customer: department hand-offs (consecutive events of different
-- streams) and hard restarts among them: the receiving department's event
-- carries none of the identifiers the previous department used on its run of
-- events before the hand-off, so the customer had to start over.
with

timeline as (

    select * from {{ ref('stg_lake__timeline') }}

),

event_identifiers as (

    select * from {{ ref('int_event_identifiers') }}

),

events as (

    select
        customer_id,
        event_id,
        event_seq,
        stream,
        lag(stream) over (
            partition by customer_id order by event_seq
        ) as previous_stream

    from timeline

),

marked as (

    select
        customer_id,
        event_id,
        event_seq,
        coalesce(
            previous_stream is not null and stream != previous_stream, false
        ) as is_handoff

    from events

),

segmented as (

    -- A department run: consecutive events of one stream, numbered 0, 1, ….
    select
        customer_id,
        event_id,
        is_handoff,
        sum(case when is_handoff then 1 else 0 end) over (
            partition by customer_id
            order by event_seq
            rows between unbounded preceding and current row
        ) as run_number

    from marked

),

run_identifiers as (

    select distinct
        segmented.customer_id,
        segmented.run_number,
        event_identifiers.identifier_type,
        event_identifiers.identifier_value

    from segmented

    inner join event_identifiers
        on segmented.event_id = event_identifiers.event_id

),

handoff_identifiers as (

    -- The identifiers of each hand-off event (a few percent of all events),
    -- before they are compared with the previous run's.
    select
        handoffs.customer_id,
        handoffs.run_number,
        handoffs.event_id,
        event_identifiers.identifier_type,
        event_identifiers.identifier_value

    from segmented as handoffs

    inner join event_identifiers
        on handoffs.event_id = event_identifiers.event_id

    where handoffs.is_handoff

),

recognised_handoffs as (

    -- Hand-off events sharing at least one identifier with the previous run
    -- (a semi join: only hand-off events are matched against run identifiers).
    select distinct handoff_identifiers.event_id

    from handoff_identifiers

    where exists (
        select 1 as previous_run_identifier

        from run_identifiers

        where
            handoff_identifiers.customer_id = run_identifiers.customer_id
            and handoff_identifiers.run_number - 1 = run_identifiers.run_number
            and handoff_identifiers.identifier_type
            = run_identifiers.identifier_type
            and handoff_identifiers.identifier_value
            = run_identifiers.identifier_value
    )

),

final as (

    select
        segmented.customer_id,
        {{ count_where('segmented.is_handoff') }} as handoffs_count,
        {{ count_where(
            'segmented.is_handoff and recognised_handoffs.event_id is null'
        ) }} as hard_restarts_count

    from segmented

    left join recognised_handoffs
        on segmented.event_id = recognised_handoffs.event_id

    group by 1

)

select * from final
