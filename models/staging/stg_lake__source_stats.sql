-- Exactly the columns of SOURCE_STATS_SCHEMA: the quality gates read this view.
with

raw_source_stats as (

    select * from {{ source('lake', 'source_stats') }}

),

renamed as (

    select
        run_id,
        source,
        input_count,
        accepted_count,
        quarantined_count,
        duplicate_count,
        identifiers_dropped,
        source_rows,
        skipped_rows,
        max_occurred_at,
        max_received_at

    from raw_source_stats

)

select * from renamed
