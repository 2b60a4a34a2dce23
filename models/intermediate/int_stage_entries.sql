-- One row per timeline event that moved the customer into a new lifecycle
-- stage (stage_changed, computed upstream), ordered stages and outcomes alike.
with

timeline as (

    select * from {{ ref('stg_lake__timeline') }}

),

final as (

    select
        customer_id,
        event_id,
        event_seq,
        lifecycle_stage as stage,
        {{ stage_rank('lifecycle_stage') }} as stage_rank,
        occurred_at as entered_at

    from timeline

    where stage_changed

)

select * from final
