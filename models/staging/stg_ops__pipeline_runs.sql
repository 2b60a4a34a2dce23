-- History written by many runs (and code versions): types are pinned here.
with

raw_pipeline_runs as (

    select * from {{ source('ops', 'pipeline_runs') }}

),

renamed as (

    select
        ---------- ids
        {{ cast_as('run_id', 'string') }} as run_id,
        {{ cast_as('attempt', 'bigint') }} as attempt,
        {{ cast_as('lake_attempt', 'string') }} as lake_attempt,

        ---------- outcome
        {{ cast_as('status', 'string') }} as status,
        {{ cast_as('message', 'string') }} as message,

        ---------- counts
        {{ cast_as('input_count', 'bigint') }} as input_count,
        {{ cast_as('accepted_count', 'bigint') }} as accepted_count,
        {{ cast_as('quarantined_count', 'bigint') }} as quarantined_count,
        {{ cast_as('duplicate_count', 'bigint') }} as duplicate_count,
        {{ cast_as('customers_count', 'bigint') }} as customers_count,

        ---------- timestamps (UTC)
        {{ cast_as('started_at', 'timestamp') }} as started_at,
        {{ cast_as('finished_at', 'timestamp') }} as finished_at,
        {{ cast_as('window_start', 'timestamp') }} as window_start,
        {{ cast_as('window_end', 'timestamp') }} as window_end

    from raw_pipeline_runs

)

select * from renamed
