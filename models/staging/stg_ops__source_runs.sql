-- The source_stats of every run, kept as history; types pinned like the lake's.
with

raw_source_runs as (

    select * from {{ source('ops', 'source_runs') }}

),

renamed as (

    select
        {{ cast_as('run_id', 'string') }} as run_id,
        {{ cast_as('source', 'string') }} as source,
        {{ cast_as('input_count', 'bigint') }} as input_count,
        {{ cast_as('accepted_count', 'bigint') }} as accepted_count,
        {{ cast_as('quarantined_count', 'bigint') }} as quarantined_count,
        {{ cast_as('duplicate_count', 'bigint') }} as duplicate_count,
        {{ cast_as('identifiers_dropped', 'bigint') }} as identifiers_dropped,
        {{ cast_as('source_rows', 'bigint') }} as source_rows,
        {{ cast_as('skipped_rows', 'bigint') }} as skipped_rows,
        {{ cast_as('max_occurred_at', 'timestamp') }} as max_occurred_at,
        {{ cast_as('max_received_at', 'timestamp') }} as max_received_at

    from raw_source_runs

)

select * from renamed
