with

source_runs as (

    select * from {{ ref('stg_ops__source_runs') }}

),

final as (

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

    from source_runs

)

select * from final
