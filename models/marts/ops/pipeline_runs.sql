-- One row per pipeline run: its latest attempt.
with

pipeline_runs as (

    select * from {{ ref('stg_ops__pipeline_runs') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by run_id
            order by attempt desc, finished_at desc
        ) as attempt_rank

    from pipeline_runs

),

final as (

    select
        run_id,
        started_at,
        finished_at,
        status,
        window_start,
        window_end,
        input_count,
        accepted_count,
        quarantined_count,
        duplicate_count,
        customers_count,
        attempt,
        lake_attempt,
        message,
        coalesce(
            input_count = accepted_count + quarantined_count + duplicate_count,
            false
        ) as is_reconciled

    from ranked

    where attempt_rank = 1

)

select * from final
