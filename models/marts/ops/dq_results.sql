-- One row per check and run: the latest result when the gates ran twice.
with

dq_results as (

    select * from {{ ref('stg_ops__dq_results') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by run_id, check_name, target
            order by checked_at desc
        ) as result_rank

    from dq_results

),

final as (

    select
        run_id,
        check_name,
        target,
        severity,
        status,
        observed_value,
        threshold,
        details,
        samples,
        checked_at

    from ranked

    where result_rank = 1

)

select * from final
