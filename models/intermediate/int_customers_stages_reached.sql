-- Per customer and ordered stage: the first time the customer entered it.
-- Stages never entered (skipped, or not yet reached) have no row.
with

stage_entries as (

    select * from {{ ref('int_stage_entries') }}

),

final as (

    select
        customer_id,
        stage,
        stage_rank,
        min(entered_at) as reached_at,
        min(event_seq) as reached_event_seq

    from stage_entries

    where stage_rank is not null

    group by 1, 2, 3

)

select * from final
